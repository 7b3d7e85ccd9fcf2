/**
 * @module The stack's own route table: which client paths it relays to a
 * model's server (and under which upstream path), and every route it serves,
 * for `GET /v1/inspect/routes`. Llama Stack 0.2.x served the OpenAI-style
 * inference under `/v1/openai/v1/…` as well; 0.7 serves it under `/v1/…`
 * only; the stack answers both.
 */

/** An OpenAI-style inference call relayed with its body's `model` renamed. */
export interface RelayRoute {
  /** The path under the model's base URL (which ends in /v1). */
  upstream: string;
  /** Whether a streamed answer is an SSE stream of JSON events. */
  kind: 'chat' | 'completions' | 'embeddings' | 'responses';
}

const RELAYS: Record<string, RelayRoute> = {
  '/chat/completions': { upstream: '/chat/completions', kind: 'chat' },
  '/completions': { upstream: '/completions', kind: 'completions' },
  '/embeddings': { upstream: '/embeddings', kind: 'embeddings' },
  '/responses': { upstream: '/responses', kind: 'responses' },
};

/** The two prefixes of the OpenAI-compatible surface: 0.7's and 0.2's. */
export const OPENAI_PREFIXES = ['/v1', '/v1/openai/v1'] as const;

/** `POST <path>` relayed to the model's server, or undefined. */
export function relayRoute(path: string): RelayRoute | undefined {
  for (const p of OPENAI_PREFIXES) {
    if (path.startsWith(p + '/')) {
      const r = RELAYS[path.slice(p.length)];
      if (r) return r;
    }
  }
  return undefined;
}

/** `/v1/responses/{id}[/input_items|/cancel]` under either prefix: the id and what is asked of it. */
export function storedResponseRoute(path: string): { id: string; rest: '' | '/input_items' | '/cancel' } | undefined {
  for (const p of OPENAI_PREFIXES) {
    const head = `${p}/responses/`;
    if (!path.startsWith(head)) continue;
    const tail = path.slice(head.length);
    const m = /^([^/]+)(\/input_items|\/cancel)?$/.exec(tail);
    if (m) return { id: decodeURIComponent(m[1]!), rest: (m[2] ?? '') as '' | '/input_items' | '/cancel' };
  }
  return undefined;
}

/** The Llama Stack 0.2 inference API's chat route (removed from Llama Stack in 0.7; kept here for older clients). */
export const LEGACY_CHAT_PATH = '/v1/inference/chat-completion';

export interface RouteInfo { route: string; method: string; provider_types: string[] }

/** Every route the stack serves, in Llama Stack's `RouteInfo` shape; inference routes name the providers' type. */
export function servedRoutes(inferenceProviderTypes: string[]): RouteInfo[] {
  const inf = (route: string, method = 'POST'): RouteInfo => ({ route, method, provider_types: inferenceProviderTypes });
  const internal = (route: string, method = 'GET'): RouteInfo => ({ route, method, provider_types: [] });
  const out: RouteInfo[] = [];
  for (const p of OPENAI_PREFIXES) {
    for (const r of Object.keys(RELAYS)) out.push(inf(p + r));
    out.push(inf(`${p}/responses/{response_id}`, 'GET'), inf(`${p}/responses/{response_id}`, 'DELETE'),
      inf(`${p}/responses/{response_id}/input_items`, 'GET'), inf(`${p}/responses/{response_id}/cancel`));
    out.push(internal(`${p}/models`));
  }
  out.push(inf(LEGACY_CHAT_PATH), internal('/v1/models/{model_id}'), internal('/v1/providers'), internal('/v1/providers/{provider_id}'),
    internal('/v1/inspect/routes'), internal('/v1/health'), internal('/v1/version'));
  return out;
}
