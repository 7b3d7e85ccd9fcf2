/**
 * Three LiteMaaS servers (startServer instances, each with its own ledger, journal and Redis
 * connection) on one PostgreSQL database and a redis-server of the test's own: a budget,
 * an rpm limit and a max-parallel limit hold across them, and the usage recorded equals the
 * 2xx answers the clients saw.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startServer, type Running } from '../src/server.js';
import { loadConfig } from '../src/config.js';
import { fromPico, toPico } from '../src/shared/money.js';
import { startSimulator, type RunningSimulator } from '../src/simulator/server.js';
import { provision, startSystem, type System } from './helpers/system.js';

import { OwnRedis } from './helpers/redis-instance.js';

const OUT = toPico('0.60') / 1_000_000n;

describe('three replicas on one Redis', () => {
  let redis: OwnRedis;
  let redisUrl: string;
  let sys: System;
  let slow: RunningSimulator;
  const others: Running[] = [];
  const dirs: string[] = [];
  let db: pg.Client;
  let urls: string[];

  beforeAll(async () => {
    redis = await OwnRedis.create();
    redisUrl = redis.url;
    const cfg = { redisUrl, redisFailureMode: 'closed' as const, replicas: 3 };
    sys = await startSystem('postgres', { ttftMs: 0 }, cfg);
    for (let i = 0; i < 2; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), 'litemaas-replica-'));
      dirs.push(dataDir);
      others.push(await startServer({ ...loadConfig({}), port: 0, host: '127.0.0.1', dataDir, databaseUrl: sys.databaseUrl, adminToken: sys.adminToken, logLevel: 'silent', flushIntervalMs: 50, reconcileIntervalMs: 30_000, ...cfg }));
    }
    urls = [sys.url, ...others.map((o) => o.url)];
    db = new pg.Client({ connectionString: sys.databaseUrl });
    await db.connect();
    slow = await startSimulator({ port: 0, host: '127.0.0.1', servedModelName: 'race', ttftMs: 300, quiet: true });
    expect((await sys.admin('POST', '/admin/models', { id: 'race-model', inputPricePer1M: '0', outputPricePer1M: '0.60', deployments: [{ url: `${slow.url}/v1`, upstreamModel: 'race' }] })).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await db?.end();
    for (const o of others) await o.close();
    await sys?.close();
    await slow?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await redis?.stop();
  });

  const content = 'Every request in this race asks for the same long answer so that it always uses all of its tokens. '.repeat(3);
  const body = { model: 'race-model', messages: [{ role: 'user', content }], max_tokens: 20 };
  async function post(url: string, key: string, b: Record<string, unknown> = body) {
    const res = await fetch(url + '/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(b) });
    return { status: res.status, body: (await res.json()) as any, retryAfter: res.headers.get('retry-after') };
  }
  /** A key made through the first replica, visible on all three. */
  async function newKey(key: Record<string, unknown>) {
    const p = await provision(sys, { key });
    expect((await sys.admin('POST', `/admin/users/${p.userId}/subscriptions`, { modelId: 'race-model' })).status).toBe(201);
    expect((await sys.admin('PATCH', `/admin/api-keys/${p.keyId}`, { models: ['race-model'] })).status).toBe(200);
    await Promise.all(others.map((o) => o.gateway.reload()));
    return p;
  }

  it('spends a budget covering exactly N to exactly N across three replicas; usage equals the 2xx answers', async () => {
    const perRequest = 20n * OUT;
    const budget = perRequest * 10n;
    const p = await newKey({ maxBudget: Number(fromPico(budget)) });
    const results = await Promise.all(Array.from({ length: 90 }, (_, i) => post(urls[i % 3]!, p.key)));
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    expect(ok).toHaveLength(10);
    expect(refused).toHaveLength(80);
    expect(refused[0]!.body.error.code).toBe('budget_exceeded');
    expect(Number(refused[0]!.retryAfter)).toBeGreaterThan(0);
    for (const u of urls) expect((await post(u, p.key)).status).toBe(429); // and it stays spent, on every replica
    await Promise.all([sys.server, ...others].map((s) => s.ledger.drain()));
    const spent = await db.query("select coalesce(sum(cost),0)::text as c, count(*) filter (where status = 200)::int as n from usage_events where key_id = $1", [p.keyId]);
    expect(toPico(spent.rows[0].c)).toBe(budget);
    expect(spent.rows[0].n).toBe(ok.length);
  }, 30_000);

  it('holds an rpm limit and a max-parallel limit across three replicas', async () => {
    const r = await newKey({ rpm: 6 });
    const codes = [];
    for (let i = 0; i < 15; i++) codes.push((await post(urls[i % 3]!, r.key, { ...body, max_tokens: 1 })).status);
    expect(codes.filter((c) => c === 200)).toHaveLength(6);
    expect(codes.slice(6).every((c) => c === 429)).toBe(true);

    const m = await newKey({ maxParallel: 2 });
    const par = await Promise.all(Array.from({ length: 12 }, (_, i) => post(urls[i % 3]!, m.key, { ...body, max_tokens: 2 })));
    expect(par.filter((x) => x.status === 200)).toHaveLength(2);
    expect(par.find((x) => x.status === 429)!.body.error.message).toBe('Rate limit reached: at most 2 requests in flight for this key.');
    // The slots are given back when the requests end, on whichever replica.
    for (const u of urls) expect((await post(u, m.key, { ...body, max_tokens: 1 })).status).toBe(200);
  }, 30_000);
});
