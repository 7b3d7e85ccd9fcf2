/**
 * @module What a model's kind means to a person: its name, the gateway endpoints that accept it,
 * and how its prices read (tokens, cached tokens, minutes of audio, a fee per request). Pure, so
 * the catalog, the admin table and the examples say the same thing.
 */
import i18n from './i18n';
import type { ModelInfo, ModelKind } from './types';

export const modelKinds: readonly ModelKind[] = ['chat', 'completion', 'embedding', 'rerank', 'audio'];

/** A kind's name in the active language: "Chat", "Audio (speech to text)"… */
export function kindLabel(kind: ModelKind): string {
  return i18n.t(`kinds.${kind}`);
}

/** The gateway paths that accept a model of this kind (the gateway decides; this says it to people). */
export const kindEndpoints: Record<ModelKind, string[]> = {
  chat: ['/v1/chat/completions', '/v1/completions', '/v1/responses', '/v1/messages', '/tokenize', '/detokenize'],
  completion: ['/v1/completions', '/tokenize', '/detokenize'],
  embedding: ['/v1/embeddings', '/v1/score', '/tokenize', '/detokenize'],
  rerank: ['/v1/rerank', '/v2/rerank', '/v1/score', '/tokenize', '/detokenize'],
  audio: ['/v1/audio/transcriptions', '/v1/audio/translations'],
};

type Prices = Pick<ModelInfo, 'kind' | 'inputPricePer1M' | 'outputPricePer1M' | 'cachedInputPricePer1M' | 'audioPricePerMinute' | 'requestPrice'>;

export interface Price {
  /** As a row title: "Input price". */
  label: string;
  /** Inside a line of token prices: "in", "cached in", "out". */
  short: string;
  value: number;
  /** Translated, also what groups prices on one line. */
  unit: string;
}

/**
 * The prices that apply to a model, in reading order. A price is left out where the kind does not
 * use it and it is zero (an audio model priced by the minute has no token prices; an embedding
 * model no output price), never when an admin set it.
 */
export function modelPrices(m: Prices): Price[] {
  const t = i18n.t.bind(i18n);
  const tokens = t('prices.perMillionTokens');
  const out: Price[] = [];
  const usesTokens = m.kind !== 'audio' || m.inputPricePer1M > 0 || m.outputPricePer1M > 0;
  const generates = m.kind === 'chat' || m.kind === 'completion';
  if (usesTokens) out.push({ label: t('prices.input'), short: t('prices.inShort'), value: m.inputPricePer1M, unit: tokens });
  if (usesTokens && m.cachedInputPricePer1M !== null) out.push({ label: t('prices.cachedInput'), short: t('prices.cachedInShort'), value: m.cachedInputPricePer1M, unit: tokens });
  if (usesTokens && (generates || m.outputPricePer1M > 0)) out.push({ label: t('prices.output'), short: t('prices.outShort'), value: m.outputPricePer1M, unit: tokens });
  if (m.kind === 'audio' || m.audioPricePerMinute > 0) out.push({ label: t('prices.audio'), short: '', value: m.audioPricePerMinute, unit: t('prices.perAudioMinute') });
  if (m.requestPrice > 0) out.push({ label: t('prices.request'), short: '', value: m.requestPrice, unit: t('prices.perRequest') });
  return out;
}

export interface PriceLine { amount: string; unit: string }

/** The prices on one line per unit: "$0.15 in · $0.60 out" per 1M tokens, "$0.006" per minute of audio. */
export function priceLines(m: Prices, money: (v: number) => string): PriceLine[] {
  const lines: PriceLine[] = [];
  for (const p of modelPrices(m)) {
    const text = p.short ? `${money(p.value)} ${p.short}` : money(p.value);
    const same = lines.find((l) => l.unit === p.unit);
    if (same) same.amount += ` · ${text}`;
    else lines.push({ amount: text, unit: p.unit });
  }
  return lines;
}
