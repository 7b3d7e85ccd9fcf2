/**
 * @module The upstream client: one keep-alive undici Pool per origin, reused
 * across snapshot reloads, driven through `dispatch` with a small handler
 * rather than `request`: no Readable, no AbortSignal and no async resource per
 * call, which the gateway's hot path measurably pays for. The stack router
 * uses it too.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Pool, type Dispatcher } from 'undici';

export interface UpstreamTarget { url: string; token: string | null; timeoutMs: number }

/** Where an exchange delivers its body once someone consumes it. */
export interface BodySink { data(chunk: Buffer): void; end(): void; error(err: Error): void }

/**
 * One request/response with an upstream. `started` settles when the status
 * line arrives (or the call fails first); the body is buffered until
 * `consume()` attaches a sink, then delivered as it arrives.
 */
export class Exchange implements Dispatcher.DispatchHandler {
  status = 0;
  headers: IncomingHttpHeaders = {};
  error: Error | null = null;
  readonly started: Promise<void>;
  private resolveStarted!: () => void;
  private controller: Dispatcher.DispatchController | null = null;
  private pendingAbort: Error | null = null;
  private sink: BodySink | null = null;
  private chunks: Buffer[] = [];
  private ended = false;

  constructor() {
    this.started = new Promise((r) => (this.resolveStarted = r));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.pendingAbort) controller.abort(this.pendingAbort);
  }
  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    this.status = status;
    this.headers = headers;
    this.resolveStarted();
  }
  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.sink) this.sink.data(chunk); else this.chunks.push(chunk);
  }
  onResponseEnd(): void {
    this.ended = true;
    this.sink?.end();
  }
  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (this.error) return;
    this.error = err;
    this.resolveStarted();
    this.sink?.error(err);
  }

  consume(sink: BodySink): void {
    this.sink = sink;
    for (const c of this.chunks) sink.data(c);
    this.chunks = [];
    if (this.error) sink.error(this.error);
    else if (this.ended) sink.end();
  }

  abort(reason: Error): void {
    if (this.controller) this.controller.abort(reason); else this.pendingAbort = reason;
  }
  pause(): void { this.controller?.pause(); }
  resume(): void { this.controller?.resume(); }
}

/** Collects a whole body. */
export function readBody(x: Exchange): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    x.consume({
      data: (c) => parts.push(c),
      end: () => resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts)),
      error: reject,
    });
  });
}

interface Base { origin: string; prefix: string; root: string }

/** What a call needs beyond a path and body: its method, the body's type, and whether the path is under the server's root rather than the base URL. */
export interface SendOptions { method?: 'GET' | 'POST' | 'DELETE'; contentType?: string; atRoot?: boolean }

export class UpstreamClients {
  private readonly pools = new Map<string, Pool>();
  private readonly bases = new Map<string, Base>();

  constructor(private readonly connections = 256) {}

  private base(url: string): Base {
    let b = this.bases.get(url);
    if (!b) {
      const u = new URL(url);
      const prefix = u.pathname.replace(/\/+$/, '');
      // vLLM serves a few paths (/tokenize) at its root, beside its /v1 base.
      b = { origin: u.origin, prefix, root: prefix.replace(/\/v1$/, '') };
      this.bases.set(url, b);
    }
    return b;
  }

  private pool(origin: string): Pool {
    let p = this.pools.get(origin);
    if (!p) {
      p = new Pool(origin, { connections: this.connections, pipelining: 1, keepAliveTimeout: 30_000 });
      this.pools.set(origin, p);
    }
    return p;
  }

  /** POSTs (or GETs when body is null, unless `o.method` says) `path` under the target's base URL. */
  send(t: UpstreamTarget, path: string, body: string | Buffer | null, accept = 'application/json', o: SendOptions = {}): Exchange {
    const b = this.base(t.url);
    const headers: Record<string, string> = { accept };
    if (body !== null) headers['content-type'] = o.contentType ?? 'application/json';
    if (t.token) headers.authorization = `Bearer ${t.token}`;
    const x = new Exchange();
    this.pool(b.origin).dispatch({
      path: (o.atRoot ? b.root : b.prefix) + path,
      method: o.method ?? (body === null ? 'GET' : 'POST'),
      headers,
      body,
      headersTimeout: t.timeoutMs,
      bodyTimeout: t.timeoutMs,
    }, x);
    return x;
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => {})));
    this.pools.clear();
  }
}
