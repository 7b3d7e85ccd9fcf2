/**
 * @module POST /v1/messages: Anthropic's Messages API as vLLM serves it, for
 * Anthropic clients (x-api-key, Anthropic's error shape). `max_tokens` is
 * required and bounds the output. The stream is `message_start` (usage with
 * the input tokens) … `message_delta` (cumulative output tokens) … `message_stop`.
 */
import { count, type Usage } from '../../ledger/meter.js';
import { bad, jsonUpstream, len, obj } from './common.js';
import type { Endpoint } from './types.js';

/**
 * Anthropic's usage: `input_tokens` are the uncached input; tokens read from
 * or written to the cache are reported beside them, so the prompt is their sum
 * and the cache reads are its cached part. Fields a partial usage omits keep
 * the values known before (a message_delta may carry only output_tokens).
 */
export function anthropicUsage(u: unknown, before: Usage | null = null): Usage | null {
  const o = obj(u);
  if (!o) return before;
  const input = count(o.input_tokens);
  const output = count(o.output_tokens);
  const read = count(o.cache_read_input_tokens);
  const created = count(o.cache_creation_input_tokens);
  if (input === null && output === null && read === null && created === null) return before;
  const hasInput = input !== null || read !== null || created !== null;
  const promptTokens = hasInput ? (input ?? 0) + (read ?? 0) + (created ?? 0) : before?.promptTokens ?? 0;
  const cached = hasInput ? read ?? 0 : before?.cachedTokens ?? 0;
  const usage: Usage = { promptTokens, completionTokens: output ?? before?.completionTokens ?? 0 };
  if (cached > 0) usage.cachedTokens = Math.min(cached, promptTokens);
  return usage;
}

const TERMINAL = new Set(['message_stop']);

export const messages: Endpoint = {
  name: 'messages',
  paths: ['/v1/messages'],
  upstreamPath: '/messages',
  kinds: ['chat'],
  errors: 'anthropic',
  body: 'json',
  generates: true,
  streams: true,
  maxTokensField: 'max_tokens',
  parse(b) {
    const mt = b.max_tokens;
    if (typeof mt !== 'number' || !Number.isInteger(mt) || mt < 1) throw bad('max_tokens: Field required, an integer of at least 1', 'max_tokens');
    if (!Array.isArray(b.messages) || b.messages.length === 0) throw bad('messages: Field required, a non-empty array', 'messages');
    b.messages.forEach((m, i) => {
      const role = (m as { role?: unknown } | null)?.role;
      if (role !== 'user' && role !== 'assistant') throw bad(`messages.${i}.role: must be 'user' or 'assistant'`, `messages.${i}.role`);
    });
    return { maxTokens: mt };
  },
  upstream: jsonUpstream,
  usage: (o) => anthropicUsage(o.usage),
  streamUsage(ev, before) {
    if (ev.type === 'message_start') return anthropicUsage(obj(ev.message)?.usage, before);
    if (ev.type === 'message_delta') return anthropicUsage(ev.usage, before);
    return before;
  },
  output(o) {
    if (o.type === 'content_block_delta') {
      const d = obj(o.delta);
      return d ? len(d.text) + len(d.partial_json) + len(d.thinking) : 0;
    }
    if (o.type !== 'message' || !Array.isArray(o.content)) return 0;
    let n = 0;
    for (const c of o.content) {
      const b = obj(c);
      if (!b) continue;
      n += len(b.text) + len(b.thinking);
      if (b.type === 'tool_use' && b.input !== undefined) n += JSON.stringify(b.input).length;
    }
    return n;
  },
  modelAt: [['model'], ['message', 'model']],
  doneSentinel: false,
  terminalEvents: TERMINAL,
  hidesUsage: false,
};

/** POST /v1/messages/count_tokens: Anthropic's token counter; free, counted as a request. */
export const countTokens: Endpoint = {
  name: 'count_tokens',
  paths: ['/v1/messages/count_tokens'],
  upstreamPath: '/messages/count_tokens',
  kinds: ['chat'],
  errors: 'anthropic',
  body: 'json',
  free: true,
  generates: false,
  streams: false,
  maxTokensField: null,
  parse(b) {
    if (!Array.isArray(b.messages) || b.messages.length === 0) throw bad('messages: Field required, a non-empty array', 'messages');
    return {};
  },
  upstream: jsonUpstream,
  usage: () => null,
  streamUsage: (_e, before) => before,
  output: () => 0,
  modelAt: [['model']],
  doneSentinel: false,
  hidesUsage: false,
};
