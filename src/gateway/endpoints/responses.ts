/**
 * @module POST /v1/responses: OpenAI's Responses API as vLLM serves it. Its
 * stream is named events (`event: response.output_text.delta` …) ending with
 * `response.completed` (or `.incomplete`/`.failed`), whose `response` carries
 * `usage.input_tokens`/`output_tokens` and `input_tokens_details.cached_tokens`.
 * Stored responses are reached again through ./response-routes.ts.
 */
import { count, withCached, type Usage } from '../../ledger/meter.js';
import { bad, jsonUpstream, len, maxOf, obj } from './common.js';
import type { Endpoint } from './types.js';

const TERMINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/** `usage` of a Responses object: input/output tokens and cached input. */
export function responsesUsage(u: unknown): Usage | null {
  const o = obj(u);
  if (!o) return null;
  const input = count(o.input_tokens);
  const output = count(o.output_tokens);
  if (input === null && output === null) return null;
  return withCached({ promptTokens: input ?? 0, completionTokens: output ?? 0 }, count(obj(o.input_tokens_details)?.cached_tokens));
}

/** Generated text in a response's output items: message text, reasoning, refusals, function-call arguments. */
function itemsOutput(items: unknown): number {
  if (!Array.isArray(items)) return 0;
  let n = 0;
  for (const it of items) {
    const i = obj(it);
    if (!i) continue;
    n += len(i.arguments) + len(i.name) + len(i.text);
    for (const list of [i.content, i.summary]) {
      if (!Array.isArray(list)) continue;
      for (const p of list) { const part = obj(p); if (part) n += len(part.text) + len(part.refusal); }
    }
  }
  return n;
}

export const responses: Endpoint = {
  name: 'responses',
  paths: ['/v1/responses'],
  upstreamPath: '/responses',
  kinds: ['chat'],
  errors: 'openai',
  body: 'json',
  generates: true,
  streams: true,
  maxTokensField: 'max_output_tokens',
  parse(b) {
    const input = b.input;
    if (!(typeof input === 'string' || Array.isArray(input))) throw bad("'input' must be a string or an array of input items", 'input');
    if (b.instructions !== undefined && b.instructions !== null && typeof b.instructions !== 'string') throw bad("'instructions' must be a string", 'instructions');
    // A background response is generated after the answer: its usage would never pass through the gateway.
    if (b.background === true) throw bad("'background' responses are not supported through this gateway: their usage could not be metered", 'background');
    const prev = b.previous_response_id;
    if (prev !== undefined && prev !== null && (typeof prev !== 'string' || prev === '')) throw bad("'previous_response_id' must be a non-empty string", 'previous_response_id');
    return { maxTokens: maxOf(b, 'max_output_tokens'), previousResponseId: typeof prev === 'string' ? prev : undefined };
  },
  upstream: jsonUpstream,
  usage: (o) => responsesUsage(o.usage),
  streamUsage(ev, before) {
    const r = obj(ev.response);
    return r && r.usage ? responsesUsage(r.usage) ?? before : before;
  },
  output(o) {
    // A stream's deltas (text, reasoning, refusal, function-call arguments), or a whole response's output items.
    if (typeof o.type === 'string' && o.type.endsWith('.delta')) return len(o.delta);
    return o.object === 'response' ? itemsOutput(o.output) : 0;
  },
  modelAt: [['model'], ['response', 'model']],
  doneSentinel: false,
  terminalEvents: TERMINAL,
  hidesUsage: false,
  createdId(o) {
    if (o.object === 'response' && typeof o.id === 'string') return o.id;
    const r = obj(o.response);
    return o.type === 'response.created' && r && typeof r.id === 'string' ? r.id : null;
  },
};
