/**
 * @module Compile, then send: a client's /v1 request body is validated and
 * turned into an immutable description (endpoint, model, stream, limits)
 * before any I/O; the upstream body is produced from it per deployment.
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError } from './errors.js';

export type Endpoint = 'chat' | 'completions' | 'embeddings';

export const ENDPOINT_PATHS: Record<string, Endpoint> = {
  '/v1/chat/completions': 'chat',
  '/v1/completions': 'completions',
  '/v1/embeddings': 'embeddings',
};

export const UPSTREAM_PATH: Record<Endpoint, string> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
};

export interface ClientRequest {
  readonly endpoint: Endpoint;
  readonly model: string;
  readonly stream: boolean;
  /** The client asked for the final usage chunk (stream_options.include_usage). */
  readonly includeUsage: boolean;
  /** The larger of max_tokens and max_completion_tokens: upstreams differ in which one wins. */
  readonly maxTokens: number | null;
  /** Sequences the upstream may generate: max(n, best_of) for each prompt. */
  readonly choices: number;
  /** Prompts in the request (a /v1/completions prompt list has several). */
  readonly prompts: number;
  /** An upper bound on prompt tokens (one per body byte), for reservations. */
  readonly promptBound: number;
  /** A rough guess of prompt tokens (characters / 4), for billing when the upstream never reported usage. */
  readonly promptGuess: number;
  readonly body: Readonly<Record<string, unknown>>;
}

/** What a request may cost at most, once its model is known. */
export interface Bounds {
  /** Prompt tokens at most. */
  readonly prompt: number;
  /** Completion tokens at most, over all choices. */
  readonly completion: number;
  /** A per-choice max_tokens the gateway sends upstream because the model has no context length and the client set none (or only max_completion_tokens). */
  readonly injectMaxTokens: number | null;
}

/** Per choice, when neither the client nor the model's context length bounds the output (sent upstream as max_tokens). */
export const DEFAULT_MAX_COMPLETION = 4096;
/** Nesting deeper than this is refused: no API takes it, and serialising it would exhaust the stack. */
const MAX_DEPTH = 64;
const MAX_CHOICES = 128;

const bad = (message: string, param: string | null = null) => new GatewayError('invalid_request_error', message, param);

function optionalInt(body: Record<string, unknown>, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number | null {
  const v = body[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw bad(`'${field}' must be an integer from ${min} to ${max === Number.MAX_SAFE_INTEGER ? 'a safe integer' : max}`, field);
  }
  return v;
}

/**
 * One iterative walk of the body (a hostile body cannot overflow the stack):
 * whether anything nests deeper than `limit`, and the characters of every
 * string and number in it but `model`, a prompt guess that no field of the
 * body (tools, tool-call arguments, odd part shapes) can hide from.
 */
function walk(root: Record<string, unknown>, limit: number): { tooDeep: boolean; chars: number } {
  const values: unknown[] = [];
  const depths: number[] = [];
  let chars = 0;
  for (const k in root) if (k !== 'model') { values.push(root[k]); depths.push(1); }
  while (values.length) {
    const v = values.pop();
    const d = depths.pop()!;
    if (typeof v === 'string') { chars += v.length; continue; }
    if (typeof v === 'number') { chars += 1; continue; }
    if (v === null || typeof v !== 'object') continue;
    if (d > limit) return { tooDeep: true, chars };
    if (Array.isArray(v)) for (const x of v) { values.push(x); depths.push(d + 1); }
    else for (const k in v) { values.push((v as Record<string, unknown>)[k]); depths.push(d + 1); }
  }
  return { tooDeep: false, chars };
}

const PROMPT_SHAPES = "'prompt' must be a string, a non-empty array of strings, an array of token ids or an array of token-id arrays";

/** Prompts in a /v1/completions `prompt`: a string, a list of strings, a list of token ids, or a list of token-id lists. */
function promptCount(p: unknown): number {
  if (typeof p === 'string') return 1;
  if (!Array.isArray(p) || p.length === 0) throw bad(PROMPT_SHAPES, 'prompt');
  const isToken = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= 0;
  if (p.every(isToken)) return 1;
  if (p.every((x) => typeof x === 'string')) return p.length;
  if (p.every((x) => Array.isArray(x) && x.length > 0 && x.every(isToken))) return p.length;
  throw bad(PROMPT_SHAPES, 'prompt');
}

export function parseClientRequest(endpoint: Endpoint, raw: Buffer): ClientRequest {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw bad('The request body is not valid JSON.');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw bad('The request body must be a JSON object.');
  const b = body as Record<string, unknown>;
  const { tooDeep, chars } = walk(b, MAX_DEPTH);
  if (tooDeep) throw bad(`The request body nests deeper than ${MAX_DEPTH} levels.`);
  if (typeof b.model !== 'string' || b.model === '') throw bad("'model' is required and must be a string", 'model');
  const stream = b.stream ?? false;
  if (typeof stream !== 'boolean') throw bad("'stream' must be a boolean", 'stream');
  let prompts = 1;
  if (endpoint === 'chat') {
    if (!Array.isArray(b.messages) || b.messages.length === 0) throw bad("'messages' must be a non-empty array", 'messages');
    b.messages.forEach((m, i) => {
      if (!m || typeof m !== 'object' || typeof (m as { role?: unknown }).role !== 'string') {
        throw bad(`'messages[${i}]' must be an object with a string 'role'`, `messages[${i}]`);
      }
    });
  } else if (endpoint === 'completions') {
    prompts = promptCount(b.prompt);
  } else {
    if (stream) throw bad("'stream' is not supported for embeddings", 'stream');
    const input = b.input;
    if (!(typeof input === 'string' || (Array.isArray(input) && input.length > 0))) throw bad("'input' must be a string or a non-empty array", 'input');
    // Each input is embedded on its own, up to the context each: the prompt bound counts them.
    prompts = typeof input === 'string' || input.every((x) => typeof x === 'number') ? 1 : input.length;
  }
  let choices = 1;
  if (endpoint !== 'embeddings') {
    // Every field that multiplies what the upstream generates: n sequences returned, best_of generated.
    const n = optionalInt(b, 'n', 1, MAX_CHOICES) ?? 1;
    const bestOf = optionalInt(b, 'best_of', 1, MAX_CHOICES);
    if (bestOf !== null && bestOf < n) throw bad("'best_of' must be at least 'n'", 'best_of');
    choices = Math.max(n, bestOf ?? 1) * prompts;
  }
  const mt = optionalInt(b, 'max_tokens', 1);
  const mct = optionalInt(b, 'max_completion_tokens', 1);
  const maxTokens = mt === null ? mct : mct === null ? mt : Math.max(mt, mct);
  const so = b.stream_options;
  if (so !== undefined && so !== null && (typeof so !== 'object' || Array.isArray(so))) throw bad("'stream_options' must be an object", 'stream_options');
  const includeUsage = stream && !!so && (so as { include_usage?: unknown }).include_usage === true;
  return {
    endpoint, model: b.model, stream, includeUsage, maxTokens, choices, prompts,
    promptBound: raw.length, promptGuess: Math.ceil(chars / 4) + 1, body: b,
  };
}

/**
 * The most a request can generate on a model: per choice the client's max
 * (capped by the context length), else what the context leaves after a
 * one-token prompt, else a default the gateway itself sends upstream, so the upstream
 * can never generate more than was reserved.
 */
export function requestBounds(r: ClientRequest, contextLength: number | null): Bounds {
  const prompt = contextLength ? Math.min(r.promptBound, contextLength * r.prompts) : r.promptBound;
  if (r.endpoint === 'embeddings') return { prompt, completion: 0, injectMaxTokens: null };
  let perChoice: number;
  let injectMaxTokens: number | null = null;
  if (r.maxTokens !== null) {
    perChoice = contextLength ? Math.min(r.maxTokens, contextLength) : r.maxTokens;
    // Only max_completion_tokens, and no context to cap it: an upstream that reads only max_tokens must be bounded too.
    if (!contextLength && (r.body.max_tokens === undefined || r.body.max_tokens === null)) injectMaxTokens = r.maxTokens;
  }
  // Prompt and output share the context, and a prompt has at least one token; a guess of the prompt's length could undercount.
  else if (contextLength) perChoice = Math.max(1, contextLength - 1);
  else perChoice = injectMaxTokens = DEFAULT_MAX_COMPLETION;
  return { prompt, completion: perChoice * r.choices, injectMaxTokens };
}

/** The body sent to one deployment: its model name, usage always requested when streaming, and the gateway's max_tokens when it set one. */
export function upstreamBody(r: ClientRequest, upstreamModel: string, injectMaxTokens: number | null = null): string {
  const extra = injectMaxTokens === null ? null : { max_tokens: injectMaxTokens };
  if (!r.stream) {
    if (r.body.stream_options === undefined) return JSON.stringify({ ...r.body, ...extra, model: upstreamModel });
    // vLLM refuses stream_options without stream, quoting the whole body (our upstream model name included) in its 400.
    const { stream_options: _dropped, ...rest } = r.body;
    return JSON.stringify({ ...rest, ...extra, model: upstreamModel });
  }
  const so = (r.body.stream_options as Record<string, unknown> | undefined) ?? {};
  return JSON.stringify({ ...r.body, ...extra, model: upstreamModel, stream_options: { ...so, include_usage: true } });
}

/** A request body up to `limit` bytes; beyond it, `request_too_large` (the rest is drained, not buffered). */
export function readRequestBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    return Promise.reject(new GatewayError('request_too_large', `The request body is ${declared} bytes; the limit is ${limit}.`));
  }
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new GatewayError('request_too_large', `The request body exceeds the limit of ${limit} bytes.`));
        return;
      }
      parts.push(c);
    });
    req.on('end', () => resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts)));
    // A client that aborts its upload made the mistake: not an internal error.
    req.on('error', () => reject(new GatewayError('invalid_request_error', 'The request body could not be read to its end.')));
  });
}
