/**
 * @module From an OpenAI chat/completions request to a generation plan (the
 * token pieces, finish reason and usage, decided up front so the streamed and
 * non-streamed answers to one request always agree), and the vLLM-shaped
 * non-streaming response bodies.
 */
import { randomBytes } from 'node:crypto';
import { chatPromptTokens, contentText, countTokens, generate } from './text.js';

export type CompletionKind = 'chat' | 'completions';
export interface Usage { prompt_tokens: number; completion_tokens: number; total_tokens: number }
export interface Plan {
  kind: CompletionKind; id: string; model: string; created: number;
  pieces: string[]; finishReason: 'stop' | 'length'; usage: Usage;
  stream: boolean; includeUsage: boolean;
}
export interface Invalid { message: string; param: string | null; code: string }

export const DEFAULT_MAX_TOKENS = 256;

const idPrefix = randomBytes(6).toString('hex');
let idCounter = 0;
function newId(kind: CompletionKind): string {
  return `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${idPrefix}${(++idCounter).toString(16).padStart(8, '0')}`;
}

const invalid = (message: string, param: string | null = null, code = 'invalid_request_error'): Invalid => ({ message, param, code });
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTokenArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number');

/** The text to answer and the prompt's token count, or why the request is invalid. */
function readPrompt(kind: CompletionKind, body: Record<string, unknown>): { input: string; promptTokens: number } | Invalid {
  if (kind === 'chat') {
    const msgs = body.messages;
    if (!Array.isArray(msgs) || msgs.length === 0) return invalid('messages must be a non-empty array', 'messages');
    if (!msgs.every((m) => isObject(m) && typeof m.role === 'string')) return invalid('each message must be an object with a role', 'messages');
    const messages = msgs as Array<Record<string, unknown>>;
    let lastUser: Record<string, unknown> | undefined;
    for (let i = messages.length - 1; i >= 0 && !lastUser; i--) if (messages[i]!.role === 'user') lastUser = messages[i];
    return { input: lastUser ? contentText(lastUser.content) : '', promptTokens: chatPromptTokens(messages) };
  }
  const p = body.prompt;
  if (typeof p === 'string') return { input: p, promptTokens: countTokens(p) };
  if (isTokenArray(p) && p.length > 0) return { input: '', promptTokens: p.length };
  if (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string')) {
    const parts = p as string[];
    return { input: parts.join(' '), promptTokens: parts.reduce((n, s) => n + countTokens(s), 0) };
  }
  if (Array.isArray(p) && p.length > 0 && p.every(isTokenArray)) {
    return { input: '', promptTokens: (p as number[][]).reduce((n, a) => n + a.length, 0) };
  }
  return invalid('prompt must be a string, an array of strings, or token ids', 'prompt');
}

/** The plan for a chat or completions request against `model`, or why it is invalid. */
export function planCompletion(kind: CompletionKind, body: Record<string, unknown>, model: string, maxModelLen: number): Plan | Invalid {
  const prompt = readPrompt(kind, body);
  if ('message' in prompt) return prompt;
  const { input, promptTokens } = prompt;

  const param = body.max_tokens != null ? 'max_tokens' : 'max_completion_tokens';
  const requested = body[param];
  if (requested != null && !(typeof requested === 'number' && Number.isInteger(requested) && requested >= 1)) {
    return invalid(`${param} must be an integer of at least 1`, param);
  }
  const remaining = maxModelLen - promptTokens;
  if (remaining < 1) {
    return invalid(`This model's maximum context length is ${maxModelLen} tokens. However, your prompt has ${promptTokens} tokens. Please reduce the length of the prompt.`, kind === 'chat' ? 'messages' : 'prompt', 'context_length_exceeded');
  }
  const maxTokens = Math.min(typeof requested === 'number' ? requested : DEFAULT_MAX_TOKENS, remaining);
  const { pieces, finishReason } = generate(input, maxTokens);
  const opts = body.stream_options;
  return {
    kind, id: newId(kind), model, created: Math.floor(Date.now() / 1000),
    pieces, finishReason,
    usage: { prompt_tokens: promptTokens, completion_tokens: pieces.length, total_tokens: promptTokens + pieces.length },
    stream: body.stream === true,
    includeUsage: isObject(opts) && opts.include_usage === true,
  };
}

/** The non-streaming JSON body, as vLLM answers it. */
export function completionBody(p: Plan): string {
  const text = p.pieces.join('');
  return JSON.stringify(p.kind === 'chat'
    ? { id: p.id, object: 'chat.completion', created: p.created, model: p.model,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: p.finishReason }], usage: p.usage }
    : { id: p.id, object: 'text_completion', created: p.created, model: p.model,
        choices: [{ index: 0, text, logprobs: null, finish_reason: p.finishReason }], usage: p.usage });
}
