/** @module POST /v1/completions: OpenAI completions (prompt lists included), as vLLM serves them. */
import { bad, includeUsage, maxOf, OPENAI_GENERATING, sequences } from './common.js';
import type { Endpoint } from './types.js';

const PROMPT_SHAPES = "'prompt' must be a string, a non-empty array of strings, an array of token ids or an array of token-id arrays";

/** Prompts in a `prompt`: a string, a list of strings, a list of token ids, or a list of token-id lists. */
function promptCount(p: unknown): number {
  if (typeof p === 'string') return 1;
  if (!Array.isArray(p) || p.length === 0) throw bad(PROMPT_SHAPES, 'prompt');
  const isToken = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= 0;
  if (p.every(isToken)) return 1;
  if (p.every((x) => typeof x === 'string')) return p.length;
  if (p.every((x) => Array.isArray(x) && x.length > 0 && x.every(isToken))) return p.length;
  throw bad(PROMPT_SHAPES, 'prompt');
}

export const completions: Endpoint = {
  ...OPENAI_GENERATING,
  name: 'completions',
  paths: ['/v1/completions'],
  upstreamPath: '/completions',
  kinds: ['chat', 'completion'],
  parse(b, stream) {
    const prompts = promptCount(b.prompt);
    // Every prompt of a list is answered with max(n, best_of) sequences.
    return { prompts, choices: sequences(b) * prompts, maxTokens: maxOf(b, 'max_tokens', 'max_completion_tokens'), includeUsage: includeUsage(b, stream) };
  },
};
