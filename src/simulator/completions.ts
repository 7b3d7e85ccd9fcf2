/**
 * @module From an OpenAI chat/completions request to a generation plan (the
 * token pieces or the tool call, finish reason, usage and logprobs, decided
 * up front so the streamed and non-streamed answers to one request always
 * agree), and the vLLM-shaped non-streaming response bodies. Tools: with
 * `tools` and a `tool_choice` other than "none", the answer is a call of the
 * named (or first) function with arguments generated from its parameters
 * schema. `response_format` json_object/json_schema: the content is JSON (the
 * schema's generated value). Image parts count IMAGE_TOKENS each.
 */
import { randomBytes } from 'node:crypto';
import { chatPromptPieces, contentText, countTokens, generate, summarize, tokenize, type PromptMessage } from './text.js';
import { pyJson } from './json.js';
import { valueFor } from './schema.js';
import { chatLogprob, completionLogprobs } from './logprobs.js';
import type { PrefixCache } from './prefix-cache.js';

export type CompletionKind = 'chat' | 'completions';
export interface Usage {
  prompt_tokens: number; completion_tokens: number; total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number };
}
export interface ToolCallPlan { id: string; name: string; argPieces: string[] }
export type FinishReason = 'stop' | 'length' | 'tool_calls';
export interface Plan {
  kind: CompletionKind; id: string; model: string; created: number;
  /** Content pieces (empty when the answer is a tool call). */
  pieces: string[];
  toolCall: ToolCallPlan | null;
  finishReason: FinishReason; usage: Usage;
  /** Top-logprobs count when logprobs were asked for, else null. */
  logprobs: number | null;
  stream: boolean; includeUsage: boolean;
}
export interface Invalid { message: string; param: string | null; code: string }
/** What planning needs from the server: the context length and, when prompt-token details are on, the prefix cache. */
export interface PlanContext { maxModelLen: number; cache: PrefixCache | null }

export const DEFAULT_MAX_TOKENS = 256;

export const randomHex = (bytes: number): string => randomBytes(bytes).toString('hex');
const idPrefix = randomHex(6);
let idCounter = 0;
/** `<prefix>-<random><counter>`: unique within and across simulator processes. */
export function newId(prefix: string): string {
  return `${prefix}-${idPrefix}${(++idCounter).toString(16).padStart(8, '0')}`;
}

export const invalid = (message: string, param: string | null = null, code = 'invalid_request_error'): Invalid => ({ message, param, code });
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTokenArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number');

/** A function the model may call: its name and parameters schema. */
export interface FunctionTool { name: string; parameters: unknown }

/**
 * The function to call, null for none, or why the request is invalid.
 * `tools` in chat's nested shape (`{type, function: {name, parameters}}`)
 * or, with `flat`, the Responses API's (`{type, name, parameters}`).
 */
export function pickTool(tools: unknown, choice: unknown, flat = false): FunctionTool | null | Invalid {
  if (tools === undefined || tools === null) return null;
  if (!Array.isArray(tools)) return invalid('tools must be an array', 'tools');
  const fns: FunctionTool[] = [];
  for (const t of tools) {
    if (!isObject(t)) return invalid('each tool must be an object', 'tools');
    if (t.type !== 'function') continue;
    const f = flat ? t : t.function;
    if (!isObject(f) || typeof f.name !== 'string' || f.name === '') return invalid('each function tool needs a name', 'tools');
    fns.push({ name: f.name, parameters: f.parameters ?? { type: 'object', properties: {} } });
  }
  if (fns.length === 0 || choice === 'none') return null;
  if (choice === undefined || choice === null || choice === 'auto' || choice === 'required') return fns[0]!;
  if (isObject(choice)) {
    const name = flat ? choice.name : isObject(choice.function) ? choice.function.name : undefined;
    const found = fns.find((f) => f.name === name);
    if (!found) return invalid(`tool_choice names a function that is not in tools: ${String(name)}`, 'tool_choice');
    return found;
  }
  return invalid('tool_choice must be "none", "auto", "required" or a named function', 'tool_choice');
}

/** The tool call for `tool`, cut to `maxTokens` (one token for the name, one per argument piece). */
export function planToolCall(tool: FunctionTool, maxTokens: number, idPrefix = 'chatcmpl-tool'): { call: ToolCallPlan; tokens: number; cut: boolean } {
  const all = tokenize(pyJson(valueFor(tool.parameters)));
  const room = Math.max(0, maxTokens - 1);
  const argPieces = all.length > room ? all.slice(0, room) : all;
  return { call: { id: `${idPrefix}-${randomHex(16)}`, name: tool.name, argPieces }, tokens: 1 + argPieces.length, cut: all.length > room };
}

/** The text the format asks for: JSON for json_object/json_schema, else null (plain text). */
export function formattedText(format: unknown, input: string): string | null | Invalid {
  if (format === undefined || format === null) return null;
  if (!isObject(format)) return invalid('response_format must be an object', 'response_format');
  if (format.type === 'text') return null;
  if (format.type === 'json_object') return pyJson({ response: summarize(input) });
  if (format.type === 'json_schema') {
    const js = format.json_schema;
    // Chat nests {name, schema} under json_schema; the Responses API's text.format is flat.
    const schema = isObject(js) ? js.schema : format.schema;
    if (!isObject(schema)) return invalid('response_format.json_schema.schema must be an object', 'response_format');
    return pyJson(valueFor(schema));
  }
  return invalid('response_format.type must be "text", "json_object" or "json_schema"', 'response_format');
}

interface Prompt { input: string; promptTokens: number; pieces: string[] | null }

/** The text to answer and the prompt's tokens, or why the request is invalid. */
function readPrompt(kind: CompletionKind, body: Record<string, unknown>, wantPieces: boolean): Prompt | Invalid {
  if (kind === 'chat') {
    const msgs = body.messages;
    if (!Array.isArray(msgs) || msgs.length === 0) return invalid('messages must be a non-empty array', 'messages');
    if (!msgs.every((m) => isObject(m) && typeof m.role === 'string')) return invalid('each message must be an object with a role', 'messages');
    const messages = msgs as PromptMessage[];
    let lastUser: PromptMessage | undefined;
    for (let i = messages.length - 1; i >= 0 && !lastUser; i--) if (messages[i]!.role === 'user') lastUser = messages[i];
    const pieces = chatPromptPieces(messages, body.tools);
    return { input: lastUser ? contentText(lastUser.content) : '', promptTokens: pieces.length, pieces };
  }
  const p = body.prompt;
  if (typeof p === 'string') return { input: p, promptTokens: countTokens(p), pieces: wantPieces ? tokenize(p) : null };
  if (isTokenArray(p) && p.length > 0) return { input: '', promptTokens: p.length, pieces: wantPieces ? p.map(String) : null };
  if (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string')) {
    const parts = p as string[];
    return { input: parts.join(' '), promptTokens: parts.reduce((n, s) => n + countTokens(s), 0), pieces: wantPieces ? parts.flatMap(tokenize) : null };
  }
  if (Array.isArray(p) && p.length > 0 && p.every(isTokenArray)) {
    return { input: '', promptTokens: (p as number[][]).reduce((n, a) => n + a.length, 0), pieces: wantPieces ? (p as number[][]).flat().map(String) : null };
  }
  return invalid('prompt must be a string, an array of strings, or token ids', 'prompt');
}

/** usage for `prompt` prompt tokens (of which `cached` from the prefix cache, reported only when > 0) and `completion` tokens. */
export function usageOf(prompt: number, completion: number, cached: number | null): Usage {
  const u: Usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  if (cached) u.prompt_tokens_details = { cached_tokens: cached };
  return u;
}

function readLogprobs(kind: CompletionKind, body: Record<string, unknown>): number | null | Invalid {
  if (kind === 'chat') {
    if (body.logprobs !== true) return null;
    const top = body.top_logprobs ?? 0;
    if (typeof top !== 'number' || !Number.isInteger(top) || top < 0 || top > 20) return invalid('top_logprobs must be an integer from 0 to 20', 'top_logprobs');
    return top;
  }
  const n = body.logprobs;
  if (n === undefined || n === null || n === false) return null;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 20) return invalid('logprobs must be an integer from 0 to 20', 'logprobs');
  return n;
}

/** The plan for a chat or completions request against `model`, or why it is invalid. */
export function planCompletion(kind: CompletionKind, body: Record<string, unknown>, model: string, ctx: PlanContext): Plan | Invalid {
  const prompt = readPrompt(kind, body, ctx.cache !== null);
  if ('message' in prompt) return prompt;
  const { input, promptTokens } = prompt;

  const param = body.max_tokens != null ? 'max_tokens' : 'max_completion_tokens';
  const requested = body[param];
  if (requested != null && !(typeof requested === 'number' && Number.isInteger(requested) && requested >= 1)) {
    return invalid(`${param} must be an integer of at least 1`, param);
  }
  const remaining = ctx.maxModelLen - promptTokens;
  if (remaining < 1) {
    return invalid(`This model's maximum context length is ${ctx.maxModelLen} tokens. However, your prompt has ${promptTokens} tokens. Please reduce the length of the prompt.`, kind === 'chat' ? 'messages' : 'prompt', 'context_length_exceeded');
  }
  const logprobs = readLogprobs(kind, body);
  if (isObject(logprobs)) return logprobs as Invalid;
  const maxTokens = Math.min(typeof requested === 'number' ? requested : DEFAULT_MAX_TOKENS, remaining);

  let pieces: string[] = [];
  let toolCall: ToolCallPlan | null = null;
  let finishReason: FinishReason;
  let completionTokens: number;
  const tool = kind === 'chat' ? pickTool(body.tools, body.tool_choice) : null;
  if (tool && 'message' in tool) return tool;
  if (tool) {
    const t = planToolCall(tool, maxTokens);
    toolCall = t.call;
    completionTokens = t.tokens;
    finishReason = t.cut ? 'length' : 'tool_calls';
  } else {
    const json = kind === 'chat' ? formattedText(body.response_format, input) : null;
    if (isObject(json)) return json as Invalid;
    const g = typeof json === 'string'
      ? (() => { const all = tokenize(json); return all.length > maxTokens ? { pieces: all.slice(0, maxTokens), finishReason: 'length' as const } : { pieces: all, finishReason: 'stop' as const }; })()
      : generate(input, maxTokens);
    pieces = g.pieces;
    finishReason = g.finishReason;
    completionTokens = pieces.length;
  }
  const cached = ctx.cache && prompt.pieces ? ctx.cache.lookupAndInsert(model, prompt.pieces) : null;
  const opts = body.stream_options;
  return {
    kind, id: newId(kind === 'chat' ? 'chatcmpl' : 'cmpl'), model, created: Math.floor(Date.now() / 1000),
    pieces, toolCall, finishReason, logprobs: logprobs as number | null,
    usage: usageOf(promptTokens, completionTokens, cached),
    stream: body.stream === true,
    includeUsage: isObject(opts) && opts.include_usage === true,
  };
}

/** The chat message's tool call, whole. */
export function toolCallJson(t: ToolCallPlan): Record<string, unknown> {
  return { id: t.id, type: 'function', function: { name: t.name, arguments: t.argPieces.join('') } };
}

/** The non-streaming JSON body, as vLLM answers it. */
export function completionBody(p: Plan): string {
  const text = p.pieces.join('');
  if (p.kind === 'chat') {
    const message = p.toolCall
      ? { role: 'assistant', content: null, tool_calls: [toolCallJson(p.toolCall)] }
      : { role: 'assistant', content: text };
    const logprobs = p.logprobs === null || p.toolCall ? null : { content: p.pieces.map((x) => chatLogprob(x, p.logprobs!)) };
    return JSON.stringify({ id: p.id, object: 'chat.completion', created: p.created, model: p.model,
      choices: [{ index: 0, message, logprobs, finish_reason: p.finishReason }], usage: p.usage });
  }
  const logprobs = p.logprobs === null ? null : completionLogprobs(p.pieces, p.logprobs);
  return JSON.stringify({ id: p.id, object: 'text_completion', created: p.created, model: p.model,
    choices: [{ index: 0, text, logprobs, finish_reason: p.finishReason }], usage: p.usage });
}
