/**
 * Per-model limits on a key (rpm, tpm, budget per model), on PostgreSQL: in one process, after a
 * restart (the model's spend is read back from the rollups by key and model), changed live by an
 * admin, and across two replicas sharing one Redis (a per-model budget covering exactly N is spent
 * to exactly N). The key's other models are not held by another model's limit; the key's own
 * limits still apply.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startServer, type Running } from '../src/server.js';
import { loadConfig, type Config } from '../src/config.js';
import { fromPico, toPico } from '../src/shared/money.js';
import { startSimulator, type RunningSimulator } from '../src/simulator/server.js';
import { provision, startSystem, type System } from './helpers/system.js';
import { OwnRedis } from './helpers/redis-instance.js';

const OUT = toPico('0.60') / 1_000_000n;
const PER_REQUEST = 20n * OUT; // input is free and every answer uses all of its 20 tokens
const content = 'Every request here asks for the same long answer so that it always uses all of its tokens. '.repeat(3);

async function post(url: string, key: string, model: string) {
  const res = await fetch(url + '/v1/chat/completions', {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }], max_tokens: 20 }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function twoModels(sys: System, sim: RunningSimulator) {
  for (const id of ['ml-a', 'ml-b']) {
    expect((await sys.admin('POST', '/admin/models', { id, inputPricePer1M: '0', outputPricePer1M: '0.60', deployments: [{ url: `${sim.url}/v1`, upstreamModel: 'race' }] })).status).toBe(201);
  }
}

async function keyOn(sys: System, key: Record<string, unknown>) {
  const p = await provision(sys);
  for (const m of ['ml-a', 'ml-b']) expect((await sys.admin('POST', `/admin/users/${p.userId}/subscriptions`, { modelId: m })).status).toBe(201);
  const r = await sys.admin('PATCH', `/admin/api-keys/${p.keyId}`, { models: ['ml-a', 'ml-b'], ...key });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return { ...p, view: r.body };
}

describe('per-model limits on a key, in one process', () => {
  let sys: System;
  let sim: RunningSimulator;
  const extra: Array<{ close(): Promise<void> }> = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    sys = await startSystem('postgres', { ttftMs: 0 });
    sim = await startSimulator({ port: 0, host: '127.0.0.1', servedModelName: 'race', ttftMs: 0, quiet: true });
    await twoModels(sys, sim);
  }, 60_000);
  afterAll(async () => {
    for (const e of extra) await e.close();
    await sys?.close();
    await sim?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('holds rpm on one model and a budget on another, each only on its model, and says which', async () => {
    const p = await keyOn(sys, { modelLimits: { 'ml-a': { rpm: 3 }, 'ml-b': { maxBudget: Number(fromPico(PER_REQUEST * 2n)), budgetPeriod: 'monthly' } } });
    expect(p.view.modelLimits).toEqual({
      'ml-a': { rpm: 3, tpm: null, maxBudget: null, budgetPeriod: 'monthly' },
      'ml-b': { rpm: null, tpm: null, maxBudget: Number(fromPico(PER_REQUEST * 2n)), budgetPeriod: 'monthly' },
    });
    await sys.server.gateway.reload();
    const a = [];
    for (let i = 0; i < 4; i++) a.push(await post(sys.url, p.key, 'ml-a'));
    expect(a.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(a[3]!.body.error.code).toBe('rate_limit_exceeded');
    expect(a[3]!.body.error.message).toContain("this key's limit for the model 'ml-a'");
    const b = await Promise.all(Array.from({ length: 6 }, () => post(sys.url, p.key, 'ml-b')));
    expect(b.filter((r) => r.status === 200)).toHaveLength(2);
    const refused = b.filter((r) => r.status === 429);
    expect(refused).toHaveLength(4);
    expect(refused[0]!.body.error.code).toBe('budget_exceeded');
    expect(refused[0]!.body.error.message).toContain("'ml-b'");
  });

  it('reads a model\'s spend back after a restart, and applies an admin\'s change without a reload', async () => {
    const p = await keyOn(sys, { modelLimits: { 'ml-b': { maxBudget: Number(fromPico(PER_REQUEST * 2n)) } } });
    await sys.server.gateway.reload();
    expect((await post(sys.url, p.key, 'ml-b')).status).toBe(200);
    expect((await post(sys.url, p.key, 'ml-b')).status).toBe(200);
    expect((await post(sys.url, p.key, 'ml-b')).status).toBe(429);
    await sys.server.ledger.drain();
    // A second server on the same database knows nothing in memory: it reads the model's spend by key and model.
    const dir = mkdtempSync(join(tmpdir(), 'litemaas-ml-'));
    dirs.push(dir);
    const cfg: Config = { ...loadConfig({}), port: 0, host: '127.0.0.1', dataDir: dir, databaseUrl: sys.databaseUrl, adminToken: sys.adminToken, logLevel: 'silent', flushIntervalMs: 50, reconcileIntervalMs: 30_000 };
    const fresh = await startServer(cfg);
    extra.push(fresh);
    expect((await post(fresh.url, p.key, 'ml-b')).status).toBe(429);
    expect((await post(fresh.url, p.key, 'ml-a')).status).toBe(200);
    // An admin raises the model's budget: both servers apply it from the change notification.
    expect((await sys.admin('PATCH', `/admin/api-keys/${p.keyId}`, { modelLimits: { 'ml-b': { maxBudget: Number(fromPico(PER_REQUEST * 3n)) } } })).status).toBe(200);
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await post(fresh.url, p.key, 'ml-b')).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200); // the one more request the raise allows
    await fresh.ledger.drain();
    expect((await post(fresh.url, p.key, 'ml-b')).status).toBe(429);
  });

  it('refuses limits for a model the key may not use, naming the field; drops a model\'s limit with the model', async () => {
    const p = await keyOn(sys, {});
    const bad = await sys.admin('PATCH', `/admin/api-keys/${p.keyId}`, { modelLimits: { 'not-mine': { rpm: 5 } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('modelLimits.not-mine');
    const neg = await sys.admin('PATCH', `/admin/api-keys/${p.keyId}`, { modelLimits: { 'ml-a': { rpm: 0 } } });
    expect(neg.status).toBe(400);
    expect(JSON.stringify(neg.body)).toMatch(/rpm/);
    expect((await sys.admin('PATCH', `/admin/api-keys/${p.keyId}`, { modelLimits: { 'ml-a': { rpm: 5 }, 'ml-b': { tpm: 100 } } })).status).toBe(200);
    const narrowed = await sys.admin('PATCH', `/admin/api-keys/${p.keyId}`, { models: ['ml-b'] });
    expect(narrowed.body.modelLimits).toEqual({ 'ml-b': { rpm: null, tpm: 100, maxBudget: null, budgetPeriod: 'monthly' } });
  });
});

describe('per-model limits across two replicas on one Redis', () => {
  let redis: OwnRedis;
  let sys: System;
  let other: Running;
  let sim: RunningSimulator;
  let db: pg.Client;
  let dir: string;

  beforeAll(async () => {
    redis = await OwnRedis.create();
    const cfg = { redisUrl: redis.url, redisFailureMode: 'closed' as const, replicas: 2 };
    sys = await startSystem('postgres', { ttftMs: 0 }, cfg);
    dir = mkdtempSync(join(tmpdir(), 'litemaas-ml-replica-'));
    other = await startServer({ ...loadConfig({}), port: 0, host: '127.0.0.1', dataDir: dir, databaseUrl: sys.databaseUrl, adminToken: sys.adminToken, logLevel: 'silent', flushIntervalMs: 50, reconcileIntervalMs: 30_000, ...cfg });
    sim = await startSimulator({ port: 0, host: '127.0.0.1', servedModelName: 'race', ttftMs: 150, quiet: true });
    await twoModels(sys, sim);
    db = new pg.Client({ connectionString: sys.databaseUrl });
    await db.connect();
  }, 60_000);
  afterAll(async () => {
    await db?.end();
    await other?.close();
    await sys?.close();
    await sim?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await redis?.stop();
  });

  it('spends a per-model budget covering exactly N to exactly N, while the key\'s other model goes on', async () => {
    const p = await keyOn(sys, { modelLimits: { 'ml-a': { maxBudget: Number(fromPico(PER_REQUEST * 7n)) } } });
    await Promise.all([sys.server.gateway.reload(), other.gateway.reload()]);
    const urls = [sys.url, other.url];
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => post(urls[i % 2]!, p.key, i % 4 === 3 ? 'ml-b' : 'ml-a')));
    const onA = results.filter((_, i) => i % 4 !== 3), onB = results.filter((_, i) => i % 4 === 3);
    expect(onA.filter((r) => r.status === 200)).toHaveLength(7);
    expect(onA.filter((r) => r.status === 429).every((r) => r.body.error.code === 'budget_exceeded')).toBe(true);
    expect(onB.every((r) => r.status === 200)).toBe(true);
    await Promise.all([sys.server.ledger.drain(), other.ledger.drain()]);
    const spent = await db.query("select coalesce(sum(cost),0)::text as c from usage_events where key_id = $1 and model_id = 'ml-a'", [p.keyId]);
    expect(toPico(spent.rows[0].c)).toBe(PER_REQUEST * 7n);
  }, 60_000);
});
