/**
 * @module Why a key could not be shown. A stale sign-in (reauth_required) gets a "Sign in again"
 * link that comes back to the same key afterwards.
 */
import { Alert, AlertActionLink } from '@patternfly/react-core';
import { isApiError, loginUrl } from '../api';
import { errorMessage } from '../hooks/toast';
import { useMe } from '../hooks/useMe';

export function RevealError({ error, returnTo }: { error: unknown; returnTo: string }) {
  const me = useMe();
  if (!error) return null;
  if (isApiError(error, 'reauth_required')) {
    // Back through the provider this session came from: a person who signed in with OpenShift may have no password.
    const method = me.data?.authMethod;
    const href =
      method === 'oidc' || method === 'openshift' ? `/api/auth/${method}/login?returnTo=${encodeURIComponent(returnTo)}` : loginUrl(returnTo);
    return (
      <Alert
        variant="warning"
        isInline
        title="Sign in again to see this key"
        actionLinks={
          <AlertActionLink component="a" href={href}>
            Sign in again
          </AlertActionLink>
        }
      >
        For your safety, showing a key needs a recent sign-in. {errorMessage(error)}
      </Alert>
    );
  }
  return (
    <Alert variant="danger" isInline title="Could not show the key">
      {errorMessage(error)}
    </Alert>
  );
}
