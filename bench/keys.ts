/**
 * Key-count bench for issue 10 (run after `npx tsc -p tsconfig.json`:
 * `node dist/bench/keys.js [keys=100000] [usageRows=1000000]`). Needs the
 * real PostgreSQL (TEST_PG_URL or postgres://postgres@127.0.0.1:5432/postgres).
 *
 * Measures, with N keys inserted straight into PostgreSQL: a full snapshot
 * reload (what every change cost before) and the RSS it leaves; the time from
 * the admin API's answer to a new key being usable on a second replica, and
 * a revoked one refused there; then SpendTracker.load with M usage_daily rows
 * for today, the aggregated load against the row-by-row read it replaced.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { sql } from 'kysely';
import { startServer } from '../src/server.js';
import { loadConfig } from '../src/config.js';
import { SpendTracker, periodStart } from '../src/ledger/budgets.js';

const N = Number(process.argv[2] ?? 100_000);
const M = Number(process.argv[3] ?? 1_000_000);
const mb = () => Math.round(process.memoryUsage().rss / 1048576);
const ms = (t0: number) => (performance.now() - t0).toFixed(1);

const ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `litemaas_bench_keys_${Date.now()}`;
const adminSql = async (q: string) => { const c = new pg.Client({ connectionString: ADMIN_URL }); await c.connect(); try { await c.query(q); } finally { await c.end(); } };
await adminSql(`create database ${dbName}`);
const db = { url: Object.assign(new URL(ADMIN_URL), { pathname: `/${dbName}` }).toString(), drop: () => adminSql(`drop database if exists ${dbName} with (force)`) };
const dirs: string[] = [];
const start = (token: string) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'litemaas-bench-keys-'));
  dirs.push(dataDir);
  return startServer({ ...loadConfig({}), port: 0, host: '127.0.0.1', dataDir, databaseUrl: db.url, adminToken: token, logLevel: 'silent', reconcileIntervalMs: 30_000 });
};
try {
  const a = await start('bench');
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await c.query(`insert into users (id, username) select 'u' || i, 'user' || i from generate_series(0, 9999) i`);
  let t0 = performance.now();
  await c.query(`insert into api_keys (id, user_id, name, prefix, hash, secret_enc)
    select 'key-' || i, 'u' || (i % 10000), 'k' || i, 'sk-x', md5(i::text) || md5((i + 1)::text), 'x' from generate_series(1, ${N}) i`);
  console.log(`inserted ${N} keys in ${ms(t0)} ms`);
  const rss0 = mb();
  t0 = performance.now();
  await a.gateway.reload(); // the bulk insert named no rows: a full reload
  console.log(`first load on A (bulk insert → full reload): ${ms(t0)} ms`);
  const full = async () => { const t = performance.now(); await (a.gateway as unknown as { fullReload(): Promise<void> }).fullReload(); return performance.now() - t; };
  const fulls = [await full(), await full(), await full()];
  console.log(`full reload of ${a.gateway.snapshot.keys.size} keys: ${fulls.map((x) => x.toFixed(0)).join(', ')} ms; RSS ${mb()} MB (before the keys: ${rss0} MB)`);

  t0 = performance.now();
  const b = await start('unused');
  console.log(`second replica start-up with ${N} keys: ${ms(t0)} ms, RSS (both replicas in this process) ${mb()} MB`);
  const admin = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${a.url}/api/v1${path}`, { method, headers: { authorization: 'Bearer bench', ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    return { status: r.status, body: await r.json().catch(() => null) as any };
  };
  await admin('POST', '/admin/models', { id: 'bench-m', inputPricePer1M: '0.1', outputPricePer1M: '0.2', deployments: [{ url: 'http://127.0.0.1:9/v1', upstreamModel: 'x' }] });
  await admin('POST', '/admin/users/u1/subscriptions', { modelId: 'bench-m' });
  const status = (url: string, key: string) => fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);
  const until = async (ok: () => Promise<boolean>) => { while (!(await ok())) await new Promise((r) => setTimeout(r, 1)); };
  const createMs: number[] = [], usableMs: number[] = [], revokeMs: number[] = [];
  const fullBefore = b.gateway.reloadStats.full;
  for (let i = 0; i < 10; i++) {
    t0 = performance.now();
    const k = await admin('POST', '/admin/users/u1/api-keys', { name: `new${i}`, models: ['bench-m'] });
    createMs.push(performance.now() - t0);
    await until(async () => (await status(b.url, k.body.key)) === 200);
    usableMs.push(performance.now() - t0);
    t0 = performance.now();
    await admin('DELETE', `/admin/api-keys/${k.body.id}`);
    await until(async () => (await status(b.url, k.body.key)) === 401);
    revokeMs.push(performance.now() - t0);
  }
  const med = (x: number[]) => [...x].sort((p, q) => p - q)[x.length >> 1]!.toFixed(1);
  console.log(`admin API key creation (answer, A applies its own change): median ${med(createMs)} ms`);
  console.log(`new key usable on replica B, from the request: median ${med(usableMs)} ms, max ${Math.max(...usableMs).toFixed(1)} ms`);
  console.log(`revoked key refused on replica B: median ${med(revokeMs)} ms, max ${Math.max(...revokeMs).toFixed(1)} ms; full reloads on B during this: ${b.gateway.reloadStats.full - fullBefore}`);
  await b.close();
  await a.close();

  // Start-up counters: M usage_daily rows for today (N keys × M/N models, users = key mod 10 000).
  const per = N > 0 ? Math.max(1, Math.round(M / N)) : 0; // 0 keys: no usage rows
  t0 = performance.now();
  await c.query(`insert into usage_daily (day, key_id, user_id, model_id, requests, prompt_tokens, completion_tokens, cost)
    select current_date, 'key-' || i, 'u' || (i % 10000), 'm' || m, 1, 10, 20, 0.000123 from generate_series(1, ${N}) i, generate_series(1, ${per}) m`);
  await c.query('analyze usage_daily');
  console.log(`inserted ${N * per} usage_daily rows for today in ${ms(t0)} ms`);
  await c.end();
  const { openStore } = await import('../src/store/db.js');
  const store = await openStore({ databaseUrl: db.url, dataDir: tmpdir(), migrate: false });
  for (let round = 0; round < 2; round++) {
    let r0 = mb();
    t0 = performance.now();
    const rows = await oldLoad(store.db);
    console.log(`before (every row read, day buckets per scope): ${ms(t0)} ms, ${rows} scopes, RSS +${mb() - r0} MB`);
    r0 = mb();
    t0 = performance.now();
    const s = new SpendTracker();
    await s.load(store.db);
    console.log(`after  (aggregated per scope and segment):      ${ms(t0)} ms, RSS +${mb() - r0} MB`);
  }
  await store.close();
} finally {
  await db.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

/** The load this change replaced, for comparison: every row of the window, summed in JS. */
async function oldLoad(db: import('kysely').Kysely<import('../src/store/schema.js').Database>): Promise<number> {
  const now = new Date();
  const w = [periodStart('weekly', now)!, periodStart('monthly', now)!].sort()[0]!;
  const recent = await db.selectFrom('usage_daily')
    .select(['day', 'key_id', 'user_id', 'model_id', 'requests', 'prompt_tokens', 'completion_tokens', 'cost']).where('day', '>=', w).execute();
  await sql`select 'k:' || key_id as id, sum(cost)::text as cost from usage_daily where day < ${w} group by key_id
    union all select 'u:' || user_id as id, sum(cost)::text as cost from usage_daily where day < ${w} group by user_id`.execute(db);
  const scopes = new Map<string, Map<string, { cost: bigint; requests: number; tokens: number }>>();
  const { toPico } = await import('../src/shared/money.js');
  for (const r of recent) {
    const b = { cost: toPico(r.cost), requests: r.requests, tokens: r.prompt_tokens + r.completion_tokens };
    for (const id of [`k:${r.key_id}`, `u:${r.user_id}`, `s:${r.user_id}|${r.model_id}`]) {
      let days = scopes.get(id);
      if (!days) scopes.set(id, (days = new Map()));
      const cur = days.get(r.day);
      if (cur) { cur.cost += b.cost; cur.requests += b.requests; cur.tokens += b.tokens; } else days.set(r.day, { ...b });
    }
  }
  return scopes.size;
}
