/**
 * @module Usage extraction and cost: tokens from the upstream's `usage`,
 * priced with the model's prices at request time, exactly (shared/money.ts);
 * when an upstream sends no usage, an estimate from the output actually
 * delivered (never 0 when something was delivered).
 */
import { costPico } from '../shared/money.js';

export interface Usage { promptTokens: number; completionTokens: number }

/** What usage_events' int4 columns hold; an upstream reporting more is clamped, not allowed to poison a batch. */
const MAX_TOKENS = 2_147_483_647;

const count = (v: unknown): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? Math.min(MAX_TOKENS, Math.max(0, Math.trunc(v))) : null;

/** OpenAI's `prompt_tokens`/`completion_tokens` (or `total_tokens` for the rest); null when it carries no counts. */
export function readUsage(u: unknown): Usage | null {
  if (!u || typeof u !== 'object') return null;
  const o = u as { prompt_tokens?: unknown; completion_tokens?: unknown; total_tokens?: unknown };
  const p = count(o.prompt_tokens);
  let c = count(o.completion_tokens);
  if (p === null && c === null) return null;
  const total = count(o.total_tokens);
  if (c === null) c = total !== null ? Math.max(0, total - (p ?? 0)) : 0;
  return { promptTokens: p ?? 0, completionTokens: c };
}

/** Output delivered to a client: content-bearing events (or bodies) and their characters. */
export interface Delivered { events: number; chars: number }

const len = (v: unknown): number => (typeof v === 'string' ? v.length : 0);

/** Characters of generated output in a chat/completions body or stream chunk, over all choices. */
export function outputChars(o: unknown): number {
  const choices = (o as { choices?: unknown } | null)?.choices;
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

/**
 * Completion tokens when the upstream never said: about 4 characters a token,
 * but at least one per content-bearing event. The stated bound is
 * events ≤ estimate ≤ characters delivered.
 */
export function estimateCompletion(d: Delivered): number {
  return Math.min(MAX_TOKENS, Math.max(d.events, Math.ceil(d.chars / 4)));
}

export function priceUsage(u: Usage, price: { inPerToken: bigint; outPerToken: bigint }): bigint {
  return costPico(u.promptTokens, u.completionTokens, price.inPerToken, price.outPerToken);
}
