/**
 * @module Relaying one upstream answer to the client: the status, the
 * upstream's `Retry-After` and `x-request-id`, and the body with every
 * `model` naming the stack's id instead of the upstream's name — in a JSON
 * body, and in each SSE event's JSON (an OpenAI chunk's `model`, a Responses
 * event's `response.model`), event names kept. Streams go event by event
 * with backpressure; error bodies pass through as the upstream wrote them.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import type { Exchange } from '../gateway/upstream.js';
import { GatewayError } from '../gateway/errors.js';
import { SseReader, formatEvent, type SseEvent } from '../gateway/sse.js';

/** Upstream response headers a client needs: when to retry, and which request to quote to the operator. */
const RELAYED_HEADERS = ['retry-after', 'x-request-id'] as const;

export function relayedHeaders(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of RELAYED_HEADERS) {
    const v = h[k];
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v) && v[0] !== undefined) out[k] = v[0];
  }
  return out;
}

/** Renames `model` (top level, and `response.model` of a Responses event) in place; true when something changed. */
export function renameModel(obj: unknown, id: string): boolean {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return false;
  const o = obj as Record<string, unknown>;
  let changed = false;
  if (typeof o.model === 'string' && o.model !== id) { o.model = id; changed = true; }
  const r = o.response;
  if (r && typeof r === 'object' && !Array.isArray(r) && typeof (r as Record<string, unknown>).model === 'string'
    && (r as Record<string, unknown>).model !== id) {
    (r as Record<string, unknown>).model = id;
    changed = true;
  }
  return changed;
}

/** A non-streamed upstream body is buffered to be rewritten; beyond this it is not a model's answer. */
export const MAX_UPSTREAM_JSON = 64 * 1024 * 1024;

/** The whole upstream body, refused past MAX_UPSTREAM_JSON (declared or counted). */
export function readUpstream(x: Exchange): Promise<Buffer> {
  const tooLarge = (n: number) => {
    x.abort(new Error('too large'));
    return new GatewayError('upstream_error', `The model server's answer is over ${n} bytes; the stack relays at most ${MAX_UPSTREAM_JSON}.`);
  };
  const declared = Number(x.headers['content-length'] ?? 0);
  if (declared > MAX_UPSTREAM_JSON) return Promise.reject(tooLarge(declared));
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let failed = false;
    x.consume({
      data: (c) => {
        if (failed) return;
        size += c.length;
        if (size > MAX_UPSTREAM_JSON) { failed = true; reject(tooLarge(MAX_UPSTREAM_JSON)); return; }
        parts.push(c);
      },
      end: () => { if (!failed) resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts)); },
      error: (e) => { if (!failed) { failed = true; reject(new GatewayError('upstream_error', `The model server's answer broke off (${(e as { code?: string }).code ?? e.message}).`)); } },
    });
  });
}

export function isEventStream(h: IncomingHttpHeaders): boolean {
  return String(h['content-type'] ?? '').toLowerCase().startsWith('text/event-stream');
}

export function isOk(status: number): boolean { return status >= 200 && status < 300; }

/** Parsed JSON or undefined. */
export function parseJson(text: string): unknown {
  try { return JSON.parse(text); } catch { return undefined; }
}

/**
 * Relays a started exchange: an error answer as it came, a JSON answer with
 * its model renamed, an SSE answer event by event. `onJson`/`onEvent` see
 * each parsed body or event first (the Responses relay learns ids there).
 */
export async function relayExchange(res: ServerResponse, x: Exchange, id: string,
  hooks: { onJson?: (body: unknown) => void; onEvent?: (data: unknown) => void } = {}): Promise<void> {
  const headers: Record<string, string> = { ...relayedHeaders(x.headers), 'content-type': String(x.headers['content-type'] ?? 'application/json') };
  if (isOk(x.status) && isEventStream(x.headers)) return relaySse(res, x, id, headers, hooks.onEvent);
  const raw = await readUpstream(x);
  let out: Buffer | string = raw;
  if (isOk(x.status)) {
    const body = parseJson(raw.toString('utf8'));
    if (body !== undefined) {
      hooks.onJson?.(body);
      if (renameModel(body, id)) out = JSON.stringify(body);
    }
  }
  headers['content-length'] = String(Buffer.byteLength(out));
  res.writeHead(x.status, headers);
  res.end(out);
}

/**
 * Reads an upstream SSE body event by event; `each` gets every event, `done`
 * runs once at the end of the body. A broken body destroys the client's
 * response (the client sees the stream stop, never a made-up ending), unless
 * `broken` writes an ending that says so.
 */
export function consumeSse(res: ServerResponse, x: Exchange, each: (e: SseEvent, write: (text: string) => void) => void, done: () => void,
  broken?: (write: (text: string) => void) => void): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let paused = false;
  // The upstream waits while the client's socket is full.
  const write = (text: string) => {
    if (!res.write(text) && !paused && !res.destroyed) {
      paused = true;
      x.pause();
      res.once('drain', () => { paused = false; x.resume(); });
    }
  };
  return new Promise<void>((resolve) => {
    let failed = false;
    const fail = () => {
      if (!failed) {
        failed = true;
        x.abort(new Error('relay failed'));
        if (broken && !res.destroyed) { broken(write); res.end(); } else res.destroy();
      }
      resolve();
    };
    const reader = new SseReader((e) => { if (!failed) each(e, write); });
    x.consume({
      data: (c) => {
        if (failed) return;
        try { reader.push(decoder.write(c)); } catch { fail(); }
      },
      end: () => {
        if (failed) return resolve();
        try { reader.push(decoder.end()); reader.end(); done(); } catch { return fail(); }
        resolve();
      },
      error: () => fail(),
    });
  });
}

function relaySse(res: ServerResponse, x: Exchange, id: string, headers: Record<string, string>, onEvent?: (data: unknown) => void): Promise<void> {
  res.writeHead(x.status, { ...headers, 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  res.flushHeaders();
  return consumeSse(res, x, (e, write) => {
    let data = e.data;
    if (data !== '[DONE]') {
      const obj = parseJson(data);
      if (obj !== undefined) {
        onEvent?.(obj);
        if (renameModel(obj, id)) data = JSON.stringify(obj);
      }
    }
    write(formatEvent(data, e.event));
  }, () => res.end());
}
