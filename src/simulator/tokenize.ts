/**
 * @module vLLM's `POST /tokenize` ({prompt} or {messages}, optional tools and
 * return_token_strs) and `POST /detokenize` ({tokens}), at the root as vLLM
 * serves them. A token's id is a 31-bit FNV-1a hash of its text; ids the
 * simulator has handed out are remembered (bounded) so /detokenize can turn
 * them back into text. The counts agree with the chat/completions usage
 * (chat prompts include the simulator's template pieces; no BOS token).
 */
import { chatPromptPieces, tokenize, type PromptMessage } from './text.js';

const vocab = new Map<number, string>();
const VOCAB_LIMIT = 200_000;

export function tokenId(piece: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < piece.length; i++) { h ^= piece.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  const id = h & 0x7fffffff;
  if (!vocab.has(id)) {
    if (vocab.size >= VOCAB_LIMIT) vocab.delete(vocab.keys().next().value!);
    vocab.set(id, piece);
  }
  return id;
}

export interface TokenizeError { message: string; param: string | null }

export function tokenizeBody(body: Record<string, unknown>, maxModelLen: number): string | TokenizeError {
  let pieces: string[];
  if (typeof body.prompt === 'string') pieces = tokenize(body.prompt);
  else if (Array.isArray(body.messages)) {
    if (!body.messages.every((m) => m && typeof m === 'object')) return { message: 'each message must be an object', param: 'messages' };
    pieces = chatPromptPieces(body.messages as PromptMessage[], body.tools);
  } else return { message: 'expected prompt (a string) or messages (a list)', param: null };
  return JSON.stringify({
    count: pieces.length, max_model_len: maxModelLen, tokens: pieces.map(tokenId),
    token_strs: body.return_token_strs === true ? pieces : null,
  });
}

export function detokenizeBody(body: Record<string, unknown>): string | TokenizeError {
  const ids = body.tokens;
  if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)) return { message: 'tokens must be a list of non-negative integers', param: 'tokens' };
  let prompt = '';
  for (const id of ids as number[]) {
    const piece = vocab.get(id);
    if (piece === undefined) return { message: `Token id ${id} is out of vocabulary`, param: 'tokens' };
    prompt += piece;
  }
  return JSON.stringify({ prompt });
}
