/**
 * One tenant cannot take a model away from everyone: long generations that
 * time out are the request's own failure, not the deployment's, so the
 * breaker stays closed for others; a deployment that answers nothing at all
 * is still found out and skipped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { isDeploymentFault } from '../src/gateway/route.js';
import { provision, startSystem, type System } from './helpers/system.js';

/** An upstream whose non-streamed answers take 10 ms per requested token (a slow model); or one that never answers. */
function upstream(hung: boolean): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      if (hung) return; // accepts, reads, never answers
      const body = JSON.parse(raw);
      const tokens = body.max_tokens ?? 16;
      const t = setTimeout(() => {
        const out = JSON.stringify({ id: 'x', object: 'chat.completion', model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: 'ok '.repeat(tokens) }, finish_reason: 'length' }], usage: { prompt_tokens: 3, completion_tokens: tokens, total_tokens: 3 + tokens } });
        res.writeHead(200, { 'content-type': 'application/json' }).end(out);
      }, tokens * 10);
      res.on('close', () => clearTimeout(t));
    });
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1` })));
}

describe('circuit breaker', () => {
  it('counts deployment faults, not a long generation', () => {
    expect(isDeploymentFault({ kind: 'connect' })).toBe(true);
    expect(isDeploymentFault({ kind: 'status', status: 503 })).toBe(true);
    expect(isDeploymentFault({ kind: 'status', status: 400 })).toBe(false);
    expect(isDeploymentFault({ kind: 'stream-broken' })).toBe(true);
    expect(isDeploymentFault({ kind: 'client-gone' })).toBe(false);
    expect(isDeploymentFault({ kind: 'first-byte-timeout', stream: true, answeredSinceSent: true })).toBe(true);
    expect(isDeploymentFault({ kind: 'first-byte-timeout', stream: false, answeredSinceSent: true })).toBe(false);
    expect(isDeploymentFault({ kind: 'first-byte-timeout', stream: false, answeredSinceSent: false })).toBe(true);
  });

  let sys: System;
  let slow: { server: Server; url: string };
  let hung: { server: Server; url: string };
  beforeAll(async () => {
    sys = await startSystem('pglite');
    slow = await upstream(false);
    hung = await upstream(true);
  });
  afterAll(async () => {
    await sys?.close();
    for (const u of [slow, hung]) { u?.server.closeAllConnections(); await new Promise((r) => u?.server.close(r)); }
  });

  const call = async (key: string, model: string, maxTokens: number) => {
    const res = await fetch(`${sys.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: maxTokens }),
    });
    await res.arrayBuffer();
    return res.status;
  };

  async function modelOn(id: string, url: string) {
    expect((await sys.admin('POST', '/admin/models', { id, inputPricePer1M: 1, outputPricePer1M: 1, contextLength: 8192, deployments: [{ url, upstreamModel: 'slow', timeoutMs: 400 }] })).status).toBe(201);
    const keys = [];
    for (let i = 0; i < 2; i++) {
      const p = await provision(sys);
      await sys.admin('POST', `/admin/users/${p.userId}/subscriptions`, { modelId: id });
      await sys.admin('PATCH', `/admin/api-keys/${p.keyId}`, { models: [id] });
      keys.push(p.key);
    }
    return keys as [string, string];
  }

  it("keeps serving other tenants while one tenant's long requests time out", async () => {
    const [heavy, light] = await modelOn('slow-model', slow.url);
    let stop = false;
    const lightStatuses: number[] = [];
    const lightLoop = (async () => { while (!stop) lightStatuses.push(await call(light, 'slow-model', 4)); })();
    const heavyStatuses = await Promise.all(Array.from({ length: 8 }, () => call(heavy, 'slow-model', 1000)));
    for (let i = 0; i < 5; i++) lightStatuses.push(await call(light, 'slow-model', 4));
    stop = true;
    await lightLoop;
    expect(heavyStatuses).toEqual(Array(8).fill(504));
    expect(lightStatuses.length).toBeGreaterThan(5);
    expect(new Set(lightStatuses)).toEqual(new Set([200]));
  });

  it('still opens the circuit of a deployment that answers nothing', async () => {
    const [key] = await modelOn('hung-model', hung.url);
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push(await call(key, 'hung-model', 4));
    expect(statuses.slice(0, 5)).toEqual(Array(5).fill(504));
    expect(statuses[5]).toBe(503); // open: refused at once instead of waiting out another timeout
  });
});
