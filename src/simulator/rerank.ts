/**
 * @module Rerank (`/rerank`, `/v1/rerank`, `/v2/rerank`: Jina/Cohere style)
 * and score (`/score`, `/v1/score`: vLLM's pairs text_1/text_2, data_1/
 * data_2, queries/documents or queries/items; a single first side is paired
 * with every second, else the sides pair one to one) as vLLM answers them.
 * The score of a pair is the overlap of their lower-cased word sets,
 * |A∩B| / √(|A|·|B|), in [0, 1]. A pair costs the tokens of both texts plus
 * 3 (a cross-encoder's [CLS] a [SEP] b [SEP]).
 */
import { countTokens } from './text.js';
import { newId } from './completions.js';

export interface ScoreError { message: string; param: string | null }
const PAIR_OVERHEAD = 3;

const words = (s: string): Set<string> => new Set(s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);

/** The deterministic relevance of `b` to `a`. */
export function overlapScore(a: string, b: string): number {
  const x = words(a), y = words(b);
  if (x.size === 0 || y.size === 0) return 0;
  let both = 0;
  for (const w of x) if (y.has(w)) both++;
  return both / Math.sqrt(x.size * y.size);
}

const pairTokens = (a: string, b: string) => countTokens(a) + countTokens(b) + PAIR_OVERHEAD;

function texts(v: unknown, param: string): string[] | ScoreError {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.length > 0) {
    const out: string[] = [];
    for (const x of v) {
      if (typeof x === 'string') out.push(x);
      else if (x && typeof x === 'object' && typeof (x as { text?: unknown }).text === 'string') out.push((x as { text: string }).text);
      else return { message: `${param} must be a string or a list of strings`, param };
    }
    return out;
  }
  return { message: `${param} must be a string or a non-empty list of strings`, param };
}

function checkLen(a: string, b: string, maxModelLen: number): ScoreError | null {
  const n = pairTokens(a, b);
  return n > maxModelLen ? { message: `This model's maximum context length is ${maxModelLen} tokens. However, a pair has ${n} tokens.`, param: null } : null;
}

/** The rerank response body, or why the request is invalid. */
export function rerankBody(body: Record<string, unknown>, model: string, maxModelLen: number): string | ScoreError {
  if (typeof body.query !== 'string') return { message: 'query must be a string', param: 'query' };
  const docs = texts(body.documents, 'documents');
  if (!Array.isArray(docs)) return docs;
  const topN = body.top_n ?? 0;
  if (typeof topN !== 'number' || !Number.isInteger(topN) || topN < 0) return { message: 'top_n must be a non-negative integer', param: 'top_n' };
  let tokens = 0;
  const results = docs.map((text, index) => {
    tokens += pairTokens(body.query as string, text);
    return { index, document: { text, multi_modal: null }, relevance_score: overlapScore(body.query as string, text) };
  });
  for (const d of docs) { const e = checkLen(body.query, d, maxModelLen); if (e) return e; }
  results.sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index);
  const top = topN > 0 && topN < results.length ? results.slice(0, topN) : results;
  return JSON.stringify({ id: newId('rerank'), model, usage: { prompt_tokens: tokens, total_tokens: tokens }, results: top });
}

const PAIRS = [['queries', 'documents'], ['queries', 'items'], ['data_1', 'data_2'], ['text_1', 'text_2']] as const;

/** The score response body, or why the request is invalid. */
export function scoreBody(body: Record<string, unknown>, model: string, maxModelLen: number): string | ScoreError {
  const pair = PAIRS.find(([a, b]) => body[a] !== undefined && body[b] !== undefined);
  if (!pair) return { message: 'expected text_1/text_2, data_1/data_2, queries/documents or queries/items', param: null };
  const left = texts(body[pair[0]], pair[0]);
  if (!Array.isArray(left)) return left;
  const right = texts(body[pair[1]], pair[1]);
  if (!Array.isArray(right)) return right;
  if (left.length !== 1 && left.length !== right.length) return { message: `${pair[0]} must hold one item or as many as ${pair[1]}`, param: pair[0] };
  let tokens = 0;
  const data = [];
  for (let i = 0; i < right.length; i++) {
    const a = left.length === 1 ? left[0]! : left[i]!;
    const e = checkLen(a, right[i]!, maxModelLen);
    if (e) return e;
    tokens += pairTokens(a, right[i]!);
    data.push({ index: i, object: 'score', score: overlapScore(a, right[i]!) });
  }
  return JSON.stringify({
    id: newId('score'), object: 'list', created: Math.floor(Date.now() / 1000), model, data,
    usage: { prompt_tokens: tokens, total_tokens: tokens, completion_tokens: 0, prompt_tokens_details: null },
  });
}
