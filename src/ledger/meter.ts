/**
 * @module Usage extraction and cost: tokens from the upstream's `usage`,
 * priced with the model's prices at request time, exactly (shared/money.ts).
 */
import { costPico } from '../shared/money.js';

export interface Usage { promptTokens: number; completionTokens: number }

export function readUsage(u: unknown): Usage | null {
  if (!u || typeof u !== 'object') return null;
  const o = u as { prompt_tokens?: unknown; completion_tokens?: unknown; total_tokens?: unknown };
  const p = typeof o.prompt_tokens === 'number' ? o.prompt_tokens : null;
  if (p === null) return null;
  const c = typeof o.completion_tokens === 'number' ? o.completion_tokens
    : typeof o.total_tokens === 'number' ? Math.max(0, o.total_tokens - p) : 0;
  return { promptTokens: Math.max(0, Math.trunc(p)), completionTokens: Math.max(0, Math.trunc(c)) };
}

export function priceUsage(u: Usage, price: { inPerToken: bigint; outPerToken: bigint }): bigint {
  return costPico(u.promptTokens, u.completionTokens, price.inPerToken, price.outPerToken);
}
