/**
 * @module The full text of one API key, fetched from POST /api-keys/:id/reveal only when the person
 * asks for it (show, copy, or a playground call) and kept in component state, never in the query cache.
 */
import { useCallback, useRef, useState } from 'react';
import { api } from '../api';

export function useKeySecret(keyId: string, known?: string) {
  // Remember whose secret it is, so switching keys never hands out the previous one.
  const [state, setState] = useState<{ id: string; key?: string; error: unknown }>({ id: keyId, key: known, error: null });
  const [isFetching, setFetching] = useState(false);
  const inFlight = useRef<{ id: string; promise: Promise<string | undefined> } | null>(null);
  const current = state.id === keyId ? state : { id: keyId, key: undefined, error: null };

  /** The key, or undefined when the server refused (the reason is in `error`). */
  const fetchSecret = useCallback(async (): Promise<string | undefined> => {
    if (current.key) return current.key;
    if (inFlight.current?.id === keyId) return inFlight.current.promise;
    setFetching(true);
    setState({ id: keyId, error: null });
    const promise = api<{ key: string }>('POST', `/api-keys/${encodeURIComponent(keyId)}/reveal`)
      .then(({ key }) => {
        setState((now) => (now.id === keyId ? { id: keyId, key, error: null } : now));
        return key;
      })
      .catch((failure: unknown) => {
        setState((now) => (now.id === keyId ? { id: keyId, error: failure } : now));
        return undefined;
      })
      .finally(() => {
        if (inFlight.current?.id === keyId) inFlight.current = null;
        setFetching(false);
      });
    inFlight.current = { id: keyId, promise };
    return promise;
  }, [keyId, current.key]);

  return { secret: current.key, error: current.error, isFetching, fetchSecret };
}
