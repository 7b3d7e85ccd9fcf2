/**
 * @module `node dist/bench/dashboard.js`: the Usage page on a large history.
 * Seeds a dedicated PostgreSQL database (litemaas_bench_dashboard) with
 * realistic dimensions (users, keys with a Zipf-skewed share of the traffic,
 * 8 models with prices) and N usage events spread over the last D days,
 * directly into the tables with set-based SQL (INSERT … SELECT from
 * generate_series, in chunks), builds usage_daily from the events the way
 * the ledger does, then starts LiteMaaS on that database and measures the
 * Usage page's API calls for a 90-day range ending today: p50/p95/p99/max of
 * sequential requests, after a warm-up, against the target p95 ≤ 100 ms;
 * "page" cases send the page's calls at once, as the web UI does. Cases over
 * the target get their SQL (the UsageService's own queries, captured through
 * Kysely's log) shown with EXPLAIN (ANALYZE, BUFFERS). Results and analysis:
 * bench/RESULTS.md, "Dashboard on 10M events".
 *
 * All traffic goes to 127.0.0.1; every phase is bounded; the server started
 * here is stopped at the end, on error and on Ctrl-C. The database is kept
 * (so --keep can reuse it) unless --drop.
 *
 * Flags: --events N (10000000); --days D (180) of history ending now;
 * --keep: reuse the database when it already holds a seeding with the same
 * --events and --days; --requests N (200) measured requests per case;
 * --warmup N (10) per case; --case-budget S (30) measuring time per case;
 * --window D (90) days in the measured range; --explain: EXPLAIN every
 * summary case, not only those over the target; --drop: drop the database
 * at the end. BENCH_PG_URL: PostgreSQL admin URL
 * (postgres://postgres@127.0.0.1:5432/postgres).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Kysely, PostgresDialect, type CompiledQuery } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { openStore } from '../src/store/db.js';
import { startServer, type Running } from '../src/server.js';
import { UsageService, type UsageQuery } from '../src/portal/services/usage.js';
import { Cipher, keyPrefix, newApiKey, sha256 } from '../src/shared/secrets.js';
import type { Database } from '../src/store/schema.js';

const { values: flags } = parseArgs({
  options: {
    events: { type: 'string' }, days: { type: 'string' }, keep: { type: 'boolean' }, requests: { type: 'string' },
    warmup: { type: 'string' }, 'case-budget': { type: 'string' }, window: { type: 'string' }, explain: { type: 'boolean' },
    drop: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  },
});
if (flags.help) {
  process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]!.replace(/^\/\*\*|^ \* ?/gm, '') + '\n');
  process.exit(0);
}
const num = (name: string, v: string | undefined, dflt: number): number => {
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isInteger(n) || n <= 0) { process.stderr.write(`dashboard bench: --${name} must be a positive integer\n`); process.exit(2); }
  return n;
};
const EVENTS = num('events', flags.events, 10_000_000);
const DAYS = num('days', flags.days, 180);
const REQUESTS = num('requests', flags.requests, 200);
const WARMUP = num('warmup', flags.warmup, 10);
const CASE_BUDGET_MS = num('case-budget', flags['case-budget'], 30) * 1000;
const WINDOW_DAYS = num('window', flags.window, 90);
const TARGET_P95_MS = 100;
const CHUNK = 1_000_000;
const USERS = 1000;
const ZIPF_S = 1.0; // key i of rank r gets a share ∝ 1/r^s of the traffic
const ERROR_RATE = 0.02;
const SLOTS = 1 << 17; // the key distribution as a table of slots, picked uniformly by a hash join
const DB_NAME = 'litemaas_bench_dashboard';
const PG_ADMIN = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BENCH_URL = (() => { const u = new URL(PG_ADMIN); u.pathname = `/${DB_NAME}`; return u.toString(); })();
// Only encrypts the bench keys' "show key" copies in a throwaway database.
const BENCH_SECRET = 'litemaas-bench-dashboard';
const HARD_LIMIT_MS = 60 * 60_000;

const say = (s: string) => process.stderr.write(`${s}\n`);
const secs = (ms: number) => (ms / 1000).toFixed(1);
const fmtInt = (n: number) => n.toLocaleString('en-US');

// ---------------------------------------------------------------- dimensions

interface ModelSpec {
  id: string; share: number; kind: 'chat' | 'embedding'; inPrice: string; outPrice: string; ctx: number;
  promptMedian: number; completionMedian: number; ttftMs: number; itlMs: number; provider: string;
}
const MODELS: ModelSpec[] = [
  { id: 'Llama-3.2-3B-Instruct-FP8', share: 0.26, kind: 'chat', inPrice: '0.150000', outPrice: '0.600000', ctx: 8192, promptMedian: 350, completionMedian: 180, ttftMs: 40, itlMs: 8, provider: 'meta' },
  { id: 'granite-3.3-8b-instruct', share: 0.20, kind: 'chat', inPrice: '0.200000', outPrice: '0.800000', ctx: 131072, promptMedian: 600, completionMedian: 220, ttftMs: 60, itlMs: 12, provider: 'ibm' },
  { id: 'Qwen2.5-Coder-32B-Instruct', share: 0.15, kind: 'chat', inPrice: '0.600000', outPrice: '1.800000', ctx: 32768, promptMedian: 1500, completionMedian: 260, ttftMs: 150, itlMs: 25, provider: 'qwen' },
  { id: 'Llama-3.3-70B-Instruct', share: 0.12, kind: 'chat', inPrice: '0.880000', outPrice: '0.880000', ctx: 131072, promptMedian: 900, completionMedian: 300, ttftMs: 250, itlMs: 35, provider: 'meta' },
  { id: 'Mistral-Small-3.1-24B-Instruct', share: 0.10, kind: 'chat', inPrice: '0.300000', outPrice: '0.900000', ctx: 32768, promptMedian: 700, completionMedian: 220, ttftMs: 110, itlMs: 20, provider: 'mistral' },
  { id: 'DeepSeek-R1-Distill-Qwen-14B', share: 0.07, kind: 'chat', inPrice: '0.400000', outPrice: '1.600000', ctx: 32768, promptMedian: 400, completionMedian: 900, ttftMs: 90, itlMs: 16, provider: 'deepseek' },
  { id: 'phi-4', share: 0.05, kind: 'chat', inPrice: '0.070000', outPrice: '0.280000', ctx: 16384, promptMedian: 500, completionMedian: 200, ttftMs: 70, itlMs: 14, provider: 'microsoft' },
  { id: 'nomic-embed-text-v1.5', share: 0.05, kind: 'embedding', inPrice: '0.020000', outPrice: '0.000000', ctx: 8192, promptMedian: 300, completionMedian: 0, ttftMs: 15, itlMs: 0, provider: 'nomic' },
];
const KEY_NAMES = ['default', 'notebook', 'ci-pipeline', 'chatbot-prod', 'chatbot-staging', 'rag-indexer', 'code-assistant', 'eval-harness', 'batch-summaries', 'experiments'];

/** mulberry32: the dimensions (who has which keys and models, which keys are heavy) are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Dims {
  users: Array<{ id: string; username: string; createdAt: string }>;
  keys: Array<{ no: number; id: string; userId: string; name: string; models: string[]; share: number; createdAt: string }>;
}

function makeDims(historyStart: Date): Dims {
  const rnd = prng(20261127);
  const pickModel = (): string => {
    let r = rnd();
    for (const m of MODELS) { if ((r -= m.share) < 0) return m.id; }
    return MODELS[0]!.id;
  };
  const before = (maxDays: number) => new Date(historyStart.getTime() - Math.floor(rnd() * maxDays * 86_400_000)).toISOString();
  const users = Array.from({ length: USERS }, (_, i) => ({ id: randomUUID(), username: `user${String(i + 1).padStart(4, '0')}`, createdAt: before(365) }));
  const keys: Dims['keys'] = [];
  for (const u of users) {
    const n = 1 + Math.floor(rnd() * 5); // 1–5 keys per user, 3 on average
    for (let j = 0; j < n; j++) {
      const models = [pickModel()];
      if (rnd() < 0.5) models.push(pickModel());
      if (rnd() < 0.2) models.push(pickModel());
      keys.push({ no: keys.length, id: randomUUID(), userId: u.id, name: KEY_NAMES[j === 0 ? 0 : 1 + Math.floor(rnd() * (KEY_NAMES.length - 1))]!, models: [...new Set(models)], share: 0, createdAt: before(60) });
    }
  }
  // Zipf over a random ranking of the keys: a few heavy keys (the top one ~12 % of all traffic), a long tail of light ones.
  const order = keys.map((k) => ({ k, r: rnd() })).sort((a, b) => a.r - b.r).map((x) => x.k);
  const h = order.reduce((s, _k, i) => s + 1 / Math.pow(i + 1, ZIPF_S), 0);
  order.forEach((k, i) => { k.share = 1 / Math.pow(i + 1, ZIPF_S) / h; });
  return { users, keys };
}

// ---------------------------------------------------------------- database

async function withClient<T>(url: string, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try { return await f(c); } finally { await c.end().catch(() => {}); }
}

interface Meta { events: number; days: number; seeded_at: Date; seed_ms: number; seed_detail: string; daily_rows: number; history_start: Date; history_end: Date }

/** The seeding this database holds, if it is complete (the meta row is written last). */
async function existingSeed(): Promise<Meta | undefined> {
  const exists = await withClient(PG_ADMIN, async (c) => (await c.query('select 1 from pg_database where datname = $1', [DB_NAME])).rowCount === 1);
  if (!exists) return undefined;
  return withClient(BENCH_URL, async (c) => {
    const t = await c.query(`select to_regclass('bench_dashboard_meta') as t`);
    if (!t.rows[0].t) return undefined;
    const r = await c.query('select events::float8 as events, days, seeded_at, seed_ms::float8 as seed_ms, seed_detail, daily_rows::float8 as daily_rows, history_start, history_end from bench_dashboard_meta');
    return r.rows[0] as Meta | undefined;
  }).catch(() => undefined); // an older or broken seeding: seed again
}

let seedingPid: number | undefined;

async function seed(): Promise<Meta> {
  await withClient(PG_ADMIN, async (c) => {
    await c.query(`drop database if exists ${DB_NAME} with (force)`);
    await c.query(`create database ${DB_NAME}`);
  });
  const store = await openStore({ databaseUrl: BENCH_URL, dataDir: tmpdir() }); // runs the migrations
  await store.close();

  const t0 = performance.now();
  const end = new Date();
  const start = new Date(end.getTime() - DAYS * 86_400_000);
  const dims = makeDims(start);
  const cipher = new Cipher(BENCH_SECRET);

  const c = new pg.Client({ connectionString: BENCH_URL });
  await c.connect();
  try {
    seedingPid = (await c.query('select pg_backend_pid() as pid')).rows[0].pid as number;
    // Session settings only: room for the rollup's hash aggregate and for VACUUM, and a bound on every statement.
    await c.query(`set work_mem = '256MB'; set maintenance_work_mem = '256MB'; set statement_timeout = '20min'`);

    // Dimensions (small: built here, inserted as arrays).
    await c.query(`insert into models (id, description, provider, kind, context_length, input_price_per_1m, output_price_per_1m, created_at)
      select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::numeric[], $7::numeric[], $8::timestamptz[])`,
    [MODELS.map((m) => m.id), MODELS.map((m) => `${m.id} (benchmark)`), MODELS.map((m) => m.provider), MODELS.map((m) => m.kind),
      MODELS.map((m) => m.ctx), MODELS.map((m) => m.inPrice), MODELS.map((m) => m.outPrice), MODELS.map(() => new Date(start.getTime() - 400 * 86_400_000).toISOString())]);
    // One deployment per model; the gateway never calls it here (port 9 is discard).
    await c.query(`insert into deployments (id, model_id, url, upstream_model) select gen_random_uuid()::text, id, 'http://127.0.0.1:9/v1', lower(id) from models`);
    await c.query(`insert into users (id, username, email, roles, created_at)
      select u.id, u.username, u.username || '@example.com', '{user}', u.created_at from unnest($1::text[], $2::text[], $3::timestamptz[]) as u(id, username, created_at)`,
    [dims.users.map((u) => u.id), dims.users.map((u) => u.username), dims.users.map((u) => u.createdAt)]);
    const secrets = dims.keys.map(() => newApiKey());
    await c.query(`insert into api_keys (id, user_id, name, prefix, hash, secret_enc, models, created_at)
      select k.id, k.user_id, k.name, k.prefix, k.hash, k.secret_enc, array(select jsonb_array_elements_text(k.models)), k.created_at
      from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::timestamptz[])
        as k(id, user_id, name, prefix, hash, secret_enc, models, created_at)`,
    [dims.keys.map((k) => k.id), dims.keys.map((k) => k.userId), dims.keys.map((k) => k.name), secrets.map(keyPrefix), secrets.map(sha256),
      secrets.map((s) => cipher.encrypt(s)), dims.keys.map((k) => JSON.stringify(k.models)), dims.keys.map((k) => k.createdAt)]);
    await c.query(`insert into subscriptions (id, user_id, model_id, status, created_at, updated_at)
      select gen_random_uuid()::text, user_id, model_id, 'active', min(created_at), min(created_at)
      from (select user_id, unnest(models) as model_id, created_at from api_keys) s group by user_id, model_id`);

    // Helper tables for the event generator (temporary: gone with this session).
    await c.query(`create temp table bench_models as
      select m.id, d.id as deployment_id, m.kind, m.input_price_per_1m as in_price, m.output_price_per_1m as out_price, m.context_length as ctx,
             s.prompt_median, s.completion_median, s.ttft_ms, s.itl_ms
      from models m join deployments d on d.model_id = m.id
      join unnest($1::text[], $2::float8[], $3::float8[], $4::float8[], $5::float8[]) as s(id, prompt_median, completion_median, ttft_ms, itl_ms) on s.id = m.id`,
    [MODELS.map((m) => m.id), MODELS.map((m) => m.promptMedian), MODELS.map((m) => m.completionMedian), MODELS.map((m) => m.ttftMs), MODELS.map((m) => m.itlMs)]);
    await c.query(`create temp table bench_keys as select k.no, a.id, a.user_id, a.models
      from unnest($1::int[], $2::text[]) as k(no, id) join api_keys a on a.id = k.id`, [dims.keys.map((k) => k.no), dims.keys.map((k) => k.id)]);
    // Slot table: each key owns round(share × SLOTS) slots (at least one); an event picks a slot uniformly.
    await c.query(`create temp table bench_slots as
      select (row_number() over () - 1)::int as slot, k.no as key_no
      from unnest($1::int[], $2::int[]) as k(no, n), generate_series(1, k.n)`,
    [dims.keys.map((k) => k.no), dims.keys.map((k) => Math.max(1, Math.round(k.share * SLOTS)))]);
    await c.query('analyze bench_models; analyze bench_keys; analyze bench_slots');
    const slots = Number((await c.query('select count(*) as n from bench_slots')).rows[0].n);
    const heavy = [...dims.keys].sort((a, b) => b.share - a.share);
    say(`dimensions: ${fmtInt(dims.users.length)} users, ${fmtInt(dims.keys.length)} keys, ${MODELS.length} models; top keys carry ${heavy.slice(0, 5).map((k) => (k.share * 100).toFixed(1) + ' %').join(', ')} of the traffic, the lightest ${(heavy.at(-1)!.share * 100).toFixed(4)} %`);

    // Events: chunk i covers the i-th slice of the history, so the table fills roughly in time order, as the ledger fills it.
    const chunks = Math.ceil(EVENTS / CHUNK);
    const span = end.getTime() - start.getTime();
    for (let i = 0; i < chunks; i++) {
      const n = Math.min(CHUNK, EVENTS - i * CHUNK);
      const from = new Date(start.getTime() + Math.floor((span * i) / chunks));
      const to = new Date(start.getTime() + Math.floor((span * (i + 1)) / chunks));
      const tc = performance.now();
      await c.query(EVENTS_SQL, [from.toISOString(), to.toISOString(), slots, n]);
      const done = Math.min(EVENTS, (i + 1) * CHUNK);
      const el = performance.now() - t0;
      say(`events: ${fmtInt(done)} / ${fmtInt(EVENTS)} (chunk ${i + 1}/${chunks}, ${from.toISOString().slice(0, 10)}…${to.toISOString().slice(0, 10)}, ${secs(performance.now() - tc)} s; ${secs(el)} s so far)`);
    }

    const eventsMs = performance.now() - t0;
    // The rollups, exactly as the ledger's writer computes them (UTC day; 2xx = requests, anything else = errors),
    // inserted day by day as the ledger would have (so the heap is in day order, as in production).
    let tp = performance.now();
    await c.query(`insert into usage_daily (day, key_id, user_id, model_id, requests, errors, prompt_tokens, completion_tokens, cost)
      select (at at time zone 'UTC')::date, key_id, max(user_id), model_id,
             count(*) filter (where status between 200 and 299), count(*) filter (where status not between 200 and 299),
             sum(prompt_tokens), sum(completion_tokens), sum(cost)
      from usage_events group by 1, key_id, model_id order by 1, key_id, model_id`);
    const dailyMs = performance.now() - tp;
    say(`usage_daily built from the events in ${secs(dailyMs)} s`);
    tp = performance.now();
    await c.query(`update api_keys k set last_used_at = u.at from (select key_id, max(at) as at from usage_events group by key_id) u where k.id = u.key_id`);
    // VACUUM as well as ANALYZE: autovacuum would otherwise start on 10M fresh rows in the middle of the measurement.
    await c.query('vacuum (analyze)');
    await c.query('checkpoint');
    const vacuumMs = performance.now() - tp;
    say(`last_used_at, vacuum (analyze), checkpoint: ${secs(vacuumMs)} s`);

    const counts = (await c.query(`select (select count(*) from usage_events)::float8 as events, (select count(*) from usage_daily)::float8 as daily,
      (select sum(requests + errors) from usage_daily)::float8 as rolled, (select sum(errors) from usage_daily)::float8 as errors`)).rows[0];
    if (counts.events !== EVENTS || counts.rolled !== EVENTS) throw new Error(`seeding check failed: ${counts.events} events, usage_daily counts ${counts.rolled}`);
    say(`check: usage_daily sums to ${fmtInt(counts.rolled)} requests + errors = the events; error rate ${((counts.errors / counts.events) * 100).toFixed(2)} %`);
    const seedMs = performance.now() - t0;
    const detail = `dimensions + events ${secs(eventsMs)} s, usage_daily ${secs(dailyMs)} s, last_used_at + vacuum (analyze) + checkpoint ${secs(vacuumMs)} s`;
    await c.query(`create table bench_dashboard_meta (events bigint, days int, seeded_at timestamptz, seed_ms bigint, seed_detail text,
      daily_rows bigint, history_start timestamptz, history_end timestamptz)`);
    await c.query('insert into bench_dashboard_meta values ($1, $2, now(), $3, $4, $5, $6, $7)', [EVENTS, DAYS, Math.round(seedMs), detail, counts.daily, start.toISOString(), end.toISOString()]);
    seedingPid = undefined;
    return { events: EVENTS, days: DAYS, seeded_at: new Date(), seed_ms: Math.round(seedMs), seed_detail: detail, daily_rows: counts.daily, history_start: start, history_end: end };
  } finally {
    await c.end().catch(() => {});
  }
}

/**
 * One chunk of events: $1..$2 time slice, $3 number of key slots, $4 rows.
 * Tokens are log-normal per model (Box–Muller), capped by the context; ~2 %
 * errors (refusals 429 and 503 before any upstream, upstream 502/504/400,
 * client disconnects 499 billed for the streamed part and marked estimated).
 * Cost = tokens × price per 1M, exact in numeric(28,12), like the meter.
 */
const EVENTS_SQL = `
insert into usage_events (id, at, key_id, user_id, model_id, deployment_id, status, prompt_tokens, completion_tokens,
                          cost, latency_ms, ttft_ms, stream, estimated, error_code)
with g as (
  select $1::timestamptz + random() * ($2::timestamptz - $1::timestamptz) as at,
         floor(random() * $3::int)::int as slot,
         random() as r_model, random() as r_model2, random() as r_err, random() as r_kind,
         random() as u1, random() as u2, random() as u3, random() as u4, random() as u5, random() as u6,
         random() < 0.6 as want_stream
  from generate_series(1, $4::int)
), e as (
  select g.*, k.id as key_id, k.user_id,
         k.models[case when g.r_model < 0.75 then 1 else 1 + floor(g.r_model2 * cardinality(k.models))::int end] as model_id
  from g join bench_slots s on s.slot = g.slot join bench_keys k on k.no = s.key_no
), t as (
  select e.at, e.key_id, e.user_id, e.model_id, m.deployment_id, m.in_price, m.out_price, m.ttft_ms, m.itl_ms,
         e.u3, e.u4, e.u5, e.u6,
         e.want_stream and m.kind <> 'embedding' as stream,
         case when e.r_err >= ${ERROR_RATE} then 200
              when e.r_kind < 0.40 then 429 when e.r_kind < 0.55 then 502 when e.r_kind < 0.65 then 503
              when e.r_kind < 0.72 then 504 when e.r_kind < 0.90 then 499 else 400 end as status,
         least(m.ctx - 1, greatest(1, round(m.prompt_median * exp(0.9 * sqrt(-2 * ln(1 - e.u1)) * cos(2 * pi() * e.u2)))))::int as pt,
         case when m.kind = 'embedding' then 0
              else least(4096, greatest(1, round(m.completion_median * exp(0.8 * sqrt(-2 * ln(1 - e.u1)) * sin(2 * pi() * e.u2)))))::int end as ct
  from e join bench_models m on m.id = e.model_id
), b as (
  select t.*,
         case when status in (200, 499) then pt else 0 end as bpt,
         case when status = 200 then ct when status = 499 then floor(ct * u3)::int else 0 end as bct,
         case when status in (200, 499) and stream then round(ttft_ms * (0.6 + 0.8 * u4) + pt * 0.01)::int end as ttft
  from t
)
select gen_random_uuid()::text, at, key_id, user_id, model_id,
       case when status not in (429, 503) then deployment_id end,
       status, bpt, bct,
       ((bpt * in_price + bct * out_price) / 1000000)::numeric(28,12),
       case status
         when 200 then coalesce(ttft, round(ttft_ms * (0.6 + 0.8 * u4) + pt * 0.01)::int) + round(bct * itl_ms * (0.8 + 0.4 * u5))::int + 2
         when 499 then coalesce(ttft, 0) + round(bct * itl_ms)::int + 2
         when 502 then round(5 + 3000 * u5)::int
         when 504 then 120000
         when 400 then round(10 + 40 * u5)::int
         else 1 end,
       ttft, stream, status = 499,
       case status
         when 200 then null
         when 429 then case when u6 < 0.7 then 'rate_limit_exceeded' when u6 < 0.9 then 'budget_exceeded' else 'quota_exceeded' end
         when 502 then 'upstream_error' when 503 then 'no_deployment_available' when 504 then 'upstream_timeout'
         when 499 then 'client_disconnected' else 'upstream_client_error' end
from b`;

// ---------------------------------------------------------------- measurement

interface Call { path: 'summary' | 'timeseries'; params: Record<string, string> }
/** One API call, or a page: its calls sent at once, timed until the last answer (what the Usage page does on load and every refresh). */
interface Case { name: string; calls: Call[]; query?: UsageQuery }
interface Result { c: Case; samples: number[]; rows?: number; bytes?: number; skipped?: string }

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

async function measure(server: Running, token: string, cases: Case[]): Promise<Result[]> {
  const results: Result[] = cases.map((c) => ({ c, samples: [] }));
  const url = (c: Call) => `${server.url}/api/v1/admin/usage/${c.path}?${new URLSearchParams(c.params).toString()}`;
  const headers = { authorization: `Bearer ${token}` };
  const call = async (c: Call) => {
    const res = await fetch(url(c), { headers, signal: AbortSignal.timeout(30_000) });
    return { status: res.status, body: await res.text() };
  };
  const once = async (r: Result): Promise<number> => {
    const t = performance.now();
    const answers = await Promise.all(r.c.calls.map(call));
    const ms = performance.now() - t;
    const bad = answers.find((a) => a.status !== 200);
    if (bad) {
      r.skipped = `HTTP ${bad.status}${bad.status === 404 ? ' (no such endpoint yet)' : `: ${bad.body.slice(0, 160)}`}`;
      return NaN;
    }
    if (r.rows === undefined) {
      r.rows = answers.reduce((n, a) => {
        const j = JSON.parse(a.body) as { rows?: unknown[]; points?: unknown[] };
        return n + (j.rows ?? j.points ?? []).length;
      }, 0);
      r.bytes = answers.reduce((n, a) => n + a.body.length, 0);
    }
    return ms;
  };
  // Warm-up, then rounds over all cases (so drift on the shared machine hits them alike), each case bounded in time.
  for (let w = 0; w < WARMUP; w++) for (const r of results) if (!r.skipped) await once(r);
  const spent = new Map<Result, number>();
  for (let i = 0; i < REQUESTS; i++) {
    let any = false;
    for (const r of results) {
      if (r.skipped || (spent.get(r) ?? 0) > CASE_BUDGET_MS) continue;
      any = true;
      const ms = await once(r);
      if (!Number.isNaN(ms)) { r.samples.push(ms); spent.set(r, (spent.get(r) ?? 0) + ms); }
    }
    if (!any) break;
  }
  return results;
}

/** The SQL the UsageService runs for a query, captured from Kysely's log, each with EXPLAIN (ANALYZE, BUFFERS). */
async function explain(q: UsageQuery): Promise<string> {
  const captured: CompiledQuery[] = [];
  const pool = new pg.Pool({ connectionString: BENCH_URL, max: 1 });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: (e) => { if (e.level === 'query') captured.push(e.query); } });
  try {
    await new UsageService(db).summary(q);
    const out: string[] = [];
    for (const cq of captured) {
      const plan = await pool.query(`explain (analyze, buffers) ${cq.sql}`, cq.parameters as unknown[]);
      out.push(`  ${cq.sql.replace(/\s+/g, ' ')}\n  -- ${JSON.stringify(cq.parameters)}\n${plan.rows.map((r) => '    ' + r['QUERY PLAN']).join('\n')}`);
    }
    return out.join('\n\n');
  } finally {
    await db.destroy();
  }
}

// ---------------------------------------------------------------- main

let server: Running | undefined;
let dataDir: string | undefined;

async function main(): Promise<void> {
  const load0 = loadavg().map((x) => x.toFixed(2)).join(' ');
  const cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  const cmd = `node dist/bench/dashboard.js${process.argv.length > 2 ? ' ' + process.argv.slice(2).join(' ') : ''}`;

  let meta = flags.keep ? await existingSeed() : undefined;
  let reused = false;
  if (meta && meta.events === EVENTS && meta.days === DAYS) {
    reused = true;
    say(`--keep: ${DB_NAME} already holds ${fmtInt(meta.events)} events over ${meta.days} days (seeded ${meta.seeded_at.toISOString()}); skipping the seeding`);
    const store = await openStore({ databaseUrl: BENCH_URL, dataDir: tmpdir() }); // migrations added since then
    await store.close();
  } else {
    if (flags.keep) say(`--keep: ${DB_NAME} does not hold a complete seeding of ${fmtInt(EVENTS)} events over ${DAYS} days; seeding it`);
    say(`seeding ${DB_NAME}: ${fmtInt(EVENTS)} events over ${DAYS} days, chunks of ${fmtInt(CHUNK)}`);
    meta = await seed();
    say(`seeded in ${secs(meta.seed_ms)} s`);
  }

  const info = await withClient(BENCH_URL, async (c) => {
    const v = (await c.query('show server_version')).rows[0].server_version as string;
    const sets = (await c.query(`select name, setting, unit from pg_settings where name in ('shared_buffers', 'work_mem', 'effective_cache_size', 'max_parallel_workers_per_gather', 'jit') order by name`)).rows
      .map((r) => `${r.name}=${r.name === 'shared_buffers' || r.name === 'effective_cache_size' ? `${(Number(r.setting) * 8) / 1024} MB` : r.unit === 'kB' ? `${Number(r.setting) / 1024} MB` : r.setting}`).join(', ');
    const sizes = (await c.query(`select relname, pg_size_pretty(pg_total_relation_size(oid)) as total, pg_size_pretty(pg_relation_size(oid)) as heap
      from pg_class where relname in ('usage_events', 'usage_daily')`)).rows.map((r) => `${r.relname} ${r.heap} heap, ${r.total} with indexes`).join('; ');
    const today = new Date().toISOString().slice(0, 10);
    const from = new Date(Date.parse(today + 'T00:00:00Z') - (WINDOW_DAYS - 1) * 86_400_000).toISOString().slice(0, 10);
    const win = (await c.query(`select count(*)::float8 as rows, sum(requests + errors)::float8 as events, count(distinct key_id)::int as keys
      from usage_daily where day between $1 and $2`, [from, today])).rows[0];
    const heavyUser = (await c.query(`select d.user_id, u.username, sum(d.requests + d.errors)::float8 as events, count(*)::int as rows, count(distinct key_id)::int as keys
      from usage_daily d join users u on u.id = d.user_id where day between $1 and $2 group by 1, 2 order by 3 desc limit 1`, [from, today])).rows[0];
    const topModels = (await c.query(`select model_id from usage_daily where day between $1 and $2 group by 1 order by sum(requests + errors) desc limit 2`, [from, today])).rows.map((r) => r.model_id as string);
    const topKeys = (await c.query(`select key_id from usage_daily where day between $1 and $2 group by 1 order by sum(requests + errors) desc limit 3`, [from, today])).rows.map((r) => r.key_id as string);
    return { v, sets, sizes, today, from, win, heavyUser, topModels, topKeys };
  });
  say(`range ${info.from}…${info.today}: ${fmtInt(info.win.rows)} usage_daily rows (${fmtInt(info.win.events)} events, ${info.win.keys} keys); heaviest user ${info.heavyUser.username} (${fmtInt(info.heavyUser.events)} events, ${info.heavyUser.keys} keys, ${info.heavyUser.rows} rows)`);

  const range = { from: info.from, to: info.today };
  const models = info.topModels.join(',');
  const keys = info.topKeys.join(',');
  const sc = (name: string, p: Record<string, string>): Case => ({
    name, calls: [{ path: 'summary', params: { ...range, ...p } }],
    query: { ...range, groupBy: p.groupBy as UsageQuery['groupBy'], userId: p.userId, models: p.models?.split(','), keys: p.keys?.split(',') },
  });
  const cases: Case[] = [
    sc('all, by model', { groupBy: 'model' }),
    sc('all, by key', { groupBy: 'key' }),
    sc('all, by day', { groupBy: 'day' }),
    sc('all, by user', { groupBy: 'user' }),
    sc('heaviest user, by model', { groupBy: 'model', userId: info.heavyUser.user_id }),
    sc('heaviest user, by key', { groupBy: 'key', userId: info.heavyUser.user_id }),
    sc('heaviest user, by day', { groupBy: 'day', userId: info.heavyUser.user_id }),
    sc('2 top models, by day', { groupBy: 'day', models }),
    sc('2 top models, by key', { groupBy: 'key', models }),
    sc('3 top keys, by day', { groupBy: 'day', keys }),
    { name: 'timeseries, all', calls: [{ path: 'timeseries', params: { ...range } }] },
    { name: 'timeseries, heaviest user', calls: [{ path: 'timeseries', params: { ...range, userId: info.heavyUser.user_id } }] },
    { name: 'timeseries, 2 top models', calls: [{ path: 'timeseries', params: { ...range, models } }] },
    // The Usage page (src/web/src/usage/UsageView.tsx) loads these at once, and again every 10 s with auto-refresh.
    { name: 'page: admin, everyone', calls: [...['model', 'key', 'user'].map((g): Call => ({ path: 'summary', params: { ...range, groupBy: g } })), { path: 'timeseries', params: { ...range } }] },
    { name: 'page: heaviest user', calls: [...['model', 'key'].map((g): Call => ({ path: 'summary', params: { ...range, groupBy: g, userId: info.heavyUser.user_id } })), { path: 'timeseries', params: { ...range, userId: info.heavyUser.user_id } }] },
  ];

  dataDir = mkdtempSync(join(tmpdir(), 'litemaas-bench-dashboard-'));
  const adminToken = randomBytes(24).toString('base64url');
  server = await startServer({
    ...loadConfig(), port: 0, host: '127.0.0.1', dataDir, databaseUrl: BENCH_URL, adminToken, secret: BENCH_SECRET, logLevel: 'warn',
  });
  say(`LiteMaaS at ${server.url}; measuring ${cases.length} cases: ${WARMUP} warm-up + up to ${REQUESTS} sequential requests each (≤ ${CASE_BUDGET_MS / 1000} s per case), in rounds over the cases`);
  const tm = performance.now();
  const results = await measure(server, adminToken, cases);
  say(`measured in ${secs(performance.now() - tm)} s`);
  await server.close();
  server = undefined;

  const f = (x: number) => x.toFixed(1);
  const L: string[] = [];
  L.push(`Command: ${cmd}${reused ? ` (seeding reused from ${meta.seeded_at.toISOString()})` : ''}`);
  L.push(`Machine: ${cpuModel}, ${availableParallelism()} cores (nproc), Node ${process.version}, PostgreSQL ${info.v} (${info.sets}); load average at start ${load0}; ${new Date().toISOString()}`);
  L.push(`Data: ${fmtInt(meta.events)} usage_events over ${meta.days} days (${meta.history_start.toISOString().slice(0, 10)}…${meta.history_end.toISOString().slice(0, 10)}), ${fmtInt(meta.daily_rows)} usage_daily rows; ${USERS} users, ${MODELS.length} models; ${info.sizes}`);
  L.push(`Seeding: ${secs(meta.seed_ms)} s (${meta.seed_detail}; events in chunks of ${fmtInt(CHUNK)})${reused ? ` — by the run of ${meta.seeded_at.toISOString()}` : ''}`);
  L.push(`Range: ${info.from} … ${info.today} (${WINDOW_DAYS} days): ${fmtInt(info.win.rows)} usage_daily rows, ${fmtInt(info.win.events)} events, ${info.win.keys} keys. Heaviest user: ${info.heavyUser.username}, ${fmtInt(info.heavyUser.events)} events on ${info.heavyUser.keys} keys.`);
  L.push(`Method: one LiteMaaS process (startServer, log level warn) on ${DB_NAME}; ${WARMUP} warm-up requests per case, then up to ${REQUESTS} sequential requests per case in rounds over the cases (≤ ${CASE_BUDGET_MS / 1000} s of requests per case); latency = client-side time to the last byte over keep-alive HTTP on 127.0.0.1. A "page" case sends the Usage page's calls at once and times them to the last answer (its rows and bytes are the sums).`);
  L.push('');
  L.push(`| case | query | rows | bytes | n | p50 ms | p95 ms | p99 ms | max ms | p95 ≤ ${TARGET_P95_MS} ms |`);
  L.push('|---|---|--:|--:|--:|--:|--:|--:|--:|---|');
  const failing: Result[] = [];
  for (const r of results) {
    const describe = (c: Call) => {
      const q = Object.entries(c.params).filter(([k]) => k !== 'from' && k !== 'to')
        .map(([k, v]) => `${k}=${k === 'userId' ? '⟨heaviest⟩' : k === 'models' ? v.replaceAll(',', ', ') : k === 'keys' ? `⟨${v.split(',').length} keys⟩` : v}`).join(' ');
      return `${c.path}${q ? ' ' + q : ''}`;
    };
    const label = r.c.calls.length === 1 ? describe(r.c.calls[0]!)
      : `${r.c.calls.length} at once: ${r.c.calls.map((c) => (c.params.groupBy ? `summary groupBy=${c.params.groupBy}` : c.path)).join(', ')}${r.c.calls[0]!.params.userId ? ', all with userId=⟨heaviest⟩' : ''}`;
    if (r.skipped || !r.samples.length) { L.push(`| ${r.c.name} | ${label} | | | 0 | | | | | skipped: ${r.skipped ?? 'no samples'} |`); continue; }
    const s = [...r.samples].sort((a, b) => a - b);
    const p95 = pct(s, 95);
    if (p95 > TARGET_P95_MS) failing.push(r);
    L.push(`| ${r.c.name} | ${label} | ${r.rows} | ${fmtInt(r.bytes ?? 0)} | ${s.length} | ${f(pct(s, 50))} | ${f(p95)} | ${f(pct(s, 99))} | ${f(s.at(-1)!)} | ${p95 <= TARGET_P95_MS ? 'PASS' : 'FAIL'} |`);
  }
  process.stdout.write(L.join('\n') + '\n');

  const toExplain = flags.explain ? results.filter((r) => r.c.query && !r.skipped) : failing.filter((r) => r.c.query);
  if (toExplain.length) {
    process.stdout.write(`\nEXPLAIN (ANALYZE, BUFFERS) of the UsageService's SQL${flags.explain ? '' : ' for the cases over the target'}:\n`);
    for (const r of toExplain) process.stdout.write(`\n### ${r.c.name}\n${await explain(r.c.query!)}\n`);
  }
}

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    if (seedingPid !== undefined) {
      const pid = seedingPid;
      await withClient(PG_ADMIN, (c) => c.query('select pg_cancel_backend($1)', [pid])).catch(() => {});
    }
    await server?.close().catch(() => {});
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (flags.drop) {
      await withClient(PG_ADMIN, (c) => c.query(`drop database if exists ${DB_NAME} with (force)`)).catch((e: unknown) => say(`drop: ${(e as Error).message}`));
      say(`dropped ${DB_NAME}`);
    }
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => { say(`\n${sig}: stopping…`); void cleanup().then(() => process.exit(130)); });
}
const hardStop = setTimeout(() => { say(`dashboard bench: exceeded ${HARD_LIMIT_MS / 60_000} minutes, stopping`); void cleanup().then(() => process.exit(1)); }, HARD_LIMIT_MS);
hardStop.unref();

main().then(
  async () => { await cleanup(); process.exit(0); },
  async (err: unknown) => { say(`dashboard bench failed: ${(err as Error).stack ?? String(err)}`); await cleanup(); process.exit(1); },
);
