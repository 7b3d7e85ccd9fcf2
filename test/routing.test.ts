/**
 * Routing: failover before the first byte, the circuit breaker, per-deployment
 * timeouts, and upstream errors mapped to 502/504 in OpenAI format.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer as createHttpServer } from 'node:http';
import { startSimulator, type RunningSimulator } from '../src/simulator/server.js';
import { provision, startSystem, type System } from './helpers/system.js';
import { freePort as closedPort } from './helpers/net.js';


describe('routing across deployments', () => {
  let sys: System;
  let failing: RunningSimulator;
  let slow: RunningSimulator;
  beforeAll(async () => {
    sys = await startSystem('postgres');
    failing = await startSimulator({ port: 0, host: '127.0.0.1', servedModelName: 'llama32-fp8', faultRate: 1, faultKind: '503', quiet: true });
    slow = await startSimulator({ port: 0, host: '127.0.0.1', servedModelName: 'llama32-fp8', ttftMs: 2000, quiet: true });
  });
  afterAll(async () => { await sys?.close(); await failing?.close(); await slow?.close(); });

  async function modelWith(id: string, deployments: unknown[]) {
    const r = await sys.admin('POST', '/admin/models', { id, inputPricePer1M: 1, outputPricePer1M: 1, deployments });
    expect(r.status).toBe(201);
    const p = await provision(sys);
    await sys.admin('POST', `/admin/users/${p.userId}/subscriptions`, { modelId: id });
    await sys.admin('PATCH', `/admin/api-keys/${p.keyId}`, { models: [id] });
    return p;
  }
  const call = async (key: string, model: string) => {
    const res = await fetch(`${sys.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Failover. Works.' }], max_tokens: 4 }),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('fails over when a deployment is down or answers 503, and opens its circuit', async () => {
    const dead = await closedPort();
    const p = await modelWith('ha-model', [
      { url: `http://127.0.0.1:${dead}/v1`, upstreamModel: 'llama32-fp8' },
      { url: `${failing.url}/v1`, upstreamModel: 'llama32-fp8' },
      { url: `${sys.sim.url}/v1`, upstreamModel: 'llama32-fp8' },
    ]);
    const before = failing.stats.requests;
    for (let i = 0; i < 30; i++) expect((await call(p.key, 'ha-model')).status).toBe(200);
    // After 5 failures the 503 deployment's circuit opens: it is not tried for every request.
    expect(failing.stats.requests - before).toBeLessThanOrEqual(6);
  });

  it('answers 502 in OpenAI format when every deployment fails', async () => {
    const p = await modelWith('down-model', [{ url: `${failing.url}/v1`, upstreamModel: 'llama32-fp8' }]);
    const r = await call(p.key, 'down-model');
    expect(r.status).toBe(502);
    expect(r.body.error.code).toBe('upstream_error');
    expect(JSON.stringify(r.body)).not.toMatch(/at .*\.js:\d+/); // no stack trace
  });

  it('relays and bills a pretty-printed (non-vLLM) JSON answer', async () => {
    const pretty = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const body = JSON.stringify({ id: 'x', object: 'chat.completion', model: 'upstream-name', choices: [{ index: 0, message: { role: 'assistant', content: 'Hi "usage":{ there' }, finish_reason: 'stop' }], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } }, null, 2);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(body);
      });
    });
    await new Promise<void>((r) => pretty.listen(0, '127.0.0.1', r));
    try {
      const p = await modelWith('pretty-model', [{ url: `http://127.0.0.1:${(pretty.address() as { port: number }).port}/v1`, upstreamModel: 'upstream-name' }]);
      const r = await call(p.key, 'pretty-model');
      expect(r.status).toBe(200);
      expect(r.body.model).toBe('pretty-model');
      expect(r.body.usage).toEqual({ prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
      expect(r.body.choices[0].message.content).toBe('Hi "usage":{ there');
      await sys.server.ledger.drain();
      const s = await sys.admin('GET', `/admin/usage/summary?groupBy=key&keys=${p.keyId}`);
      expect(s.body.totals).toMatchObject({ requests: 1, promptTokens: 11, completionTokens: 7 });
    } finally {
      await new Promise((r) => pretty.close(r));
    }
  });

  it('answers 504 when a deployment exceeds its timeout', async () => {
    const p = await modelWith('slow-model', [{ url: `${slow.url}/v1`, upstreamModel: 'llama32-fp8', timeoutMs: 300 }]);
    const t0 = Date.now();
    const r = await call(p.key, 'slow-model');
    expect(r.status).toBe(504);
    expect(r.body.error.code).toBe('upstream_timeout');
    expect(Date.now() - t0).toBeLessThan(1900);
  });
});
