/**
 * @module POST /tokenize and /detokenize, as vLLM serves them at its root:
 * scoped to the key's models like any request, free, counted as requests.
 */
import { bad, jsonUpstream, TOP_MODEL } from './common.js';
import type { Endpoint } from './types.js';

const base = {
  atRoot: true,
  kinds: ['chat', 'completion', 'embedding', 'rerank'],
  errors: 'openai',
  body: 'json',
  free: true,
  generates: false,
  streams: false,
  maxTokensField: null,
  upstream: jsonUpstream,
  usage: () => null,
  streamUsage: (_e: unknown, before: null) => before,
  output: () => 0,
  modelAt: TOP_MODEL,
  doneSentinel: false,
  hidesUsage: false,
} as const;

export const tokenize: Endpoint = {
  ...base,
  name: 'tokenize',
  paths: ['/tokenize', '/v1/tokenize'],
  upstreamPath: '/tokenize',
  parse(b) {
    if (typeof b.prompt !== 'string' && !Array.isArray(b.messages)) throw bad("'prompt' (a string) or 'messages' (an array) is required", 'prompt');
    return {};
  },
};

export const detokenize: Endpoint = {
  ...base,
  name: 'detokenize',
  paths: ['/detokenize', '/v1/detokenize'],
  upstreamPath: '/detokenize',
  parse(b) {
    if (!Array.isArray(b.tokens) || !b.tokens.every((t) => typeof t === 'number' && Number.isInteger(t) && t >= 0)) throw bad("'tokens' must be an array of token ids", 'tokens');
    return {};
  },
};
