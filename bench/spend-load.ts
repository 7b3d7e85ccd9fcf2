/**
 * Start-up and cold-scope bench for the spend counters (issue 10; run after
 * `npx tsc -p tsconfig.json`: `node dist/bench/spend-load.js [rows=1000000]
 * [keys=rows]`). Needs the real PostgreSQL (TEST_PG_URL or
 * postgres://postgres@127.0.0.1:5432/postgres); drops its database at the end.
 *
 * With `rows` usage_daily rows for today (`keys` keys × rows/keys models,
 * users = key mod 10 000): the time `startServer` takes (three starts), then,
 * on the last one, the first request of keys whose key, user and
 * subscription counters are all cold (three scope reads) against the second
 * request of the same key; then SpendTracker.need alone for cold keys, one at
 * a time and 1 000 at once. Written to run on the code before counters were
 * read per scope too (it then reports only the start-up part).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startServer } from '../src/server.js';
import { loadConfig } from '../src/config.js';
import { openStore } from '../src/store/db.js';
import { startSimulator } from '../src/simulator/server.js';
import { SpendTracker } from '../src/ledger/budgets.js';

const M = Number(process.argv[2] ?? 1_000_000);
const N = Number(process.argv[3] ?? M);
const mb = () => Math.round(process.memoryUsage().rss / 1048576);
const since = (t0: number) => performance.now() - t0;
const fmt = (x: number) => x.toFixed(1);
const pct = (x: number[], p: number) => [...x].sort((a, b) => a - b)[Math.min(x.length - 1, Math.floor(x.length * p))]!;

const ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `litemaas_bench_spend_${Date.now()}`;
const adminSql = async (q: string) => { const c = new pg.Client({ connectionString: ADMIN_URL }); await c.connect(); try { await c.query(q); } finally { await c.end(); } };
await adminSql(`create database ${dbName}`);
const url = Object.assign(new URL(ADMIN_URL), { pathname: `/${dbName}` }).toString();
const dataDir = mkdtempSync(join(tmpdir(), 'litemaas-bench-spend-'));
const sim = await startSimulator({ port: 0, host: '127.0.0.1', servedModelName: 'bench-up', quiet: true });
const MODEL = 'bench-spend-model';
const COLD_KEYS = 20;
try {
  await (await openStore({ databaseUrl: url, dataDir })).close(); // migrations
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const per = Math.max(1, Math.round(M / N));
  let t0 = performance.now();
  await c.query(`insert into usage_daily (day, key_id, user_id, model_id, requests, prompt_tokens, completion_tokens, cost)
    select current_date, 'key-' || i, 'u' || (i % 10000), 'm' || m, 1, 10, 20, 0.000123 from generate_series(1, ${N}) i, generate_series(1, ${per}) m`);
  await c.query('analyze usage_daily');
  console.log(`inserted ${N * per} usage_daily rows for today (${N} keys × ${per} models, 10 000 users) in ${fmt(since(t0))} ms`);

  const start = () => startServer({ ...loadConfig({}), port: 0, host: '127.0.0.1', dataDir, databaseUrl: url, adminToken: 'bench', logLevel: 'silent', reconcileIntervalMs: 30_000 });
  const starts: number[] = [];
  let server = null as Awaited<ReturnType<typeof start>> | null;
  for (let round = 0; round < 3; round++) {
    const r0 = mb();
    t0 = performance.now();
    server = await start();
    starts.push(since(t0));
    console.log(`startServer #${round + 1}: ${fmt(starts.at(-1)!)} ms, RSS +${mb() - r0} MB`);
    if (round < 2) await server.close();
  }
  const s = server!;
  // Keys whose key, user and subscription all have a limit and some history: a first request reads three scopes.
  await s.services.models.create({ id: MODEL, inputPricePer1M: 0.1, outputPricePer1M: 0.2, deployments: [{ url: `${sim.url}/v1`, upstreamModel: 'bench-up' }] } as never);
  const keys: string[] = [];
  for (let i = 0; i < COLD_KEYS; i++) {
    const u = await s.services.users.create({ username: `bench-cold-${i}`, maxBudget: 1000, budgetPeriod: 'monthly' });
    await s.services.subscriptions.subscribe(u.id, { modelId: MODEL, quotaRequests: 1_000_000 }, 'active', 'bench');
    const k = await s.services.keys.create(u.id, { name: `cold-${i}`, models: [MODEL], maxBudget: 1000, budgetPeriod: 'daily' });
    await c.query(`insert into usage_daily (day, key_id, user_id, model_id, requests, prompt_tokens, completion_tokens, cost)
      select current_date - d, $1, $2, $3, 5, 50, 100, 0.01 from generate_series(0, 59) d`, [k.id, u.id, MODEL]);
    keys.push(k.key);
  }
  await s.gateway.reload();
  const call = async (key: string) => {
    const t = performance.now();
    const r = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }),
    });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`request answered ${r.status}`);
    return since(t);
  };
  const cold: number[] = [], warm: number[] = [];
  for (const k of keys) { cold.push(await call(k)); warm.push(await call(k)); }
  console.log(`first request of a key with cold key, user and subscription counters: median ${fmt(pct(cold, 0.5))} ms, max ${fmt(Math.max(...cold))} ms; `
    + `second request of the same key: median ${fmt(pct(warm, 0.5))} ms, max ${fmt(Math.max(...warm))} ms (${COLD_KEYS} keys, one at a time, through HTTP with the simulator)`);
  await s.close();

  const lazy = (SpendTracker.prototype as { need?: unknown }).need !== undefined;
  if (lazy) {
    const store = await openStore({ databaseUrl: url, dataDir, migrate: false });
    const t = new SpendTracker({ db: store.db, unwritten: () => [] });
    const input = (i: number) => ({ keyId: `key-${i}`, userId: `u${i % 10000}`, modelId: 'm1', cost: 0n, tokens: 0,
      keyBudget: { max: 1n, period: 'monthly' as const }, userBudget: null, quotaRequests: null, quotaTokens: null });
    const one: number[] = [];
    for (let i = 1; i <= 1000; i++) {
      t0 = performance.now();
      await t.need(input(1 + ((i * 7919) % N)));
      one.push(since(t0));
    }
    console.log(`SpendTracker.need, one cold key scope at a time: median ${fmt(pct(one, 0.5))} ms, p99 ${fmt(pct(one, 0.99))} ms (1 000 keys)`);
    t0 = performance.now();
    await Promise.all(Array.from({ length: 1000 }, (_, i) => t.need(input(1 + ((i * 104729 + 13) % N)))));
    console.log(`SpendTracker.need, 1 000 other cold key scopes at once: ${fmt(since(t0))} ms in all (pool of 10 connections)`);
    await store.close();
  } else {
    console.log('SpendTracker.need: not in this version (counters loaded at start)');
  }
  await c.end();
} finally {
  await sim.close();
  await adminSql(`drop database if exists ${dbName} with (force)`);
  rmSync(dataDir, { recursive: true, force: true });
}
