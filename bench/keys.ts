/**
 * Key-count bench for issue 10 (run after `npx tsc -p tsconfig.json`:
 * `node dist/bench/keys.js [sizes…] [--rate 200] [--duration 5]
 * [--concurrency 16] [--usage-rows M]`; sizes default to 0 10000 100000
 * 1000000, and 0 is always measured first as the baseline). Needs the real
 * PostgreSQL (TEST_PG_URL or postgres://postgres@127.0.0.1:5432/postgres);
 * everything else it starts itself, on 127.0.0.1, and stops.
 *
 * One database grows through the sizes (keys inserted straight into
 * PostgreSQL over 10 000 users). For each size: two `litemaas serve`
 * replicas (A, then B) as processes of their own: start-up time (spawn to
 * listening, the snapshot loaded) and RSS; the heap the snapshot takes per
 * key (loaded in this process, after a forced GC); the time from the admin
 * API's answer to a new key being usable on B, and a revoked one refused
 * there; then, against A from a driver process of its own, p99 at a fixed
 * open-loop rate without and with one key created every second through A's
 * admin API, and throughput at a fixed concurrency (closed loop). Prints the
 * table and PASS/FAIL for each target of the issue.
 *
 * With --usage-rows M (default 0: skipped), after the largest size it also
 * inserts M usage_daily rows for today and times SpendTracker.load against
 * the row-by-row read it replaced.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pg from 'pg';
import { sql } from 'kysely';
import { Pool } from 'undici';
import { percentiles, type Pct } from './loadgen.js';
import { Processes, freePort } from './processes.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MODEL = 'bench-model';
const BODY = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Summarize the benefits of a metered gateway in one short paragraph.' }], max_tokens: 16 });

// ---------------------------------------------------------------- driver (its own process)

interface DrivePlan { url: string; key: string; mode: 'open' | 'closed'; rate: number; concurrency: number; durationS: number }
interface DriveResult { requests: number; ok: number; errors: number; errorKinds: Record<string, number>; latency: Pct; sendLag: Pct; seconds: number; rps: number; raw: number[] }

async function drive(plan: DrivePlan): Promise<DriveResult> {
  const pool = new Pool(plan.url, { connections: plan.mode === 'open' ? 128 : plan.concurrency, pipelining: 1 });
  const headers = { authorization: `Bearer ${plan.key}`, 'content-type': 'application/json' };
  const lat: number[] = [], lag: number[] = [];
  const kinds: Record<string, number> = {};
  let ok = 0, errors = 0;
  const now = () => Number(process.hrtime.bigint()) / 1e6;
  const one = async (from: number) => {
    try {
      const r = await pool.request({ method: 'POST', path: '/v1/chat/completions', headers, body: BODY, headersTimeout: 10_000, bodyTimeout: 10_000 });
      const text = await r.body.text();
      if (r.statusCode === 200 && text.includes('"content"')) { ok++; lat.push(now() - from); } else { errors++; kinds[String(r.statusCode)] = (kinds[String(r.statusCode)] ?? 0) + 1; }
    } catch (err) { errors++; const k = (err as { code?: string }).code ?? 'error'; kinds[k] = (kinds[k] ?? 0) + 1; }
  };
  const t0 = now() + 20;
  let requests = 0;
  if (plan.mode === 'open') {
    // Latency from each request's intended send time: a stalled gateway cannot hide its stall.
    const total = Math.round(plan.rate * plan.durationS);
    const inflight: Promise<void>[] = [];
    while (requests < total) {
      const t = now();
      while (requests < total && t0 + (requests * 1000) / plan.rate <= t) {
        const intended = t0 + (requests * 1000) / plan.rate;
        lag.push(t - intended);
        inflight.push(one(intended));
        requests++;
      }
      if (requests < total) await new Promise((r) => setTimeout(r, Math.max(0, t0 + (requests * 1000) / plan.rate - now() - 0.5)));
    }
    await Promise.all(inflight);
  } else {
    while (now() < t0) await new Promise((r) => setTimeout(r, 1));
    const end = t0 + plan.durationS * 1000;
    await Promise.all(Array.from({ length: plan.concurrency }, async () => {
      while (now() < end) { requests++; await one(now()); }
    }));
  }
  const seconds = (now() - t0) / 1000;
  await pool.close();
  return { requests, ok, errors, errorKinds: kinds, latency: percentiles(lat), sendLag: percentiles(lag), seconds, rps: ok / seconds, raw: plan.mode === 'open' ? lat.map((x) => Math.round(x * 1000) / 1000) : [] };
}

if (process.argv[2] === '--drive') {
  process.stdout.write(JSON.stringify(await drive(JSON.parse(process.argv[3]!) as DrivePlan)) + '\n');
  process.exit(0);
}

// ---------------------------------------------------------------- bench

const { values: flags, positionals } = parseArgs({
  options: { rate: { type: 'string' }, duration: { type: 'string' }, concurrency: { type: 'string' }, 'usage-rows': { type: 'string' } },
  allowPositionals: true,
});
const SIZES = [...new Set([0, ...(positionals.length ? positionals.map(Number) : [10_000, 100_000, 1_000_000])])].sort((a, b) => a - b);
const RATE = Number(flags.rate ?? 200), DURATION = Number(flags.duration ?? 5), CONCURRENCY = Number(flags.concurrency ?? 16);
const USAGE_ROWS = Number(flags['usage-rows'] ?? 0);
const PG_ADMIN = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const LOAD_AT_START = loadavg();
const logDir = mkdtempSync(join(tmpdir(), 'litemaas-bench-keys-'));
const cleanups: Array<() => Promise<void>> = [];
const say = (s: string) => process.stderr.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const processes = new Processes(logDir, root);
const procs = processes.all;
const start = (name: string, args: string[], env: Record<string, string> = {}): ChildProcess => processes.start(name, process.execPath, args, env);
const stop = (p: ChildProcess, graceMs = 30_000): Promise<void> => processes.stop(p, graceMs);
const waitReady = (url: string, p: ChildProcess, name: string, timeoutMs = 300_000): Promise<void> => processes.waitReady(url, p, name, timeoutMs, 20);
/** VmRSS and VmHWM (the peak) of a process, MB. */
function rss(pid: number): { now: number; peak: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (f: string) => Number(new RegExp(`${f}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN) / 1024;
  return { now: kb('VmRSS'), peak: kb('VmHWM') };
}
function runDriver(plan: DrivePlan): Promise<DriveResult> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), '--drive', JSON.stringify(plan)], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.add(p);
    let out = '';
    p.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    const killer = setTimeout(() => p.kill('SIGKILL'), (plan.durationS + 30) * 1000);
    p.once('exit', (code) => { clearTimeout(killer); procs.delete(p); code === 0 ? res(JSON.parse(out) as DriveResult) : rej(new Error(`driver exited ${code}`)); });
  });
}

/** Several runs as one: their answers pooled (percentiles over every latency), their rates summed over their time. */
function pool(rs: DriveResult[]): DriveResult {
  const sum = (f: (r: DriveResult) => number) => rs.reduce((a, r) => a + f(r), 0);
  const raw = rs.flatMap((r) => r.raw);
  const kinds: Record<string, number> = {};
  for (const r of rs) for (const [k, v] of Object.entries(r.errorKinds)) kinds[k] = (kinds[k] ?? 0) + v;
  const lag = rs.map((r) => r.sendLag).sort((a, b) => b.p99 - a.p99)[0]!;
  return { requests: sum((r) => r.requests), ok: sum((r) => r.ok), errors: sum((r) => r.errors), errorKinds: kinds, latency: percentiles(raw), sendLag: lag,
    seconds: sum((r) => r.seconds), rps: sum((r) => r.ok) / sum((r) => r.seconds), raw };
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapUsed = () => { gc(); gc(); return process.memoryUsage().heapUsed; };

interface Row {
  keys: number; insertMs: number; loadMs: number; startA: number; startB: number; rssA: number; peakA: number; rssB: number; heapPerKey: number;
  usable: number[]; revoked: number[];
  calm: DriveResult; churn: DriveResult; churnCreated: number; closed: DriveResult; zero: DriveResult; rssAfter: number; peakAfter: number;
}

async function main(): Promise<void> {
  const cli = join(root, 'dist/src/cli.js');
  if (!existsSync(cli)) throw new Error('dist/src/cli.js is missing: run npx tsc -p tsconfig.json');
  const simPort = await freePort();
  const sim = start('simulator', [join(root, 'dist/bench/sim-process.js'), String(simPort)]);
  await waitReady(`http://127.0.0.1:${simPort}/v1/models`, sim, 'simulator');

  const dbName = `litemaas_bench_keys_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect(); await admin.query(`create database ${dbName}`); await admin.end();
  cleanups.push(async () => { const c = new pg.Client({ connectionString: PG_ADMIN }); await c.connect(); try { await c.query(`drop database if exists ${dbName} with (force)`); } finally { await c.end(); } });
  const dbUrl = Object.assign(new URL(PG_ADMIN), { pathname: `/${dbName}` }).toString();
  const token = randomBytes(24).toString('hex'), secret = randomBytes(32).toString('hex');

  let n = 0;
  const replica = async (database: string) => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'litemaas-bench-keys-replica-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const name = `replica-${++n}`;
    const t0 = performance.now();
    const p = start(name, [cli, 'serve'], {
      PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: database, LITEMAAS_ADMIN_TOKEN: token, LITEMAAS_SECRET: secret,
      LITEMAAS_DATA_DIR: dir, LOG_LEVEL: 'warn', REDIS_URL: '',
    });
    const url = `http://127.0.0.1:${port}`;
    await waitReady(`${url}/readyz`, p, name);
    return { p, url, startMs: performance.now() - t0 };
  };
  const api = async (url: string, method: string, path: string, body?: unknown) => {
    const r = await fetch(`${url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const text = await r.text();
    if (r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) as { id: string; key: string } : null;
  };

  const c = new pg.Client({ connectionString: dbUrl });
  // Provisioning through the admin API: the model (on the simulator), the bench user, its subscription and key.
  const provision = async (url: string) => {
    await api(url, 'POST', '/admin/models', { id: MODEL, inputPricePer1M: 0.15, outputPricePer1M: 0.6, deployments: [{ url: `http://127.0.0.1:${simPort}/v1`, upstreamModel: 'llama32-fp8' }] });
    const u = (await api(url, 'POST', '/admin/users', { username: 'bench' }))!;
    await api(url, 'POST', `/admin/users/${u.id}/subscriptions`, { modelId: MODEL });
    return { user: u, key: (await api(url, 'POST', `/admin/users/${u.id}/api-keys`, { name: 'bench', models: [MODEL] }))!.key };
  };
  const first = await replica(dbUrl);
  const { user, key } = await provision(first.url);
  await stop(first.p);
  // Z: a replica with no keys but its bench key on a database of its own, running throughout; every size's throughput is measured in turns with it.
  const zUrl = `${dbUrl}_zero`;
  { const z = new pg.Client({ connectionString: PG_ADMIN }); await z.connect(); await z.query(`create database ${dbName}_zero`); await z.end(); }
  cleanups.push(async () => { const z = new pg.Client({ connectionString: PG_ADMIN }); await z.connect(); try { await z.query(`drop database if exists ${dbName}_zero with (force)`); } finally { await z.end(); } });
  const zero = await replica(zUrl);
  const zKey = (await provision(zero.url)).key;
  await c.connect();
  cleanups.push(() => c.end());
  await c.query(`insert into users (id, username) select 'u' || i, 'user' || i from generate_series(0, 9999) i`);

  const { openStore } = await import('../src/store/db.js');
  const { loadSnapshot } = await import('../src/gateway/snapshot-load.js');
  const { Cipher } = await import('../src/shared/secrets.js');
  const store = await openStore({ databaseUrl: dbUrl, dataDir: tmpdir(), migrate: false });
  cleanups.push(() => store.close());

  const rows: Row[] = [];
  let have = 0;
  for (const N of SIZES) {
    say(`${N} keys: inserting…`);
    let t0 = performance.now();
    if (N > have) {
      await c.query(`insert into api_keys (id, user_id, name, prefix, hash, secret_enc, models)
        select 'key-' || i, 'u' || (i % 10000), 'k' || i, 'sk-x', md5(i::text) || md5((i + 1)::text), 'x', array['${MODEL}'] from generate_series(${have + 1}, ${N}) i`);
      await c.query('analyze api_keys');
      have = N;
    }
    const insertMs = performance.now() - t0;
    // The snapshot alone, in this process: heap per key after a forced GC (the cipher is never used: no deployment token).
    const h0 = heapUsed();
    t0 = performance.now();
    let snap: unknown = await loadSnapshot(store.db, new Cipher(secret));
    const loadMs = performance.now() - t0;
    const heapPerKey = N ? (heapUsed() - h0) / N : 0;
    snap = null;
    void snap;

    say(`${N} keys: starting replicas…`);
    const a = await replica(dbUrl);
    const ra = rss(a.p.pid!);
    const b = await replica(dbUrl);
    const rb = rss(b.p.pid!);
    const status = (url: string, k: string) => fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${k}` } }).then((r) => r.status);
    const until = async (ok: () => Promise<boolean>) => { const d = Date.now() + 10_000; while (!(await ok())) { if (Date.now() > d) throw new Error('not within 10 s'); await sleep(1); } };
    const usable: number[] = [], revoked: number[] = [];
    for (let i = 0; i < 10; i++) {
      t0 = performance.now();
      const k = (await api(a.url, 'POST', `/admin/users/${user.id}/api-keys`, { name: `new${i}`, models: [MODEL] }))!;
      await until(async () => (await status(b.url, k.key)) === 200);
      usable.push(performance.now() - t0);
      t0 = performance.now();
      await api(a.url, 'DELETE', `/admin/api-keys/${k.id}`);
      await until(async () => (await status(b.url, k.key)) === 401);
      revoked.push(performance.now() - t0);
    }
    await stop(b.p);

    say(`${N} keys: load on A…`);
    const open = { url: a.url, key, mode: 'open' as const, rate: RATE, concurrency: CONCURRENCY, durationS: DURATION };
    await runDriver({ ...open, durationS: 1.5 }); // warm-up
    // Without and with churn in turns (calm, churn, churn, calm), so that drift of a shared machine lands on both alike.
    let churnCreated = 0;
    const withChurn = async () => {
      let churning = true;
      const churn = (async () => {
        let next = performance.now();
        while (churning) {
          await api(a.url, 'POST', `/admin/users/${user.id}/api-keys`, { name: `churn${N}-${churnCreated}`, models: [MODEL] });
          churnCreated++;
          next += 1000;
          await sleep(Math.max(0, next - performance.now()));
        }
      })();
      try { return await runDriver({ ...open, durationS: DURATION / 2 }); } finally { churning = false; await churn; }
    };
    const half = { ...open, durationS: DURATION / 2 };
    const c1 = await runDriver(half), x1 = await withChurn(), x2 = await withChurn(), c2 = await runDriver(half);
    const calm = pool([c1, c2]), churned = pool([x1, x2]);
    // Throughput in turns with the 0-key replica Z: Z, A, Z, A, Z, A.
    const closedA: DriveResult[] = [], closedZ: DriveResult[] = [];
    for (let i = 0; i < 3; i++) {
      closedZ.push(await runDriver({ ...open, url: zero.url, key: zKey, mode: 'closed', durationS: DURATION / 2 }));
      closedA.push(await runDriver({ ...open, mode: 'closed', durationS: DURATION / 2 }));
    }
    const closed = pool(closedA), zeroRun = pool(closedZ);
    const rAfter = rss(a.p.pid!);
    await stop(a.p);
    rows.push({
      keys: N, insertMs, loadMs, startA: a.startMs, startB: b.startMs, rssA: ra.now, peakA: ra.peak, rssB: rb.now, heapPerKey,
      usable, revoked, calm, churn: churned, churnCreated, closed, zero: zeroRun, rssAfter: rAfter.now, peakAfter: rAfter.peak,
    });
    say(`  start A ${a.startMs.toFixed(0)} ms, B ${b.startMs.toFixed(0)} ms; RSS A ${ra.now.toFixed(0)} MB; heap ${heapPerKey.toFixed(0)} B/key; p99 ${calm.latency.p99.toFixed(2)} / churn ${churned.latency.p99.toFixed(2)} ms; ${closed.rps.toFixed(0)} req/s`);
  }
  await stop(zero.p);
  await stop(sim);

  const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '—');
  const med = (x: number[]) => [...x].sort((p, q) => p - q)[x.length >> 1]!;
  const L: string[] = [];
  const cp = cpus();
  L.push(`Machine: ${cp[0]?.model.trim() ?? '?'}, ${cp.length} cores, Linux ${release()}, Node ${process.version}; load average at start ${LOAD_AT_START.map((x) => x.toFixed(2)).join(' ')}; finished ${new Date().toISOString()}`);
  L.push(`Command: node dist/bench/keys.js${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`);
  L.push(`Replicas: \`litemaas serve\` processes without Redis on one PostgreSQL database; load against replica A from a driver process: non-streamed chat completions (max_tokens 16) to the simulator. Open loop at ${RATE} req/s (after 1.5 s of warm-up), latency from the intended send time: ${DURATION} s without churn and ${DURATION} s with a key created every second through A's admin API, in turns (${DURATION / 2} s calm, churn, churn, calm; percentiles over the pooled answers). Closed loop at concurrency ${CONCURRENCY}: 3 × ${DURATION / 2} s on A in turns with 3 × ${DURATION / 2} s on a replica of a database without keys (Z, running throughout).`);
  L.push('');
  L.push('| keys | insert (SQL) ms | snapshot load ms (in the bench process) | start-up A / B ms | RSS A after start MB (peak) | RSS B MB | snapshot heap B/key | new key usable on B: median / max ms | revoked refused on B: median / max ms | p50 / p99 ms at ' + RATE + ' req/s | p99 ms with a key created every second (keys created) | errors | closed-loop req/s: A / the 0-key replica in turns | RSS A at the end MB (peak) |');
  L.push('|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const r of rows) {
    const errs = r.calm.errors + r.churn.errors + r.closed.errors;
    L.push(`| ${r.keys.toLocaleString('en-US')} | ${f(r.insertMs)} | ${f(r.loadMs)} | ${f(r.startA)} / ${f(r.startB)} | ${f(r.rssA)} (${f(r.peakA)}) | ${f(r.rssB)} | ${r.keys ? f(r.heapPerKey) : '—'} | ${f(med(r.usable), 1)} / ${f(Math.max(...r.usable), 1)} | ${f(med(r.revoked), 1)} / ${f(Math.max(...r.revoked), 1)} | ${f(r.calm.latency.p50, 2)} / ${f(r.calm.latency.p99, 2)} | ${f(r.churn.latency.p99, 2)} (${r.churnCreated}) | ${errs} | ${f(r.closed.rps)} / ${f(r.zero.rps)} (${f((r.closed.rps / r.zero.rps - 1) * 100, 1)} %) | ${f(r.rssAfter)} (${f(r.peakAfter)}) |`);
  }
  L.push('');
  const big = rows[rows.length - 1]!;
  const verdict = (ok: boolean, s: string) => L.push(`- ${ok ? 'PASS' : 'FAIL'}: ${s}`);
  for (const r of rows) {
    if (r.keys === 0) continue;
    const k = r.keys.toLocaleString('en-US');
    verdict(Math.max(r.rssA, r.rssAfter) <= 1024, `${k} keys: RSS of one replica ${f(r.rssA)} MB after start-up, ${f(r.rssAfter)} MB after the load phases (target ≤ 1 GB; peak ${f(Math.max(r.peakA, r.peakAfter))} MB)`);
    verdict(Math.max(...r.usable) <= 1000, `${k} keys: a new key usable on the other replica within ${f(Math.max(...r.usable), 1)} ms (target ≤ 1 s)`);
    verdict(r.churn.latency.p99 - r.calm.latency.p99 <= 2, `${k} keys: p99 with a key created every second ${f(r.churn.latency.p99, 2)} ms vs ${f(r.calm.latency.p99, 2)} ms without (target: within 2 ms)`);
    verdict(r.closed.rps >= r.zero.rps * 0.95, `${k} keys: throughput ${f(r.closed.rps)} req/s vs ${f(r.zero.rps)} req/s of the 0-key replica measured in turns with it (target: within 5 %)`);
  }
  const base = rows[0]!;
  L.push(`- info: bytes per key at ${big.keys.toLocaleString('en-US')} keys: snapshot heap ${f(big.heapPerKey)} B; RSS of a replica after start-up ${big.keys ? f(((big.rssA - base.rssA) * 1048576) / big.keys) : '—'} B/key over the 0-key row`);
  for (const r of rows) for (const d of [r.calm, r.churn]) if (d.sendLag.p99 > 2) L.push(`- ${r.keys} keys: the driver's send lag p99 ${f(d.sendLag.p99, 2)} ms (latency counts it)`);
  process.stdout.write(L.join('\n') + '\n');

  if (USAGE_ROWS > 0 && have > 0) await spendLoad(c, store.db, have, USAGE_ROWS);
}

/** SpendTracker.load with M usage_daily rows for today (N keys × M/N models), aggregated against the old row-by-row read. */
async function spendLoad(c: pg.Client, db: import('kysely').Kysely<import('../src/store/schema.js').Database>, N: number, M: number): Promise<void> {
  const { SpendTracker } = await import('../src/ledger/budgets.js');
  const per = Math.max(1, Math.round(M / N));
  let t0 = performance.now();
  await c.query(`insert into usage_daily (day, key_id, user_id, model_id, requests, prompt_tokens, completion_tokens, cost)
    select current_date, 'key-' || i, 'u' || (i % 10000), 'm' || m, 1, 10, 20, 0.000123 from generate_series(1, ${N}) i, generate_series(1, ${per}) m`);
  await c.query('analyze usage_daily');
  say(`inserted ${N * per} usage_daily rows for today in ${(performance.now() - t0).toFixed(0)} ms`);
  for (let round = 0; round < 2; round++) {
    t0 = performance.now();
    const scopes = await oldLoad(db);
    process.stdout.write(`before (every row read, day buckets per scope): ${(performance.now() - t0).toFixed(0)} ms, ${scopes} scopes\n`);
    t0 = performance.now();
    await new SpendTracker().load(db);
    process.stdout.write(`after  (aggregated per scope and segment):      ${(performance.now() - t0).toFixed(0)} ms\n`);
  }
}

/** The load SpendTracker.load replaced, for comparison: every row of the window, summed in JS. */
async function oldLoad(db: import('kysely').Kysely<import('../src/store/schema.js').Database>): Promise<number> {
  const { periodStart } = await import('../src/ledger/budgets.js');
  const { toPico } = await import('../src/shared/money.js');
  const now = new Date();
  const w = [periodStart('weekly', now)!, periodStart('monthly', now)!].sort()[0]!;
  const recent = await db.selectFrom('usage_daily')
    .select(['day', 'key_id', 'user_id', 'model_id', 'requests', 'prompt_tokens', 'completion_tokens', 'cost']).where('day', '>=', w).execute();
  await sql`select 'k:' || key_id as id, sum(cost)::text as cost from usage_daily where day < ${w} group by key_id
    union all select 'u:' || user_id as id, sum(cost)::text as cost from usage_daily where day < ${w} group by user_id`.execute(db);
  const scopes = new Map<string, Map<string, { cost: bigint; requests: number; tokens: number }>>();
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

let cleaning: Promise<void> | undefined;
const cleanup = () => (cleaning ??= (async () => {
  await Promise.all([...procs].map((p) => stop(p, 10_000).catch(() => {})));
  for (const f of cleanups.reverse()) await f().catch((e: unknown) => say(`cleanup: ${(e as Error).message}`));
})());
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { say(`${sig}: stopping…`); void cleanup().then(() => process.exit(130)); });
setTimeout(() => { say('keys bench: over 30 minutes, stopping'); void cleanup().then(() => process.exit(1)); }, 30 * 60_000).unref();
main().then(async () => { await cleanup(); rmSync(logDir, { recursive: true, force: true }); process.exit(0); },
  async (err: unknown) => { say(`keys bench failed: ${(err as Error).stack ?? String(err)} (logs in ${logDir})`); await cleanup(); process.exit(1); });
