/**
 * Snapshots that scale with the data, not with every change (issue 10):
 * 20 000 keys inserted straight into PostgreSQL, a second replica on the same
 * database, and changes made through the first one's admin API. The second
 * applies each change piecemeal (no full reload): a new key is usable, a
 * revoked one refused, a user's budget reaches their keys, a deleted model is
 * gone, each within a second. The spend counters load aggregated totals and
 * still answer every period exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startServer, type Running } from '../src/server.js';
import { loadConfig } from '../src/config.js';
import { SpendTracker, periodStart } from '../src/ledger/budgets.js';
import { openStore } from '../src/store/db.js';
import { parseChange } from '../src/gateway/snapshot-changes.js';
import { toPico } from '../src/shared/money.js';
import { freshDatabase } from './helpers/pg.js';
import { PRICES, startSystem, type System } from './helpers/system.js';
import { canonical } from './helpers/snapshot.js';

const BULK = 20_000;
const MODEL2 = 'scale-model';

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, ms = 1000): Promise<number> {
  const t0 = performance.now();
  while (!(await ok())) {
    if (performance.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return performance.now() - t0;
}

describe('snapshot changes across replicas (PostgreSQL, 20 000 keys)', () => {
  let sys: System;
  let b: Running;
  let dataDir: string;
  let bulkUser: string;
  beforeAll(async () => {
    sys = await startSystem('postgres');
    const c = new pg.Client({ connectionString: sys.databaseUrl });
    await c.connect();
    bulkUser = 'bulk-user';
    await c.query(`insert into users (id, username) values ($1, 'bulk')`, [bulkUser]);
    await c.query(`insert into api_keys (id, user_id, name, prefix, hash, secret_enc)
      select 'bulk-' || i, $1, 'k' || i, 'sk-x', md5(i::text) || md5((i + 1)::text), 'x' from generate_series(1, ${BULK}) i`, [bulkUser]);
    await c.end();
    await sys.server.gateway.reload();
    expect(sys.server.gateway.snapshot.keys.size).toBe(BULK);
    dataDir = mkdtempSync(join(tmpdir(), 'litemaas-replica-'));
    b = await startServer({ ...loadConfig({}), port: 0, host: '127.0.0.1', dataDir, databaseUrl: sys.databaseUrl, adminToken: 'unused', logLevel: 'silent', flushIntervalMs: 50, reconcileIntervalMs: 30_000 });
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await sys?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const models = (url: string, key: string) => fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);

  it('applies key, user and model changes piecemeal on the other replica, each within a second', async () => {
    const fullBefore = b.gateway.reloadStats.full;
    const m = await sys.admin('POST', '/admin/models', { id: MODEL2, ...PRICES, contextLength: 8192, deployments: [{ url: `${sys.sim.url}/v1`, upstreamModel: 'llama32-fp8' }] });
    expect(m.status).toBe(201);
    await waitFor('model on B', () => b.gateway.snapshot.models.has(MODEL2));
    const u = await sys.admin('POST', '/admin/users', { username: 'scaleuser' });
    expect(u.status).toBe(201);
    expect((await sys.admin('POST', `/admin/users/${u.body.id}/subscriptions`, { modelId: MODEL2 })).status).toBe(201);

    const t0 = performance.now();
    const k = await sys.admin('POST', `/admin/users/${u.body.id}/api-keys`, { name: 'fresh', models: [MODEL2] });
    expect(k.status).toBe(201);
    expect(await models(sys.url, k.body.key)).toBe(200); // this replica: visible when the creation returns
    await waitFor('new key usable on B', async () => (await models(b.url, k.body.key)) === 200);
    const usable = performance.now() - t0;
    expect(usable).toBeLessThan(1000);

    const k2 = await sys.admin('POST', `/admin/users/${u.body.id}/api-keys`, { name: 'second', models: [MODEL2] });
    await waitFor('second key on B', async () => (await models(b.url, k2.body.key)) === 200);
    // A user's budget reaches every key of theirs (KeyEntry → UserEntry).
    expect((await sys.admin('PATCH', `/admin/users/${u.body.id}`, { maxBudget: 7, budgetPeriod: 'weekly' })).status).toBe(200);
    const hashes = [...b.gateway.snapshot.keysByUser.get(u.body.id)!];
    expect(hashes).toHaveLength(2);
    await waitFor('user budget on B', () => hashes.every((h) => b.gateway.snapshot.keys.get(h)?.user.maxBudget === toPico(7)));
    expect(hashes.every((h) => b.gateway.snapshot.keys.get(h)!.user.budgetPeriod === 'weekly')).toBe(true);

    const t1 = performance.now();
    expect((await sys.admin('DELETE', `/admin/api-keys/${k.body.id}`)).status).toBeLessThan(300);
    await waitFor('revoked key refused on B', async () => (await models(b.url, k.body.key)) === 401);
    expect(performance.now() - t1).toBeLessThan(1000);
    expect(await models(b.url, k2.body.key)).toBe(200);

    expect((await sys.admin('DELETE', `/admin/models/${MODEL2}`)).status).toBeLessThan(300);
    await waitFor('model gone on B', () => !b.gateway.snapshot.models.has(MODEL2));

    // An owner of 20 000 keys keeps them in a set (a change is O(1)); one of two, in an array.
    expect(b.gateway.snapshot.keysByUser.get(bulkUser)).toBeInstanceOf(Set);
    expect(Array.isArray(b.gateway.snapshot.keysByUser.get(u.body.id))).toBe(true);
    // None of it reloaded the 20 000 keys.
    expect(b.gateway.reloadStats.full).toBe(fullBefore);
    expect(b.gateway.reloadStats.applied).toBeGreaterThanOrEqual(6);
    expect(b.gateway.snapshot.keys.size).toBe(BULK + 1);
    console.log(`20k keys: new key usable on the other replica after ${usable.toFixed(1)} ms`);
  });

  it('a deleted user takes their keys along; a bulk statement and a missed notification fall back to a full reload', async () => {
    expect((await sys.admin('POST', '/admin/models', { id: 'scale-m3', ...PRICES, deployments: [{ url: `${sys.sim.url}/v1`, upstreamModel: 'llama32-fp8' }] })).status).toBe(201);
    const u = await sys.admin('POST', '/admin/users', { username: 'deleteme' });
    expect((await sys.admin('POST', `/admin/users/${u.body.id}/subscriptions`, { modelId: 'scale-m3' })).status).toBe(201);
    const k = await sys.admin('POST', `/admin/users/${u.body.id}/api-keys`, { name: 'k', models: ['scale-m3'] });
    expect([u.status, k.status, await models(sys.url, k.body.key), JSON.stringify(k.body)]).toEqual([201, 201, 200, expect.anything()]);
    await waitFor('key on B', async () => (await models(b.url, k.body.key)) === 200);
    const c = new pg.Client({ connectionString: sys.databaseUrl });
    await c.connect();
    try {
      await c.query('delete from users where id = $1', [u.body.id]);
      await waitFor('keys of a deleted user refused', async () => (await models(b.url, k.body.key)) === 401);
      expect(b.gateway.snapshot.users.has(u.body.id)).toBe(false);

      const full = b.gateway.reloadStats.full;
      await c.query(`update api_keys set rpm = 100 where user_id = $1`, [bulkUser]); // 20 000 rows: named by nobody
      await waitFor('bulk update reloaded', () => b.gateway.reloadStats.full === full + 1, 5000);
      expect([...b.gateway.snapshot.keys.values()].find((e) => e.id === 'bulk-1')!.rpm).toBe(100);

      // A version skipped (a notification lost): the next one shows the gap.
      await c.query('update litemaas_snapshot_version set version = version + 1');
      await c.query(`update api_keys set rpm = 5 where id = 'bulk-2'`);
      await waitFor('gap reloaded', () => b.gateway.reloadStats.full === full + 2, 5000);
      expect([...b.gateway.snapshot.keys.values()].find((e) => e.id === 'bulk-2')!.rpm).toBe(5);

      // The ledger stamping last_used_at changes nothing a gateway reads: no notification at all.
      const v = b.gateway.snapshot.version;
      await c.query(`update api_keys set last_used_at = now() where user_id = $1`, [bulkUser]);
      await new Promise((r) => setTimeout(r, 200));
      expect(b.gateway.snapshot.version).toBe(v);
    } finally {
      await c.end();
    }
  });

  it('the snapshot after piecemeal changes holds what a full load reads, and its cache file the same digest', async () => {
    const { loadSnapshot } = await import('../src/gateway/snapshot-load.js');
    const { SnapshotCache } = await import('../src/gateway/snapshot-cache.js');
    const { loadCipher } = await import('../src/shared/secrets.js');
    const store = await openStore({ databaseUrl: sys.databaseUrl, dataDir, migrate: false });
    try {
      await b.gateway.reload();
      const fresh = await loadSnapshot(store.db, loadCipher(undefined, dataDir), { pageSize: 3000 });
      expect(canonical(b.gateway.snapshot)).toEqual(canonical(fresh));
      const files = [join(dataDir, 'a.json'), join(dataDir, 'b.json')];
      expect(await new SnapshotCache(files[0]!).save(b.gateway.snapshot)).toBe(true);
      expect(await new SnapshotCache(files[1]!).save(fresh)).toBe(true);
      const digest = (f: string) => /"digest":"([0-9a-f]+)"/.exec(readFileSync(f, 'utf8'))![1];
      expect(digest(files[0]!)).toBe(digest(files[1]!));
      // Saving the same rows again (in another order) leaves the file alone.
      const again = new SnapshotCache(files[0]!);
      expect(await again.save(fresh)).toBe(false);
    } finally {
      await store.close();
    }
  });
});

describe('change payloads', () => {
  it('parses what the trigger sends and nothing else', () => {
    expect(parseChange('{"v":3,"t":"api_keys","r":[["k1","abc"]]}')).toEqual({ v: 3, t: 'api_keys', r: [['k1', 'abc']] });
    expect(parseChange('{"v":4,"t":"users","r":null}')).toEqual({ v: 4, t: 'users', r: null });
    for (const p of ['users', 'reconnect', '{', '{"v":"1","t":"users","r":[]}', '{"v":1,"t":"usage","r":[]}', '{"v":1,"t":"api_keys","r":["x"]}']) expect(parseChange(p)).toBeNull();
  });
});

describe('SpendTracker.load from aggregated totals', () => {
  let db: { url: string; drop(): Promise<void> };
  beforeAll(async () => { db = await freshDatabase(); });
  afterAll(async () => { await db?.drop(); });

  it('answers daily, weekly, monthly and all-time exactly as the rows sum, on the day it loaded and the days after', async () => {
    const store = await openStore({ databaseUrl: db.url, dataDir: tmpdir() });
    try {
      const now = new Date('2025-03-05T12:00:00Z'); // a Wednesday; the month began on a Saturday
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      // 70 days before now to 2 days after (a clock ahead), 3 users × 2 keys × 2 models.
      await c.query(`insert into usage_daily (day, key_id, user_id, model_id, requests, prompt_tokens, completion_tokens, cost)
        select d::date, 'k' || k, 'u' || (k % 3), 'm' || m, (k * 7 + m + extract(day from d)::int) % 5, k * 11 + m, m * 3 + extract(doy from d)::int,
               ((k * 13 + m * 7 + extract(doy from d)::int) % 97)::numeric / 1000
        from generate_series(date '2025-03-05' - 70, date '2025-03-07', interval '1 day') d, generate_series(0, 5) k, generate_series(0, 1) m`);
      const spend = new SpendTracker();
      await spend.load(store.db, now);
      const w = [periodStart('weekly', now)!, periodStart('monthly', now)!].sort()[0]!;
      for (const at of [now, new Date('2025-03-06T01:00:00Z'), new Date('2025-03-10T01:00:00Z'), new Date('2025-04-01T01:00:00Z')]) {
        for (const period of ['daily', 'weekly', 'monthly', 'none'] as const) {
          const start = periodStart(period, at);
          for (const [col, scope] of [['key_id', 'k'], ['user_id', 'u']] as const) {
            const rows = (await c.query(`select ${col} as id,
                sum(cost) filter (where $1::date is null or day >= $1::date)::text as cost,
                coalesce(sum(requests) filter (where day >= coalesce($1::date, $2::date)), 0)::int as requests,
                coalesce(sum(prompt_tokens + completion_tokens) filter (where day >= coalesce($1::date, $2::date)), 0)::int as tokens
              from usage_daily group by ${col}`, [start, w])).rows;
            for (const r of rows) {
              const got = spend.spent(`${scope}:${r.id}`, period, at);
              expect({ at: at.toISOString(), period, id: r.id, cost: got.cost, requests: got.requests, tokens: got.tokens })
                .toEqual({ at: at.toISOString(), period, id: r.id, cost: toPico(r.cost ?? 0), requests: r.requests, tokens: r.tokens });
            }
          }
          if (period !== 'monthly') continue;
          const subs = (await c.query(`select user_id || '|' || model_id as id, coalesce(sum(requests) filter (where day >= $1::date), 0)::int as requests,
              coalesce(sum(prompt_tokens + completion_tokens) filter (where day >= $1::date), 0)::int as tokens
            from usage_daily group by 1`, [start])).rows;
          for (const r of subs) {
            const got = spend.spent(`s:${r.id}`, 'monthly', at);
            expect([r.id, got.requests, got.tokens]).toEqual([r.id, r.requests, r.tokens]);
          }
        }
      }
      await c.end();
    } finally {
      await store.close();
    }
  });
});
