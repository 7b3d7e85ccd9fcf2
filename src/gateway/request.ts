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
  readonly maxTokens: number | null;
  /** An upper bound on prompt tokens (one per body byte), for reservations. */
  readonly promptBound: number;
  /** A rough guess of prompt tokens (characters / 4), for billing when the upstream never reported usage. */
  readonly promptGuess: number;
  readonly body: Readonly<Record<string, unknown>>;
}

const bad = (message: string, param: string | null = null) => new GatewayError('invalid_request_error', message, param);

function optionalPositiveInt(body: Record<string, unknown>, field: string): number | null {
  const v = body[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw bad(`'${field}' must be a positive integer`, field);
  return v;
}

function textLength(v: unknown): number {
  if (typeof v === 'string') return v.length;
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + textLength(x), 0);
  if (v && typeof v === 'object') return textLength((v as { text?: unknown; content?: unknown }).text ?? (v as { content?: unknown }).content);
  return typeof v === 'number' ? 1 : 0;
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
  if (typeof b.model !== 'string' || b.model === '') throw bad("'model' is required and must be a string", 'model');
  const stream = b.stream ?? false;
  if (typeof stream !== 'boolean') throw bad("'stream' must be a boolean", 'stream');
  let text = 0;
  if (endpoint === 'chat') {
    if (!Array.isArray(b.messages) || b.messages.length === 0) throw bad("'messages' must be a non-empty array", 'messages');
    b.messages.forEach((m, i) => {
      if (!m || typeof m !== 'object' || typeof (m as { role?: unknown }).role !== 'string') {
        throw bad(`'messages[${i}]' must be an object with a string 'role'`, `messages[${i}]`);
      }
    });
    text = textLength(b.messages);
  } else if (endpoint === 'completions') {
    if (typeof b.prompt !== 'string' && !Array.isArray(b.prompt)) throw bad("'prompt' must be a string or an array", 'prompt');
    text = textLength(b.prompt);
  } else {
    if (stream) throw bad("'stream' is not supported for embeddings", 'stream');
    const input = b.input;
    if (!(typeof input === 'string' || (Array.isArray(input) && input.length > 0))) throw bad("'input' must be a string or a non-empty array", 'input');
    text = textLength(input);
  }
  const maxTokens = optionalPositiveInt(b, 'max_tokens') ?? optionalPositiveInt(b, 'max_completion_tokens');
  const so = b.stream_options;
  if (so !== undefined && so !== null && (typeof so !== 'object' || Array.isArray(so))) throw bad("'stream_options' must be an object", 'stream_options');
  const includeUsage = stream && !!so && (so as { include_usage?: unknown }).include_usage === true;
  return {
    endpoint, model: b.model, stream, includeUsage, maxTokens,
    promptBound: raw.length, promptGuess: Math.ceil(text / 4) + 1, body: b,
  };
}

/** The body sent to one deployment: its model name, and usage always requested when streaming. */
export function upstreamBody(r: ClientRequest, upstreamModel: string): string {
  if (!r.stream) return JSON.stringify({ ...r.body, model: upstreamModel });
  const so = (r.body.stream_options as Record<string, unknown> | undefined) ?? {};
  return JSON.stringify({ ...r.body, model: upstreamModel, stream_options: { ...so, include_usage: true } });
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
    req.on('error', reject);
  });
}
