/**
 * @module Usage and cost: what a request used, as each endpoint's descriptor
 * reads it from the upstream (src/gateway/endpoints), priced with the model's
 * prices at request time, exactly (shared/money.ts); when an upstream sends
 * no usage, an estimate from the output actually delivered (never 0 when
 * something was delivered).
 */
import { costPico } from '../shared/money.js';

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Of the prompt tokens, those served from the upstream's prefix cache. */
  cachedTokens?: number;
  /** Audio billed, in milliseconds. */
  audioMs?: number;
}

/** What usage_events' int4 columns hold; an upstream reporting more is clamped, not allowed to poison a batch. */
const MAX_TOKENS = 2_147_483_647;

/** A count an upstream reported: a finite number, clamped to what an int4 column holds; else null. */
export const count = (v: unknown): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? Math.min(MAX_TOKENS, Math.max(0, Math.trunc(v))) : null;

const field = (o: unknown, k: string): unknown => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined);

/**
 * OpenAI's `prompt_tokens`/`completion_tokens` (or `total_tokens` for the
 * rest), with `prompt_tokens_details.cached_tokens`; null when it carries no counts.
 */
export function readUsage(u: unknown): Usage | null {
  if (!u || typeof u !== 'object') return null;
  const o = u as { prompt_tokens?: unknown; completion_tokens?: unknown; total_tokens?: unknown; prompt_tokens_details?: unknown };
  const p = count(o.prompt_tokens);
  let c = count(o.completion_tokens);
  if (p === null && c === null) return null;
  const total = count(o.total_tokens);
  if (c === null) c = total !== null ? Math.max(0, total - (p ?? 0)) : 0;
  return withCached({ promptTokens: p ?? 0, completionTokens: c }, count(field(o.prompt_tokens_details, 'cached_tokens')));
}

/** Cached tokens are part of the prompt: never more than it, whatever an upstream says. */
export function withCached(u: Usage, cached: number | null): Usage {
  if (cached !== null && cached > 0) u.cachedTokens = Math.min(cached, u.promptTokens);
  return u;
}

/** Output delivered to a client: content-bearing events (or bodies) and their characters. */
export interface Delivered { events: number; chars: number }

/**
 * Completion tokens when the upstream never said: about 4 characters a token,
 * but at least one per content-bearing event. The stated bound is
 * events ≤ estimate ≤ characters delivered.
 */
export function estimateCompletion(d: Delivered): number {
  return Math.min(MAX_TOKENS, Math.max(d.events, Math.ceil(d.chars / 4)));
}

export interface Prices { inPerToken: bigint; cachedPerToken: bigint; outPerToken: bigint; audioPerMinute: bigint; requestFee: bigint }

const MS_PER_MINUTE = 60_000n;

/**
 * Exact cost: uncached prompt tokens at the input price, cached ones at the
 * cached-input price, completion tokens at the output price, audio per
 * minute (to the millisecond, rounded up to the pico-unit) and the per-request fee.
 */
export function priceUsage(u: Usage, p: Prices): bigint {
  const cached = Math.min(u.cachedTokens ?? 0, u.promptTokens);
  let cost = costPico(u.promptTokens - cached, u.completionTokens, p.inPerToken, p.outPerToken) + BigInt(cached) * p.cachedPerToken + p.requestFee;
  if (u.audioMs) cost += (BigInt(u.audioMs) * p.audioPerMinute + MS_PER_MINUTE - 1n) / MS_PER_MINUTE;
  return cost;
}
