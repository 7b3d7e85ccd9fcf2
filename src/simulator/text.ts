/**
 * @module Deterministic text for the simulator: a tokenizer whose pieces join
 * back to the text (so streamed pieces, counted tokens and the final text
 * always agree), and an extractive "summary" — the leading sentences of the
 * input — so demos show something readable and tests can predict it.
 */

/** Words longer than this many UTF-16 units are split into several tokens. */
const MAX_PIECE = 8;
const WORD = /\S+\s*|\s+/g;

/**
 * Token pieces of `text`: each word with its trailing whitespace is one token
 * (leading whitespace of the text is a token of its own); a word longer than
 * 8 characters is split every 8, the last part keeping the whitespace.
 * `tokenize(t).join('') === t` for every string.
 */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(WORD)) {
    const piece = m[0];
    const wordLen = piece.trimEnd().length;
    if (wordLen <= MAX_PIECE) { out.push(piece); continue; }
    let i = 0;
    while (wordLen - i > MAX_PIECE) {
      let end = i + MAX_PIECE;
      if (isHighSurrogate(piece.charCodeAt(end - 1))) end--; // never split a surrogate pair
      out.push(piece.slice(i, end));
      i = end;
    }
    out.push(piece.slice(i));
  }
  return out;
}

/** `tokenize(text).length`, without building the pieces. */
export function countTokens(text: string): number {
  let n = 0;
  for (const m of text.matchAll(WORD)) {
    const wordLen = m[0].trimEnd().length;
    n += wordLen <= MAX_PIECE ? 1 : Math.ceil(wordLen / MAX_PIECE);
  }
  return n;
}

function isHighSurrogate(c: number): boolean { return c >= 0xd800 && c <= 0xdbff; }

/** The text of a message's `content`: a string, or the `text` of its parts joined by spaces. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const texts: string[] = [];
  for (const p of content) {
    if (typeof p === 'string') texts.push(p);
    else if (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string') texts.push((p as { text: string }).text);
  }
  return texts.join(' ');
}

/** Per-message overhead of a chat prompt (role and template framing), in tokens. */
export const MESSAGE_OVERHEAD = 4;

/** Prompt tokens of a chat without tools or tool calls: for each message, tokens of its text + IMAGE_TOKENS per image + MESSAGE_OVERHEAD. */
export function chatPromptTokens(messages: ReadonlyArray<{ content?: unknown }>): number {
  let n = 0;
  for (const m of messages) n += MESSAGE_OVERHEAD + countTokens(contentText(m.content)) + IMAGE_TOKENS * imageCount(m.content);
  return n;
}

export const FALLBACK_TEXT = 'This is a simulated response from the LiteMaaS model simulator.';
const MAX_SENTENCES = 3;
/** A sentence: up to a run of . ! ? (plus closing quotes/brackets) followed by whitespace or the end. */
const SENTENCE = /[^]*?(?:[.!?]+["')\]]*(?=\s|$)|$)/y;

/** The leading sentences (at most three) of `input`, whitespace collapsed; a fixed sentence when there is no text. */
export function summarize(input: string): string {
  const text = input.replace(/\s+/g, ' ').trim();
  if (!text) return FALLBACK_TEXT;
  let end = 0;
  SENTENCE.lastIndex = 0;
  for (let s = 0; s < MAX_SENTENCES && end < text.length; s++) {
    SENTENCE.lastIndex = end;
    const m = SENTENCE.exec(text);
    if (!m || m[0].length === 0) { end = text.length; break; }
    end += m[0].length;
  }
  return text.slice(0, end).trimEnd();
}

export interface Generation { pieces: string[]; finishReason: 'stop' | 'length' }

/** The completion's token pieces for `input`, cut at `maxTokens` (finish_reason "length" when cut). */
export function generate(input: string, maxTokens: number): Generation {
  const all = tokenize(summarize(input));
  if (all.length > maxTokens) return { pieces: all.slice(0, Math.max(0, maxTokens)), finishReason: 'length' };
  return { pieces: all, finishReason: 'stop' };
}

/** Prompt tokens counted for each image part of a message (`image_url`, `input_image`, or Anthropic's `image`). */
export const IMAGE_TOKENS = 256;
const IMAGE_PARTS = new Set(['image_url', 'input_image', 'image']);

/** How many image parts `content` holds. */
export function imageCount(content: unknown): number {
  if (!Array.isArray(content)) return 0;
  let n = 0;
  for (const p of content) if (p && typeof p === 'object' && IMAGE_PARTS.has((p as { type?: unknown }).type as string)) n++;
  return n;
}

/** A chat message as the simulator's "chat template" sees it. */
export interface PromptMessage { role?: unknown; content?: unknown; tool_calls?: unknown }

function toolCallText(calls: unknown): string {
  if (!Array.isArray(calls)) return '';
  const out: string[] = [];
  for (const c of calls) {
    const f = c && typeof c === 'object' ? (c as { function?: { name?: unknown; arguments?: unknown } }).function : undefined;
    if (f) out.push(`${typeof f.name === 'string' ? f.name : ''} ${typeof f.arguments === 'string' ? f.arguments : ''}`);
  }
  return out.join(' ');
}

/**
 * The prompt's token pieces: per message `<|start|>`, the role, `<|message|>`,
 * the text's tokens (plus the names and arguments of its tool calls),
 * IMAGE_TOKENS `<|image|>` per image, `<|end|>`; tool definitions, when given,
 * as a leading message of their JSON. Its length is the prompt's token count
 * (MESSAGE_OVERHEAD per message), which is also what the prefix cache hashes.
 */
export function chatPromptPieces(messages: ReadonlyArray<PromptMessage>, tools?: unknown): string[] {
  const out: string[] = [];
  const add = (role: string, text: string, images: number) => {
    out.push('<|start|>', role, '<|message|>');
    for (const t of tokenize(text)) out.push(t);
    for (let i = 0; i < images * IMAGE_TOKENS; i++) out.push('<|image|>');
    out.push('<|end|>');
  };
  if (Array.isArray(tools) && tools.length > 0) add('tools', JSON.stringify(tools), 0);
  for (const m of messages) {
    const calls = toolCallText(m.tool_calls);
    const text = contentText(m.content);
    add(typeof m.role === 'string' ? m.role : 'user', calls ? (text ? `${text} ${calls}` : calls) : text, imageCount(m.content));
  }
  return out;
}
