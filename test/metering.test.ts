/**
 * Money and limits on real PostgreSQL: exact cost, budgets under a race,
 * quotas, rpm, revocation within a second, failover, and billing of a
 * client that disconnects mid-stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import pg from 'pg';
import { MODEL, provision, settle, startSystem, type System } from './helpers/system.js';
import { fromPico, toPico } from '../src/shared/money.js';
import { startSimulator, type RunningSimulator } from '../src/simulator/server.js';

const IN = toPico('0.15') / 1_000_000n; // pico per token
const OUT = toPico('0.60') / 1_000_000n;

async function post(sys: System, key: string, body: Record<string, unknown>, path = '/v1/chat/completions') {
  const res = await fetch(sys.url + path, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

describe('metering on PostgreSQL', () => {
  let sys: System;
  let db: pg.Client;
  beforeAll(async () => {
    sys = await startSystem('postgres', { ttftMs: 0 });
    await provision(sys); // creates the model
    db = new pg.Client({ connectionString: sys.databaseUrl });
    await db.connect();
  });
  afterAll(async () => { await db?.end(); await sys?.close(); });

  it('bills tokens × prices exactly, in events, daily rollups and the key spend', async () => {
    const p = await provision(sys);
    const client = new OpenAI({ baseURL: `${sys.url}/v1`, apiKey: p.key, maxRetries: 0 });
    let expected = 0n;
    for (let i = 0; i < 7; i++) {
      const r = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: `Request ${i}. ${'More words here. '.repeat(i + 1)}` }], max_tokens: 5 + i * 3 });
      expected += BigInt(r.usage!.prompt_tokens) * IN + BigInt(r.usage!.completion_tokens) * OUT;
    }
    const s = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Stream me. Please do.' }], stream: true, max_tokens: 9, stream_options: { include_usage: true } });
    for await (const c of s) if (c.usage) expected += BigInt(c.usage.prompt_tokens) * IN + BigInt(c.usage.completion_tokens) * OUT;
    await settle(sys);

    const ev = await db.query('select prompt_tokens, completion_tokens, cost::text from usage_events where key_id = $1', [p.keyId]);
    expect(ev.rows).toHaveLength(8);
    for (const e of ev.rows) expect(toPico(e.cost)).toBe(BigInt(e.prompt_tokens) * IN + BigInt(e.completion_tokens) * OUT);
    const daily = await db.query('select sum(cost)::text as cost, sum(requests)::int as requests from usage_daily where key_id = $1', [p.keyId]);
    expect(toPico(daily.rows[0].cost)).toBe(expected);
    expect(daily.rows[0].requests).toBe(8);
    const key = await sys.admin('GET', `/admin/api-keys/${p.keyId}`);
    expect(toPico(key.body.spendExact)).toBe(expected);
    const summary = await sys.admin('GET', `/admin/usage/summary?groupBy=key&keys=${p.keyId}`);
    expect(summary.body.rows[0].costExact).toBe(fromPico(expected));
    expect(summary.body.totals.cost).toBe(Number(fromPico(expected)));
  });

  it('never overspends a budget under 50 concurrent requests', async () => {
    // Output-only pricing and answers that always fill max_tokens make a request's actual cost equal to its
    // reservation, so a budget of exactly 10 requests admits exactly 10, however the 50 interleave.
    const slow = await startSimulator({ port: 0, host: '127.0.0.1', servedModelName: 'race', ttftMs: 100, quiet: true });
    try {
      expect((await sys.admin('POST', '/admin/models', { id: 'race-model', inputPricePer1M: '0', outputPricePer1M: '0.60', deployments: [{ url: `${slow.url}/v1`, upstreamModel: 'race' }] })).status).toBe(201);
      const content = 'Every request in this race asks for the same long answer so that it always uses all of its tokens. '.repeat(3);
      const body = { model: 'race-model', messages: [{ role: 'user', content }], max_tokens: 20 };
      const perRequest = 20n * OUT;
      const budget = perRequest * 10n;
      const p = await provision(sys, { key: { maxBudget: Number(fromPico(budget)) } });
      await sys.admin('POST', `/admin/users/${p.userId}/subscriptions`, { modelId: 'race-model' });
      await sys.admin('PATCH', `/admin/api-keys/${p.keyId}`, { models: ['race-model'] });
      const results = await Promise.all(Array.from({ length: 50 }, () => post(sys, p.key, body)));
      const ok = results.filter((r) => r.status === 200);
      const refused = results.filter((r) => r.status === 429);
      for (const r of ok) expect(r.body.usage.completion_tokens).toBe(20);
      expect(ok).toHaveLength(10);
      expect(refused).toHaveLength(40);
      expect(refused[0]!.body.error.code).toBe('budget_exceeded');
      expect((await post(sys, p.key, body)).status).toBe(429); // and it stays spent
      await settle(sys);
      const spent = await db.query('select coalesce(sum(cost),0)::text as c from usage_events where key_id = $1', [p.keyId]);
      expect(toPico(spent.rows[0].c)).toBe(budget);
      const key = await sys.admin('GET', `/admin/api-keys/${p.keyId}`);
      expect(toPico(key.body.spendExact)).toBe(budget);
    } finally {
      await slow.close();
    }
  });

  it('enforces the subscription request quota', async () => {
    const p = await provision(sys, { subscription: { quotaRequests: 3 } });
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await post(sys, p.key, { model: MODEL, messages: [{ role: 'user', content: 'q' }], max_tokens: 3 })).status);
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    const r = await post(sys, p.key, { model: MODEL, messages: [{ role: 'user', content: 'q' }] });
    expect(r.body.error.code).toBe('quota_exceeded');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('enforces the subscription token quota', async () => {
    const p = await provision(sys, { subscription: { quotaTokens: 400 } });
    let refused: any = null;
    for (let i = 0; i < 100 && !refused; i++) {
      const r = await post(sys, p.key, { model: MODEL, messages: [{ role: 'user', content: 'Tokens. Count them.' }], max_tokens: 10 });
      if (r.status !== 200) refused = r;
    }
    expect(refused?.status).toBe(429);
    expect(refused.body.error.code).toBe('quota_exceeded');
    await settle(sys);
    const used = await db.query('select sum(prompt_tokens + completion_tokens)::int as t from usage_events where key_id = $1', [p.keyId]);
    expect(used.rows[0].t).toBeLessThanOrEqual(400);
  });

  it('holds each request\'s token bound against tpm, so 30 concurrent requests cannot overshoot it', async () => {
    // A slow model, so all 30 are in flight together.
    const slow = await startSimulator({ port: 0, host: '127.0.0.1', servedModelName: 'llama32-fp8', ttftMs: 300, quiet: true });
    const model = 'tpm-model';
    expect((await sys.admin('POST', '/admin/models', { id: model, inputPricePer1M: 1, outputPricePer1M: 1, contextLength: 8192, deployments: [{ url: `${slow.url}/v1`, upstreamModel: 'llama32-fp8' }] })).status).toBe(201);
    const p = await provision(sys, { key: { tpm: 400 } });
    await sys.admin('POST', `/admin/users/${p.userId}/subscriptions`, { modelId: model });
    await sys.admin('PATCH', `/admin/api-keys/${p.keyId}`, { models: [model] });
    const body = { model, messages: [{ role: 'user', content: 'Count the tokens of this sentence. And this one.' }], max_tokens: 12 };
    const rs = await Promise.all(Array.from({ length: 30 }, () => post(sys, p.key, body)));
    await slow.close();
    const ok = rs.filter((r) => r.status === 200);
    expect(ok.length).toBeGreaterThan(0);
    expect(rs.filter((r) => r.status === 429).every((r) => r.body.error.code === 'rate_limit_exceeded')).toBe(true);
    const tokens = ok.map((r) => r.body.usage.total_tokens as number);
    // At most one request beyond the limit: the one admitted while the window still had room.
    expect(tokens.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(400 + Math.max(...tokens));
  });

  it('reserves for every sequence n asks for', async () => {
    // Room for one 64-token answer, not for twenty.
    const budget = Number(fromPico(2000n * IN + 64n * 3n * OUT));
    const p = await provision(sys, { key: { maxBudget: budget } });
    const body = { model: MODEL, messages: [{ role: 'user', content: 'n' }], max_tokens: 64 };
    const many = await post(sys, p.key, { ...body, n: 20 });
    expect(many.status).toBe(429);
    expect(many.body.error.code).toBe('budget_exceeded');
    expect((await post(sys, p.key, body)).status).toBe(200);
  });

  it('enforces rpm with Retry-After', async () => {
    const p = await provision(sys, { key: { rpm: 3 } });
    const codes = [];
    let last: any;
    for (let i = 0; i < 5; i++) codes.push((last = await post(sys, p.key, { model: MODEL, messages: [{ role: 'user', content: 'r' }], max_tokens: 2 })).status);
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    expect(last.body.error.code).toBe('rate_limit_exceeded');
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('refuses a key revoked in the database within one second', async () => {
    const p = await provision(sys);
    expect((await post(sys, p.key, { model: MODEL, messages: [{ role: 'user', content: 'before' }], max_tokens: 2 })).status).toBe(200);
    // Revoke behind the server's back, as another replica or an operator would: only NOTIFY can tell it.
    const t0 = Date.now();
    await db.query('update api_keys set revoked_at = now() where id = $1', [p.keyId]);
    let status = 200;
    while (status === 200 && Date.now() - t0 < 3000) {
      status = (await post(sys, p.key, { model: MODEL, messages: [{ role: 'user', content: 'after' }], max_tokens: 2 })).status;
    }
    expect(status).toBe(401);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('bills a client that disconnects mid-stream, marked estimated', async () => {
    const slow = await startSimulator({ port: 0, host: '127.0.0.1', servedModelName: 'slow', itlMs: 30, quiet: true });
    try {
      expect((await sys.admin('POST', '/admin/models', { id: 'slow-model', inputPricePer1M: '0.15', outputPricePer1M: '0.60', deployments: [{ url: `${slow.url}/v1`, upstreamModel: 'slow' }] })).status).toBe(201);
      const p = await provision(sys);
      expect((await sys.admin('POST', `/admin/users/${p.userId}/subscriptions`, { modelId: 'slow-model' })).status).toBe(201);
      expect((await sys.admin('PATCH', `/admin/api-keys/${p.keyId}`, { models: [MODEL, 'slow-model'] })).status).toBe(200);
      await disconnectMidStream(p, slow);
    } finally {
      await slow.close();
    }
  });

  async function disconnectMidStream(p: { key: string; keyId: string }, slow: RunningSimulator) {
    const ac = new AbortController();
    const res = await fetch(`${sys.url}/v1/chat/completions`, {
      method: 'POST', signal: ac.signal,
      headers: { authorization: `Bearer ${p.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'slow-model', messages: [{ role: 'user', content: 'word '.repeat(300) }], max_tokens: 200, stream: true }),
    });
    const reader = res.body!.getReader();
    let got = 0;
    while (got < 5) { const { value } = await reader.read(); got += (new TextDecoder().decode(value).match(/"content":"[^"]/g) ?? []).length; }
    ac.abort();
    await new Promise((r) => setTimeout(r, 300));
    await settle(sys);
    const ev = await db.query('select status, completion_tokens, cost::text, estimated, error_code from usage_events where key_id = $1', [p.keyId]);
    expect(ev.rows).toHaveLength(1);
    const e = ev.rows[0];
    expect(e.estimated).toBe(true);
    expect(e.error_code).toBe('client_disconnected');
    expect(e.completion_tokens).toBeGreaterThanOrEqual(5);
    expect(e.completion_tokens).toBeLessThan(200);
    expect(toPico(e.cost)).toBeGreaterThan(0n);
    expect(slow.stats.aborted).toBeGreaterThanOrEqual(1);
  }
});
