/**
 * @module Small node:http helpers for the simulator: JSON and OpenAI-format
 * error responses, and a bounded body reader. Kept framework-free because the
 * simulator is the upstream in benchmarks and must cost next to nothing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export function sendJson(res: ServerResponse, status: number, json: string, extra?: Record<string, string | number>): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json), ...extra });
  res.end(json);
}

/** OpenAI error types by status (what the official clients map to exception classes). */
const TYPES: Record<number, string> = {
  400: 'invalid_request_error', 401: 'invalid_request_error', 404: 'invalid_request_error', 405: 'invalid_request_error',
  413: 'invalid_request_error', 429: 'rate_limit_error', 500: 'server_error', 503: 'server_error',
};

/** `{"error":{"message","type","param","code"}}`; 429 carries `retry-after: 1`. */
export function sendError(res: ServerResponse, status: number, message: string, code: string, param: string | null = null): void {
  const json = JSON.stringify({ error: { message, type: TYPES[status] ?? 'invalid_request_error', param, code } });
  sendJson(res, status, json, status === 429 ? { 'retry-after': 1 } : undefined);
}

/** vLLM's own error body for the APIs it added (Responses, rerank, score, audio, tokenize): `code` is the HTTP status. */
export function sendVllmError(res: ServerResponse, status: number, message: string, type?: string, param: string | null = null): void {
  const t = type ?? (status === 404 ? 'NotFoundError' : status >= 500 ? 'InternalServerError' : 'BadRequestError');
  sendJson(res, status, JSON.stringify({ error: { message, type: t, param, code: status } }), status === 429 ? { 'retry-after': 1 } : undefined);
}

/** The Anthropic Messages API's error body, as vLLM translates its errors on /v1/messages. */
export function sendAnthropicError(res: ServerResponse, status: number, message: string, type = 'invalid_request_error'): void {
  sendJson(res, status, JSON.stringify({ type: 'error', error: { type, message } }), status === 429 ? { 'retry-after': 1 } : undefined);
}

export class BodyTooLarge extends Error {}

/** The request body as bytes, rejecting with BodyTooLarge beyond `limit` bytes. */
export function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) { reject(new BodyTooLarge()); return; }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) { req.removeAllListeners('data'); reject(new BodyTooLarge()); return; }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

/** The request body as a string, rejecting with BodyTooLarge beyond `limit` characters. */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) { reject(new BodyTooLarge()); return; }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > limit) { req.removeAllListeners('data'); reject(new BodyTooLarge()); }
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/** A header or body value as a non-negative number of milliseconds (capped at 10 min), or null. */
export function millis(v: unknown): number | null {
  if (v === undefined || v === null || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? Math.min(n, 600_000) : null;
}
