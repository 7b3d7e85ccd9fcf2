/**
 * @module Pieces several endpoint descriptors share: field checks that name
 * the field, the JSON body for a deployment, and the output readers of
 * OpenAI's chat/completions shapes.
 */
import { GatewayError } from '../errors.js';
import { count, readUsage, type Usage } from '../../ledger/meter.js';
import type { Bounds, ClientRequest, UpstreamBody } from './types.js';

export const bad = (message: string, param: string | null = null) => new GatewayError('invalid_request_error', message, param);

export function optionalInt(body: Record<string, unknown>, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number | null {
  const v = body[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw bad(`'${field}' must be an integer from ${min} to ${max === Number.MAX_SAFE_INTEGER ? 'a safe integer' : max}`, field);
  }
  return v;
}

export const MAX_CHOICES = 128;

/** n and best_of: the sequences the upstream generates per prompt. */
export function sequences(b: Record<string, unknown>): number {
  const n = optionalInt(b, 'n', 1, MAX_CHOICES) ?? 1;
  const bestOf = optionalInt(b, 'best_of', 1, MAX_CHOICES);
  if (bestOf !== null && bestOf < n) throw bad("'best_of' must be at least 'n'", 'best_of');
  return Math.max(n, bestOf ?? 1);
}

/** The larger of max_tokens and max_completion_tokens: upstreams differ in which one wins. */
export function maxOf(b: Record<string, unknown>, ...fields: string[]): number | null {
  let max: number | null = null;
  for (const f of fields) {
    const v = optionalInt(b, f, 1);
    if (v !== null && (max === null || v > max)) max = v;
  }
  return max;
}

export function includeUsage(b: Record<string, unknown>, stream: boolean): boolean {
  const so = b.stream_options;
  if (so !== undefined && so !== null && (typeof so !== 'object' || Array.isArray(so))) throw bad("'stream_options' must be an object", 'stream_options');
  return stream && !!so && (so as { include_usage?: unknown }).include_usage === true;
}

export const JSON_TYPE = 'application/json';

/** The JSON body with the deployment's model name and, when the gateway bounds the output itself, its max field. */
export function jsonUpstream(r: ClientRequest, upstreamModel: string, bounds: Bounds, extra?: Record<string, unknown>): UpstreamBody {
  const field = r.endpoint.maxTokensField;
  const inject = field && bounds.injectMaxTokens !== null ? { [field]: bounds.injectMaxTokens } : null;
  return { body: JSON.stringify({ ...r.body, ...inject, ...extra, model: upstreamModel }), contentType: JSON_TYPE };
}

/** OpenAI-style: usage always asked for when streaming (the client sees it only if it asked); stream_options dropped otherwise (vLLM refuses it without stream, quoting the body). */
export function openaiUpstream(r: ClientRequest, upstreamModel: string, bounds: Bounds): UpstreamBody {
  if (r.stream) {
    const so = (r.body.stream_options as Record<string, unknown> | undefined) ?? {};
    return jsonUpstream(r, upstreamModel, bounds, { stream_options: { ...so, include_usage: true } });
  }
  if (r.body.stream_options === undefined) return jsonUpstream(r, upstreamModel, bounds);
  const { stream_options: _dropped, ...rest } = r.body;
  return jsonUpstream({ ...r, body: rest }, upstreamModel, bounds);
}

export const len = (v: unknown): number => (typeof v === 'string' ? v.length : 0);

/** `v` as a JSON object, or null when it is anything else (an upstream's answer may be any shape). */
export const obj = (v: unknown): Record<string, unknown> | null => (v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : null);

/** Characters of generated output in a chat/completions body or stream chunk, over all choices. */
export function choicesOutput(o: Record<string, unknown>): number {
  const choices = o.choices;
  if (!Array.isArray(choices)) return 0;
  let n = 0;
  for (const c of choices) {
    if (!c || typeof c !== 'object') continue;
    const ch = c as { text?: unknown; delta?: unknown; message?: unknown };
    n += len(ch.text);
    const m = (ch.delta ?? ch.message) as Record<string, unknown> | null | undefined;
    if (!m || typeof m !== 'object') continue;
    n += len(m.content) + len(m.reasoning_content) + len(m.reasoning) + len(m.refusal);
    if (Array.isArray(m.tool_calls)) {
      for (const t of m.tool_calls) {
        const f = (t as { function?: { name?: unknown; arguments?: unknown } } | null)?.function;
        if (f) n += len(f.name) + len(f.arguments);
      }
    }
  }
  return n;
}

/** OpenAI-style usage in a body or in any stream chunk (the last one seen wins). */
export const openaiUsage = (o: Record<string, unknown>): Usage | null => readUsage(o.usage);
export const openaiStreamUsage = (ev: Record<string, unknown>, before: Usage | null): Usage | null =>
  ev.usage !== undefined && ev.usage !== null ? readUsage(ev.usage) ?? before : before;

export const TOP_MODEL: readonly (readonly string[])[] = [['model']];

/** A non-empty string field. */
export function requiredString(b: Record<string, unknown>, field: string): string {
  const v = b[field];
  if (typeof v !== 'string' || v === '') throw bad(`'${field}' is required and must be a non-empty string`, field);
  return v;
}

/** Pooling models' usage (rerank, score): all input; `total_tokens` alone when nothing else is reported. */
export function readPoolingUsage(u: unknown): Usage | null {
  const o = u && typeof u === 'object' ? u as Record<string, unknown> : null;
  if (!o) return null;
  const prompt = count(o.prompt_tokens) ?? count(o.total_tokens);
  return prompt === null ? null : { promptTokens: prompt, completionTokens: 0 };
}

/** What every OpenAI-style generating endpoint shares (chat, completions): streamed chunks, the usage chunk asked for on the client's behalf, `[DONE]`. */
export const OPENAI_GENERATING = {
  errors: 'openai',
  body: 'json',
  generates: true,
  streams: true,
  maxTokensField: 'max_tokens',
  upstream: openaiUpstream,
  usage: openaiUsage,
  streamUsage: openaiStreamUsage,
  output: choicesOutput,
  modelAt: TOP_MODEL,
  doneSentinel: true,
  hidesUsage: true,
} as const;

/** What every pooling endpoint shares (embeddings, rerank, score): one JSON answer, input tokens only, nothing generated. */
export const POOLING = {
  errors: 'openai',
  body: 'json',
  generates: false,
  streams: false,
  maxTokensField: null,
  upstream: jsonUpstream,
  streamUsage: openaiStreamUsage,
  output: () => 0,
  modelAt: TOP_MODEL,
  doneSentinel: false,
  hidesUsage: false,
} as const;
