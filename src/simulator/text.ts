/**
 * @module Deterministic text for the simulator: a tokenizer whose pieces join
 * back to the text, and an extractive "summary" (the leading sentences of the
 * input) that demos can read.
 */

/** Each word with its trailing whitespace is one token; words longer than 8 characters split every 8. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\S+\s*|\s+/g)) {
    const piece = m[0];
    const word = piece.trimEnd();
    if (word.length <= 8) { out.push(piece); continue; }
    for (let i = 0; i < word.length; i += 8) out.push(i + 8 >= word.length ? piece.slice(i) : word.slice(i, i + 8));
  }
  return out;
}

export function countTokens(text: string): number {
  return tokenize(text).length;
}

/** Prompt tokens of a chat: the tokens of every message's text plus 4 per message (role and framing). */
export function chatPromptTokens(messages: Array<{ content?: unknown }>): number {
  return messages.reduce((n, m) => n + 4 + countTokens(contentText(m.content)), 0);
}

export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((p) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join(' ');
  }
  return '';
}

const FALLBACK = 'This is a simulated response from the LiteMaaS model simulator.';

/** The leading sentences of `input` (at most three), or a fixed sentence when there is no text. */
export function summarize(input: string): string {
  const text = input.replace(/\s+/g, ' ').trim();
  if (!text) return FALLBACK;
  const sentences = text.match(/[^.!?]+[.!?]+["')\]]*\s*|[^.!?]+$/g) ?? [text];
  return sentences.slice(0, 3).join('').trim();
}

/** The completion's token pieces, cut at `maxTokens`. */
export function generate(input: string, maxTokens: number): { pieces: string[]; finishReason: 'stop' | 'length' } {
  const all = tokenize(summarize(input));
  if (all.length > maxTokens) return { pieces: all.slice(0, maxTokens), finishReason: 'length' };
  return { pieces: all, finishReason: 'stop' };
}
