/** @module POST /v1/embeddings: each input embedded on its own, billed by prompt tokens. */
import { bad, openaiUsage, POOLING } from './common.js';
import type { Endpoint } from './types.js';

export const embeddings: Endpoint = {
  ...POOLING,
  name: 'embeddings',
  paths: ['/v1/embeddings'],
  upstreamPath: '/embeddings',
  kinds: ['embedding'],
  parse(b) {
    const input = b.input;
    if (!(typeof input === 'string' || (Array.isArray(input) && input.length > 0))) throw bad("'input' must be a string or a non-empty array", 'input');
    // Each input is embedded on its own, up to the context each: the prompt bound counts them.
    return { prompts: typeof input === 'string' || input.every((x) => typeof x === 'number') ? 1 : input.length };
  },
  usage: openaiUsage,
};
