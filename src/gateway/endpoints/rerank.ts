/**
 * @module Rerank and score, as vLLM serves them for cross-encoder models:
 * /v1/rerank, /rerank, /v2/rerank (Jina/Cohere shapes) and /v1/score, /score.
 * Every document is read with the query, each up to the context length;
 * billed by `usage.total_tokens` (all of it input).
 */
import { bad, POOLING, readPoolingUsage } from './common.js';
import type { Endpoint } from './types.js';

const items = (v: unknown): number => (Array.isArray(v) ? v.length : v === undefined || v === null ? 0 : 1);

export const rerank: Endpoint = {
  ...POOLING,
  name: 'rerank',
  paths: ['/v1/rerank', '/rerank', '/v2/rerank'],
  upstreamPath: '/rerank',
  kinds: ['rerank'],
  parse(b) {
    if (typeof b.query !== 'string' && !(b.query && typeof b.query === 'object')) throw bad("'query' is required: a string", 'query');
    if (!Array.isArray(b.documents) || b.documents.length === 0) throw bad("'documents' must be a non-empty array", 'documents');
    if (b.top_n !== undefined && b.top_n !== null && (typeof b.top_n !== 'number' || !Number.isInteger(b.top_n) || b.top_n < 0)) throw bad("'top_n' must be a non-negative integer", 'top_n');
    return { prompts: b.documents.length };
  },
  usage: (o) => readPoolingUsage(o.usage),
};

export const score: Endpoint = {
  ...POOLING,
  name: 'score',
  paths: ['/v1/score', '/score'],
  upstreamPath: '/score',
  kinds: ['rerank', 'embedding'],
  parse(b) {
    // vLLM has named the pair text_1/text_2 and, later, queries/documents (or data_1/data_2, or queries/items); each pair is one input.
    const left = b.text_1 ?? b.queries ?? b.data_1;
    const right = b.text_2 ?? b.documents ?? b.items ?? b.data_2;
    if (left === undefined || left === null) throw bad("'text_1' (or 'queries') is required", 'text_1');
    if (right === undefined || right === null) throw bad("'text_2' (or 'documents') is required", 'text_2');
    return { prompts: Math.max(1, items(left) * items(right)) };
  },
  usage: (o) => readPoolingUsage(o.usage),
};

