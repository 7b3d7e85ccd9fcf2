/** @module POST /v1/chat/completions: OpenAI chat, as vLLM serves it. */
import { bad, includeUsage, maxOf, OPENAI_GENERATING, sequences } from './common.js';
import type { Endpoint } from './types.js';

export const chat: Endpoint = {
  ...OPENAI_GENERATING,
  name: 'chat',
  paths: ['/v1/chat/completions'],
  upstreamPath: '/chat/completions',
  kinds: ['chat'],
  parse(b, stream) {
    if (!Array.isArray(b.messages) || b.messages.length === 0) throw bad("'messages' must be a non-empty array", 'messages');
    b.messages.forEach((m, i) => {
      if (!m || typeof m !== 'object' || typeof (m as { role?: unknown }).role !== 'string') {
        throw bad(`'messages[${i}]' must be an object with a string 'role'`, `messages[${i}]`);
      }
    });
    return { choices: sequences(b), maxTokens: maxOf(b, 'max_tokens', 'max_completion_tokens'), includeUsage: includeUsage(b, stream) };
  },
};
