/**
 * @module The endpoint table: every API the gateway serves, one module each.
 * Adding an endpoint is one file and one line here.
 */
import { transcriptions, translations } from './audio.js';
import { chat } from './chat.js';
import { completions } from './completions.js';
import { embeddings } from './embeddings.js';
import { countTokens, messages } from './messages.js';
import { rerank, score } from './rerank.js';
import { responses } from './responses.js';
import { detokenize, tokenize } from './tokenize.js';
import type { Endpoint } from './types.js';

export const ENDPOINTS: readonly Endpoint[] = [
  chat, completions, embeddings, responses, messages, countTokens, rerank, score, transcriptions, translations, tokenize, detokenize,
];

/** Client path → endpoint. */
export const BY_PATH: ReadonlyMap<string, Endpoint> = new Map(ENDPOINTS.flatMap((e) => e.paths.map((p) => [p, e] as const)));

export type { Bounds, ClientRequest, Endpoint, EndpointName } from './types.js';

/** Paths outside /v1 that vLLM serves and the gateway does too (/tokenize, /rerank, /v2/rerank, /score). */
const ROOT_PATHS: ReadonlySet<string> = new Set(ENDPOINTS.flatMap((e) => e.paths).filter((p) => !p.startsWith('/v1/')));

/** Whether a request URL is the gateway's (all of /v1, and the root paths above) rather than the portal's. */
export function isGatewayUrl(url: string): boolean {
  if (url.startsWith('/v1/') || url === '/v1') return true;
  const q = url.indexOf('?');
  return ROOT_PATHS.has(q < 0 ? url : url.slice(0, q));
}
