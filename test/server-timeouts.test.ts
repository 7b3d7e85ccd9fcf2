/**
 * Slow clients cannot hold connections: a request whose headers or body
 * trickle in is cut at the configured timeouts (checked every second), on
 * the gateway and the portal alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { createServer, type Server } from 'node:http';
import { provision, startSystem, type Provisioned, type System } from './helpers/system.js';

/** Opens a connection, writes `head`, then sends nothing more; resolves with what came back and when the server closed it. */
function trickle(url: string, head: string): Promise<{ ms: number; reply: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    let reply = '';
    const s = connect(Number(u.port), u.hostname, () => s.write(head));
    s.setEncoding('utf8');
    s.on('data', (d) => (reply += d));
    s.on('error', () => {});
    s.on('close', () => resolve({ ms: Date.now() - t0, reply }));
    setTimeout(() => { s.destroy(); reject(new Error('connection still open after 10 s')); }, 10_000).unref();
  });
}

describe('server timeouts', () => {
  let sys: System;
  let p: Provisioned;
  beforeAll(async () => {
    sys = await startSystem('pglite', { ttftMs: 3000 }, { headersTimeoutMs: 1000, requestTimeoutMs: 2000, stalledClientMs: 1000 }); // answers take longer than the request timeout
    p = await provision(sys);
  });
  afterAll(async () => { await sys?.close(); });

  it('cuts a client whose headers never finish', async () => {
    const r = await trickle(sys.url, 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n');
    expect(r.ms).toBeLessThan(4000);
    expect(r.reply).toMatch(/^HTTP\/1.1 408/);
  });

  it('cuts a client whose body never finishes, on the gateway and the portal', async () => {
    for (const path of ['/v1/chat/completions', '/api/v1/api-keys']) {
      const r = await trickle(sys.url, `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${p.key}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":`);
      expect(r.ms).toBeLessThan(5000);
      expect(r.ms).toBeGreaterThanOrEqual(1500);
    }
  });

  it('lets a slow answer take its time once the request is in', async () => {
    const res = await fetch(`${sys.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${p.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'Llama-3.2-3B-Instruct-FP8', messages: [{ role: 'user', content: 'One. Two. Three. Four.' }], max_tokens: 8 }),
    });
    expect(res.status).toBe(200);
  });

  it('cuts a streaming client that stops reading, aborts its upstream and bills it as a disconnect', async () => {
    // An upstream that streams 64 KiB events for as long as someone listens.
    let upstreamClosedAt = 0;
    const upstream: Server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const event = `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: 'llama32-fp8', choices: [{ index: 0, delta: { content: 'y'.repeat(64 * 1024) } }] })}\n\n`;
      const pump = () => { while (res.write(event)) { /* fill */ } };
      res.on('drain', pump);
      res.on('close', () => { upstreamClosedAt = Date.now(); });
      pump();
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const model = 'firehose';
    const url = `http://127.0.0.1:${(upstream.address() as { port: number }).port}/v1`;
    expect((await sys.admin('POST', '/admin/models', { id: model, inputPricePer1M: 1, outputPricePer1M: 1, contextLength: 1_000_000, deployments: [{ url, upstreamModel: 'llama32-fp8' }] })).status).toBe(201);
    await sys.admin('POST', `/admin/users/${p.userId}/subscriptions`, { modelId: model });
    await sys.admin('PATCH', `/admin/api-keys/${p.keyId}`, { models: ['Llama-3.2-3B-Instruct-FP8', model] });
    const body = JSON.stringify({ model, messages: [{ role: 'user', content: 'go' }], stream: true, max_tokens: 900_000 });
    const u = new URL(sys.url);
    const s = connect(Number(u.port), u.hostname, () => s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${p.key}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`));
    s.on('error', () => {});
    s.pause(); // reads nothing
    const t0 = Date.now();
    try {
      for (const deadline = t0 + 20_000; !upstreamClosedAt && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 100));
      expect(upstreamClosedAt).toBeGreaterThan(0);
      await sys.server.ledger.drain();
      const ev = await sys.server.store.db.selectFrom('usage_events').select(['status', 'estimated', 'completion_tokens']).where('model_id', '=', model).execute();
      expect(ev).toHaveLength(1);
      expect(ev[0]).toMatchObject({ status: 499, estimated: true });
      expect(ev[0]!.completion_tokens).toBeGreaterThan(0);
    } finally {
      s.destroy();
      upstream.closeAllConnections();
      await new Promise((r) => upstream.close(r));
    }
  });
});
