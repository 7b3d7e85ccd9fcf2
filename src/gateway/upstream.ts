/**
 * @module The upstream client: one keep-alive undici Pool per origin, reused
 * across snapshot reloads, and one function that sends a compiled request to
 * an OpenAI-compatible base URL. The stack router uses it too.
 */
import { Pool, type Dispatcher } from 'undici';

export interface UpstreamTarget { url: string; token: string | null; timeoutMs: number }

interface Base { origin: string; prefix: string }

export class UpstreamClients {
  private readonly pools = new Map<string, Pool>();
  private readonly bases = new Map<string, Base>();

  constructor(private readonly connections = 256) {}

  private base(url: string): Base {
    let b = this.bases.get(url);
    if (!b) {
      const u = new URL(url);
      b = { origin: u.origin, prefix: u.pathname.replace(/\/+$/, '') };
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

  /** POSTs (or GETs when body is null) `path` under the target's base URL. */
  send(t: UpstreamTarget, path: string, body: string | null, signal: AbortSignal, accept = 'application/json'): Promise<Dispatcher.ResponseData> {
    const b = this.base(t.url);
    const headers: Record<string, string> = { accept };
    if (body !== null) headers['content-type'] = 'application/json';
    if (t.token) headers.authorization = `Bearer ${t.token}`;
    return this.pool(b.origin).request({
      path: b.prefix + path,
      method: body === null ? 'GET' : 'POST',
      headers,
      body,
      signal,
      headersTimeout: t.timeoutMs,
      bodyTimeout: t.timeoutMs,
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => {})));
    this.pools.clear();
  }
}
