/**
 * @module Deterministic log-probabilities in OpenAI's shapes: each generated
 * piece gets a logprob from a hash of its text (in [-1, -0.001]); its
 * alternatives are fixed tokens, each one nat less likely than the one before.
 */

const ALTERNATIVES = [' the', ' a', ' and', ' of', ' to', ' in', ' is', ' it', ' that', ' for', ' on', ' with', ' as', ' was', ' at', ' by', ' an', ' be', ' this', ' or'];

function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return h;
}

export const logprobOf = (piece: string): number => -((hash(piece) % 1000) + 1) / 1000;
const bytes = (s: string): number[] => Array.from(Buffer.from(s, 'utf8'));

function alternatives(piece: string, top: number): Array<[string, number]> {
  const lp = logprobOf(piece);
  const out: Array<[string, number]> = [[piece, lp]];
  for (let k = 0; out.length < top && k < ALTERNATIVES.length; k++) {
    if (ALTERNATIVES[k] !== piece) out.push([ALTERNATIVES[k]!, lp - out.length]);
  }
  return out.slice(0, top);
}

/** One entry of a chat choice's `logprobs.content`. */
export function chatLogprob(piece: string, top: number): Record<string, unknown> {
  return {
    token: piece, logprob: logprobOf(piece), bytes: bytes(piece),
    top_logprobs: alternatives(piece, top).map(([token, logprob]) => ({ token, logprob, bytes: bytes(token) })),
  };
}

/** A completions choice's `logprobs` for `pieces`, the first of which starts at `offset`. */
export function completionLogprobs(pieces: readonly string[], top: number, offset = 0): Record<string, unknown> {
  const text_offset: number[] = [];
  let at = offset;
  for (const p of pieces) { text_offset.push(at); at += p.length; }
  return {
    text_offset,
    token_logprobs: pieces.map(logprobOf),
    tokens: [...pieces],
    top_logprobs: pieces.map((p) => Object.fromEntries(alternatives(p, top))),
  };
}
