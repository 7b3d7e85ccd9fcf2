/**
 * @module `npm run bench`: gateway overhead, measured side by side in one run
 * against the same upstream simulator — the simulator direct, a bare
 * node:http + undici proxy, LiteMaaS with full metering on PostgreSQL and on
 * embedded PGlite (the default without DATABASE_URL), and Portkey's gateway. Every target, the simulator and the load generator are
 * separate processes; all traffic goes to 127.0.0.1; every phase is bounded
 * in time; everything started here is stopped (and the database dropped) at
 * the end, on error and on Ctrl-C.
 *
 * Method: all targets are started, then one load generator process
 * (loadgen.ts) measures them side by side — each phase (max throughput, open
 * loop non-streaming, open loop streaming) cut into 1 s slices rotating over
 * the targets, with a pause after each slice until the machine is quiet.
 *
 * Flags (or env): --duration S (BENCH_DURATION, 5) per target and phase;
 * --rate R (BENCH_RATE, 500) open-loop offered rate; --connections N
 * (BENCH_CONNECTIONS, 64) closed-loop concurrency; --warmup S (BENCH_WARMUP, 1);
 * --only sim,bare,litemaas,litemaas-pglite,portkey,property (BENCH_ONLY; all by default), or replicas (not
 * in the default: bench/admission.ts — the admission seam alone, in process and on Redis with and without leases —
 * then bench/replicas.ts — 1, 2, 3 replicas with and without Redis, its own report); --profile (BENCH_PROFILE=1):
 * LiteMaaS under --cpu-prof, top self-time functions printed;
 * --sim-ttft-ms / --sim-itl-ms: simulator latency (0 = pure gateway overhead).
 * --property-runs N (PROPERTY_RUNS, 500): after the measurements, the metering property suite
 * (test/property.test.ts) runs with N generated runs instead of npm test's 40.
 * BENCH_PG_URL: PostgreSQL admin URL (postgres://postgres@127.0.0.1:5432/postgres).
 * BENCH_LOADGEN_NICE: nice value for the load generator (unset = same as everything else).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, release, setPriority, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { LoadEvent, LoadPhase, LoadPlan, PhaseResult } from './loadgen.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dist = join(root, 'dist');
const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string' }, rate: { type: 'string' }, connections: { type: 'string' }, warmup: { type: 'string' },
    only: { type: 'string' }, profile: { type: 'boolean' }, 'sim-ttft-ms': { type: 'string' }, 'sim-itl-ms': { type: 'string' },
    'property-runs': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (flags.help) {
  process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]!.replace(/^\/\*\*|^ \* ?/gm, '') + '\n');
  process.exit(0);
}
const env = process.env;
const DURATION = Number(flags.duration ?? env.BENCH_DURATION ?? 5);
const RATE = Number(flags.rate ?? env.BENCH_RATE ?? 500);
const CONNS = Number(flags.connections ?? env.BENCH_CONNECTIONS ?? 64);
const WARMUP = Number(flags.warmup ?? env.BENCH_WARMUP ?? 1);
const ONLY_RAW = flags.only ?? env.BENCH_ONLY;
const ONLY = new Set((ONLY_RAW ?? 'sim,bare,litemaas,litemaas-pglite,portkey,property').split(',').map((s) => s.trim()));
const PROPERTY_RUNS = Number(flags['property-runs'] ?? env.PROPERTY_RUNS ?? 500);
const PROFILE = flags.profile === true || env.BENCH_PROFILE === '1';
const SIM_TTFT = flags['sim-ttft-ms'] ?? env.BENCH_SIM_TTFT_MS;
const SIM_ITL = flags['sim-itl-ms'] ?? env.BENCH_SIM_ITL_MS;
const PG_ADMIN = env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PORTKEY_VERSION = '1.15.2';
/** Portkey-AI/gateway#1389: with @hono/node-server ≥ 1.14.2 its responses carry fetch's immutable headers and every streamed chat completion fails with "TypeError: immutable". */
const PORTKEY_HONO_PIN = '1.14.1';
const MODEL = 'Llama-3.2-3B-Instruct-FP8';
const UPSTREAM_MODEL = 'llama32-fp8';
const MESSAGE = 'Summarize the benefits of a metered gateway in one short paragraph. Mention usage tracking and cost per API key.';
for (const [k, v] of Object.entries({ duration: DURATION, rate: RATE, connections: CONNS, warmup: WARMUP, 'property-runs': PROPERTY_RUNS })) {
  if (!Number.isFinite(v) || v <= 0) { process.stderr.write(`bench: --${k} must be a positive number\n`); process.exit(2); }
}
for (const k of ONLY) if (!['sim', 'bare', 'litemaas', 'litemaas-pglite', 'portkey', 'property', 'replicas'].includes(k)) { process.stderr.write(`bench: unknown target '${k}' in --only\n`); process.exit(2); }

const LOAD_AT_START = loadavg();
const logDir = mkdtempSync(join(tmpdir(), 'litemaas-bench-logs-'));
const children = new Set<ChildProcess>();
const cleanups: Array<() => Promise<void>> = [];
const say = (s: string) => process.stderr.write(`${s}\n`);

// ---------------------------------------------------------------- processes

interface Child { proc: ChildProcess; log: string; name: string }

function startChild(name: string, args: string[], extraEnv: Record<string, string> = {}, cwd = root): Child {
  const log = join(logDir, `${name}.log`);
  const fd = openSync(log, 'a');
  // Output goes to a file, never to a pipe this process must drain: a child
  // writing to a full pipe would block its event loop mid-measurement.
  const proc = spawn(process.execPath, args, { cwd, env: { ...env, ...extraEnv }, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return { proc, log, name };
}

const tail = (file: string, n = 15) => { try { return readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-n).join('\n'); } catch { return ''; } };

async function stopChild(proc: ChildProcess, graceMs = 10_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs))]);
  if (proc.exitCode === null && proc.signalCode === null) { proc.kill('SIGKILL'); await exited; }
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => res(p)); });
  });
}

/** Polls until `url` answers with a status `ok` accepts; fails fast if the child died. */
async function waitReady(c: Child, url: string, ok: (status: number) => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    if (c.proc.exitCode !== null || c.proc.signalCode !== null) throw new Error(`${c.name} exited (${c.proc.exitCode ?? c.proc.signalCode}): ${tail(c.log, 5).replace(/\s+/g, ' ').slice(-400)}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await r.arrayBuffer();
      if (ok(r.status)) return;
      last = `HTTP ${r.status}`;
    } catch (err) { last = (err as Error).message; }
    if (Date.now() > deadline) throw new Error(`${c.name}: ${url} not ready after ${timeoutMs / 1000} s (${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function procStatus(pid: number): { rssMb: number; hwmMb: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN) / 1024;
    return { rssMb: kb('VmRSS'), hwmMb: kb('VmHWM') };
  } catch { return undefined; }
}

const CLK_TCK = (() => { try { return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100; } catch { return 100; } })();
const HAS_SCHEDSTAT = existsSync(`/proc/${process.pid}/task/${process.pid}/schedstat`);
/** CPU time a process has used, in µs: the sum of its threads' schedstat (ns resolution), else utime+stime (clock ticks). */
function cpuUs(pid: number): number {
  try {
    if (HAS_SCHEDSTAT) {
      let ns = 0;
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        try { ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]); } catch { /* thread gone */ }
      }
      return ns / 1000;
    }
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK;
  } catch { return NaN; }
}

/** PostgreSQL server processes on this machine (none if it runs elsewhere). */
function postgresPids(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try { if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === 'postgres') out.push(Number(d)); } catch { /* gone */ }
  }
  return out;
}
/** CPU used by PostgreSQL since `before` (processes started since count from zero). */
function pgCpuSince(before: Map<number, number>): number {
  let us = 0;
  for (const pid of postgresPids()) { const c = cpuUs(pid); if (Number.isFinite(c)) us += c - (before.get(pid) ?? 0); }
  return us;
}
const pgSnapshot = () => new Map(postgresPids().map((p) => [p, cpuUs(p)]));
const sumCpu = (pids: number[]) => pids.reduce((a, p) => { const c = cpuUs(p); return Number.isFinite(c) ? a + c : a; }, 0);

/**
 * Waits until the watched processes (and PostgreSQL) are quiet — < 3 % of a
 * core over 200 ms — so work a target deferred (metering flushes, database
 * writes) is done, and charged to it, before the next target's slice starts.
 * At most 2 s per pause and 30 s per run; after that, 200 ms pauses.
 */
let settleBudgetMs = 30_000;
async function settle(fixed: number[]): Promise<number> {
  const start = Date.now();
  const pids = [...fixed, ...postgresPids()];
  let prev = sumCpu(pids);
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    const cur = sumCpu(pids);
    const waited = Date.now() - start;
    if (cur - prev < 6_000 || waited >= Math.min(2_000, settleBudgetMs)) { settleBudgetMs -= waited; return waited; }
    prev = cur;
  }
}

// ---------------------------------------------------------------- load

interface Target { key: string; name: string; url: string; headers: Record<string, string>; model: string; pid?: number; dbName?: string; servesResponses?: boolean }
interface Row {
  key: string; name: string; note?: string;
  max?: PhaseResult; open?: PhaseResult; stream?: PhaseResult; responses?: PhaseResult;
  mem?: { rssMb: number; hwmMb: number }; cpuUsPerReq?: number; simCpuUsPerReq?: number;
  /** every request this target got, warm-up included */
  totalRequests?: number;
  /** CPU of all PostgreSQL processes during this target's max-throughput slices (and their settling), per request */
  pgCpuUsPerReq?: number;
}

/**
 * Runs the load generator (its own process) over all started targets side by
 * side, and samples each target's and the simulator's CPU time around that
 * target's slices of the max-throughput phase.
 */
async function measureAll(targets: Target[], simPid: number): Promise<Map<string, Row>> {
  const body = (t: Target, stream: boolean) => JSON.stringify({
    model: t.model, messages: [{ role: 'user', content: MESSAGE }], max_tokens: 32,
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
  const phases: LoadPhase[] = [
    { name: 'warmup', mode: 'closed', concurrency: Math.min(32, CONNS), durationS: WARMUP, warmup: true },
    { name: 'warmup-stream', mode: 'open', rate: RATE, durationS: Math.min(0.5, WARMUP), stream: true, warmup: true },
    { name: 'max', mode: 'closed', concurrency: CONNS, durationS: DURATION },
    { name: 'open', mode: 'open', rate: RATE, durationS: DURATION },
    { name: 'stream', mode: 'open', rate: RATE, durationS: DURATION, stream: true },
    { name: 'responses', mode: 'open', rate: RATE, durationS: DURATION, stream: true, api: 'responses' },
  ];
  const plan: LoadPlan = {
    targets: targets.map((t) => ({
      key: t.key, url: t.url, path: '/v1/chat/completions', headers: { 'content-type': 'application/json', ...t.headers },
      body: body(t, false), streamBody: body(t, true),
      ...(t.servesResponses ? { responses: { path: '/v1/responses', streamBody: JSON.stringify({ model: t.model, input: MESSAGE, max_output_tokens: 32, stream: true }) } } : {}),
    })),
    phases, sliceS: Math.min(1, DURATION), graceS: 10, openConnections: 256, handshake: true,
  };
  const rows = new Map(targets.map((t) => [t.key, { key: t.key, name: t.name } as Row]));
  const cpu = new Map(targets.map((t) => [t.key, { t0: 0, s0: 0, p0: new Map<number, number>(), target: 0, sim: 0, pg: 0 }]));
  const hasPg = postgresPids().length > 0;
  const watched = [simPid, ...targets.flatMap((t) => (t.pid ? [t.pid] : []))];
  let settleMs = 0, settles = 0, settleCapped = 0;
  const pidOf = new Map(targets.map((t) => [t.key, t.pid]));
  const proc = spawn(process.execPath, [join(dist, 'bench/loadgen.js'), JSON.stringify(plan)], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(proc);
  proc.stdin!.on('error', () => { /* it exited; its exit code tells */ });
  if (env.BENCH_LOADGEN_NICE) setPriority(proc.pid!, Number(env.BENCH_LOADGEN_NICE));
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  let lastPhase = '';
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const e = JSON.parse(line) as LoadEvent;
    if (e.event === 'done') { for (const [k, n] of Object.entries(e.totals)) rows.get(k)!.totalRequests = n; return; }
    if (e.event === 'slice') {
      if (e.edge === 'start' && e.phase !== lastPhase) { say(`  phase ${e.phase}…`); lastPhase = e.phase; }
      const c = cpu.get(e.target)!;
      const pid = pidOf.get(e.target);
      if (e.edge === 'start') {
        if (e.phase === 'max') { c.t0 = pid ? cpuUs(pid) : NaN; c.s0 = cpuUs(simPid); c.p0 = pgSnapshot(); }
        return;
      }
      void settle(watched).then((ms) => {
        settleMs += ms; settles++; if (ms >= 2_000) settleCapped++;
        if (e.phase === 'max') { c.target += (pid ? cpuUs(pid) : NaN) - c.t0; c.sim += cpuUs(simPid) - c.s0; c.pg += pgCpuSince(c.p0); }
        proc.stdin!.write('go\n');
      });
      return;
    }
    const r = e.result;
    const row = rows.get(r.target)!;
    if (r.phase === 'max') {
      const c = cpu.get(r.target)!;
      row.max = r;
      row.cpuUsPerReq = pidOf.get(r.target) ? c.target / Math.max(1, r.requests) : undefined;
      row.simCpuUsPerReq = c.sim / Math.max(1, r.requests);
      if (hasPg) row.pgCpuUsPerReq = c.pg / Math.max(1, r.requests);
    } else if (r.phase === 'open') row.open = r;
    else if (r.phase === 'stream') row.stream = r;
    else if (r.phase === 'responses') row.responses = r;
    if (r.errors) say(`  ${r.target} ${r.phase}: ${r.errors} errors ${JSON.stringify(r.errorKinds)}; first: ${r.firstError}`);
  });
  const limitMs = (targets.length * phases.reduce((s, p) => s + p.durationS + 12 * Math.max(1, Math.round(p.durationS)), 0) + 30) * 1000;
  const killer = setTimeout(() => proc.kill('SIGKILL'), limitMs);
  const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
  clearTimeout(killer);
  children.delete(proc);
  if (code !== 0) throw new Error(`load generator exited ${code}: ${err.slice(-500)}`);
  say(`  settling between slices: ${settles} pauses, ${(settleMs / 1000).toFixed(1)} s in all${settleCapped ? `, ${settleCapped} cut short (machine not quiet)` : ''}`);
  for (const t of targets) if (t.pid) rows.get(t.key)!.mem = procStatus(t.pid);
  return rows;
}

// ---------------------------------------------------------------- targets

async function startSim(): Promise<{ url: string; child: Child }> {
  const port = await freePort();
  const entry = join(dist, 'bench/sim-process.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing — run npm run build`);
  const child = startChild('simulator', [entry, String(port), SIM_TTFT ?? '', SIM_ITL ?? '']);
  const url = `http://127.0.0.1:${port}`;
  await waitReady(child, `${url}/v1/models`, (s) => s === 200, 20_000);
  return { url, child };
}

async function startBare(simUrl: string): Promise<{ target: Target; child: Child }> {
  const port = await freePort();
  const child = startChild('bare-proxy', [join(dist, 'bench/bare-proxy.js'), String(port), simUrl]);
  const url = `http://127.0.0.1:${port}`;
  await waitReady(child, `${url}/v1/models`, (s) => s === 200);
  return { target: { key: 'bare', name: 'bare proxy (node:http + undici)', url, headers: {}, model: UPSTREAM_MODEL, pid: child.proc.pid, servesResponses: true }, child };
}

/** A fresh database on the bench's PostgreSQL, dropped at the end. */
async function createBenchDatabase(): Promise<{ dbName: string; url: string }> {
  const dbName = `litemaas_bench_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
  } catch (err) {
    throw new Error(`cannot create the bench database on ${PG_ADMIN} (${(err as Error).message})`);
  } finally { await admin.end().catch(() => {}); }
  cleanups.push(async () => {
    const c = new pg.Client({ connectionString: PG_ADMIN });
    await c.connect();
    try { await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`); } finally { await c.end(); }
  });
  const dbUrl = new URL(PG_ADMIN);
  dbUrl.pathname = `/${dbName}`;
  return { dbName, url: dbUrl.toString() };
}

/** LiteMaaS on PostgreSQL (a fresh bench database) or on embedded PGlite (no DATABASE_URL: files in its data dir). */
const LITEMAAS_NAME = { litemaas: 'LiteMaaS (metered, PostgreSQL)', 'litemaas-pglite': 'LiteMaaS (metered, PGlite)' };

async function startLiteMaaS(simUrl: string, store: 'postgres' | 'pglite'): Promise<{ target: Target; child: Child; profileDir?: string }> {
  const cli = join(dist, 'src/cli.js');
  if (!existsSync(cli)) throw new Error('not available: dist/src/cli.js is missing (run npm run build)');
  const db = store === 'postgres' ? await createBenchDatabase() : undefined;
  const key = store === 'postgres' ? 'litemaas' : 'litemaas-pglite';
  const dataDir = mkdtempSync(join(tmpdir(), 'litemaas-bench-data-'));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const token = randomBytes(24).toString('hex');
  const port = await freePort();
  const profileDir = PROFILE ? mkdtempSync(join(tmpdir(), 'litemaas-bench-prof-')) : undefined;
  // An empty DATABASE_URL means unset (config.ts), so an inherited one cannot turn the PGlite target into PostgreSQL.
  const child = startChild(key, [...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []), cli, 'serve'], {
    PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: db?.url ?? '', LITEMAAS_ADMIN_TOKEN: token,
    LITEMAAS_DATA_DIR: dataDir, LITEMAAS_SECRET: randomBytes(32).toString('hex'), LOG_LEVEL: 'warn',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(child, `${url}/readyz`, (s) => s === 200, 60_000);
  const api = async <T>(path: string, b: unknown): Promise<T> => {
    const r = await fetch(`${url}/api/v1${path}`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(b),
    });
    const text = await r.text();
    if (r.status >= 300) throw new Error(`provisioning ${path}: HTTP ${r.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  };
  await api('/admin/models', { id: MODEL, inputPricePer1M: 0.15, outputPricePer1M: 0.6, deployments: [{ url: `${simUrl}/v1`, upstreamModel: UPSTREAM_MODEL }] });
  const user = await api<{ id: string }>('/admin/users', { username: 'bench' });
  await api(`/admin/users/${user.id}/subscriptions`, { modelId: MODEL });
  const apiKey = await api<{ key: string }>(`/admin/users/${user.id}/api-keys`, { name: 'bench', models: [MODEL] });
  // The key must work before measuring (keys may reach the gateway's cache asynchronously).
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${apiKey.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'ping' }], max_tokens: 4 }),
    });
    const text = await r.text();
    if (r.status === 200) break;
    if (Date.now() > deadline) throw new Error(`LiteMaaS refused the bench key: HTTP ${r.status} ${text.slice(0, 200)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
  return {
    target: { key, name: LITEMAAS_NAME[key], url, headers: { authorization: `Bearer ${apiKey.key}` }, model: MODEL, pid: child.proc.pid, dbName: db?.dbName, servesResponses: true },
    child, profileDir,
  };
}

function ensurePortkey(): string {
  const dir = join(root, 'bench/.portkey');
  const pkgDir = join(dir, 'node_modules/@portkey-ai/gateway');
  const entry = join(pkgDir, 'build/start-server.js');
  const installed = (name: string) => { try { return (JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version; } catch { return undefined; } };
  if (installed('@portkey-ai/gateway') === PORTKEY_VERSION && installed('@hono/node-server') === PORTKEY_HONO_PIN && existsSync(entry)) return entry;
  say(`installing @portkey-ai/gateway@${PORTKEY_VERSION} into bench/.portkey (pinning @hono/node-server@${PORTKEY_HONO_PIN}, see Portkey-AI/gateway#1389)…`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({
    private: true, description: 'bench only, gitignored', dependencies: { '@portkey-ai/gateway': PORTKEY_VERSION },
    overrides: { '@hono/node-server': PORTKEY_HONO_PIN },
  }, null, 2) + '\n');
  execFileSync('npm', ['install', '--prefix', dir, `@portkey-ai/gateway@${PORTKEY_VERSION}`, '--save-exact', '--no-audit', '--no-fund'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 });
  if (!existsSync(entry)) throw new Error(`install finished but ${entry} is missing`);
  return entry;
}

async function startPortkey(simUrl: string): Promise<{ target: Target; child: Child }> {
  const entry = ensurePortkey();
  const port = await freePort();
  // build/start-server.js takes --port=N (default 8787) and --headless (no UI).
  // It binds every interface (no host option); the bench only talks to 127.0.0.1.
  const child = startChild('portkey', [entry, `--port=${port}`, '--headless'], { NODE_ENV: 'production' }, join(root, 'bench/.portkey'));
  const url = `http://127.0.0.1:${port}`;
  await waitReady(child, `${url}/`, (s) => s === 200);
  return {
    target: {
      key: 'portkey', name: `Portkey gateway ${PORTKEY_VERSION}`, url, model: UPSTREAM_MODEL, pid: child.proc.pid,
      headers: { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${simUrl}/v1`, authorization: 'Bearer x' },
    },
    child,
  };
}

// ---------------------------------------------------------------- profile

interface CpuProfile { nodes: Array<{ id: number; children?: number[]; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }>; samples: number[]; timeDeltas: number[] }

function topSelfTime(dir: string): string {
  // One profile per thread (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile): the main thread's (0) is the
  // request path; on PGlite the database's worker thread writes its own beside it.
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  const file = files.filter((f) => /\.0\.\d+\.cpuprofile$/.test(f)).pop() ?? files.pop();
  if (!file) return '(no .cpuprofile written — did LiteMaaS exit cleanly on SIGTERM?)';
  const prof = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i + 1] ?? prof.timeDeltas[i] ?? 0; // a sample's time runs until the next sample
    selfUs.set(prof.samples[i]!, (selfUs.get(prof.samples[i]!) ?? 0) + Math.max(0, dt));
  }
  const short = (u: string) => u.replace(/^file:\/\//, '').replace(`${root}/`, '');
  const fn = new Map<string, number>(), mod = new Map<string, number>();
  let total = 0, idle = 0;
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)!.callFrame;
    if (cf.functionName === '(idle)') { idle += us; continue; }
    total += us;
    const url = short(cf.url);
    // A native frame (no URL, e.g. writev) is named with its JS caller, which tells which writev it is.
    const caller = !url && parent.has(id) ? byId.get(parent.get(id)!)!.callFrame : undefined;
    const where = url ? `${url}:${cf.lineNumber + 1}:${cf.columnNumber + 1}` : caller?.url ? `← ${caller.functionName || '(anonymous)'} ${short(caller.url)}:${caller.lineNumber + 1}` : '';
    const k = `${cf.functionName || '(anonymous)'}  ${where}`;
    fn.set(k, (fn.get(k) ?? 0) + us);
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? (url.startsWith('dist/') ? url : url.startsWith('node:') ? 'node: (core JS)' : url ? url : (cf.functionName || '(native)'));
    mod.set(m, (mod.get(m) ?? 0) + us);
  }
  const fmt = (m: Map<string, number>, k: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k)
    .map(([name, us]) => `${(us / 1000).toFixed(1).padStart(9)} ms ${((100 * us) / (total || 1)).toFixed(1).padStart(5)}%  ${name}`).join('\n');
  const others = files.filter((f) => f !== file);
  return `profile ${join(dir, file)}${others.length ? ` (main thread; other threads: ${others.join(', ')})` : ''}: ${(total / 1e6).toFixed(2)} s busy, ${(idle / 1e6).toFixed(2)} s idle (whole process life, incl. start-up and provisioning)\n\n` +
    `Top 25 functions by self time (% of busy):\n${fmt(fn, 25)}\n\nSelf time by module/file:\n${fmt(mod, 15)}`;
}

// ---------------------------------------------------------------- report

const median = (a: number[]) => { const b = a.filter(Number.isFinite).sort((x, y) => x - y); return b.length ? (b.length % 2 ? b[(b.length - 1) / 2]! : (b[b.length / 2 - 1]! + b[b.length / 2]!) / 2) : NaN; };
/**
 * Median over rounds of (a's slice p50 − b's slice p50). Slices of one round
 * ran back to back, so slow drift of a shared machine cancels out — a sturdier
 * estimate of the p50 difference than the difference of pooled p50s.
 */
const pairedP50Delta = (a: PhaseResult, b: PhaseResult) => median(a.sliceP50.map((x, i) => x - (b.sliceP50[i] ?? NaN)));
const f = (n: number | undefined, d = 3) => (n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(d));

function report(rows: Row[], cmd: string, notes: string[]): string {
  const get = (k: string) => rows.find((r) => r.key === k && !r.note);
  const bare = get('bare'), pk = get('portkey');
  const c = cpus();
  const L: string[] = [];
  L.push(`Machine: ${c[0]?.model.trim() ?? '?'}, ${c.length} cores, Linux ${release()}, Node ${process.version}; load average at start ${LOAD_AT_START.map((x) => x.toFixed(2)).join(' ')}; ${new Date().toISOString()}`);
  L.push(`Command: ${cmd}`);
  L.push(`Setup: simulator (${SIM_TTFT ?? 0} ms TTFT, ${SIM_ITL ?? 0} ms ITL), each gateway and the load generator are separate processes; no CPU pinning (${c.length} cores shared by the OS scheduler — a pinned gateway on its own core would hide its CPU cost from the throughput number).`);
  L.push(`Load: chat completion, ${MESSAGE.length}-char user message, max_tokens 32 (stream: stream_options.include_usage). All targets run at once and are measured side by side: each phase is cut into ${Math.min(1, DURATION)} s slices that rotate over the targets (never overlapping), so drift on the shared machine hits all alike. Max req/s = closed loop, ${CONNS} connections, ${DURATION} s per target after ${WARMUP} s warm-up. Latency = open loop at ${RATE} req/s, ${DURATION} s (${Math.round(RATE * DURATION)} requests) per target and mode, measured from each request's intended send time; TTFT = first SSE chunk with content. Errors = non-200, stream without content, or no answer 10 s after its slice. After every slice the bench waits until the targets, the simulator and PostgreSQL are idle, so deferred work is charged to the target that caused it. CPU µs/req = the gateway process's CPU time (all threads) during its max-throughput slices and their settling / its requests.`);
  L.push('');
  L.push('| target | max req/s | × bare | × Portkey | p50 ms | p90 ms | p99 ms | stream TTFT p50 | TTFT p99 | stream total p50 | total p99 | errors | RSS MB (peak) | CPU µs/req |');
  L.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const r of rows) {
    if (r.note) { L.push(`| ${r.name} | ${r.note.replace(/\|/g, '\\|').replace(/\s+/g, ' ')} | | | | | | | | | | | | |`); continue; }
    const errs = (r.max?.errors ?? 0) + (r.open?.errors ?? 0) + (r.stream?.errors ?? 0);
    const ratio = (o: Row | undefined, d: number) => (o?.max && r.max ? `${f(r.max.rps / o.max.rps, d)}×` : '—');
    L.push(`| ${r.name} | ${f(r.max?.rps, 0)} | ${ratio(bare, 2)} | ${ratio(pk, 1)} | ${f(r.open?.latency.p50)} | ${f(r.open?.latency.p90)} | ${f(r.open?.latency.p99)} | ${f(r.stream?.ttft?.p50)} | ${f(r.stream?.ttft?.p99)} | ${f(r.stream?.latency.p50)} | ${f(r.stream?.latency.p99)} | ${errs} | ${r.mem ? `${f(r.mem.rssMb, 0)} (${f(r.mem.hwmMb, 0)})` : '—'} | ${f(r.cpuUsPerReq, 0)} |`);
  }
  L.push('');
  const check = (ok: boolean | undefined, what: string) => L.push(`- ${ok === undefined ? 'SKIP' : ok ? 'PASS' : 'FAIL'}: ${what}`);
  // The same targets for each store LiteMaaS ran on.
  for (const [lm, store] of [[get('litemaas'), 'PostgreSQL'], [get('litemaas-pglite'), 'PGlite']] as const) {
    if (!lm && store === 'PGlite') continue;
    L.push(`Targets (LiteMaaS on ${store}):`);
    check(lm?.max && bare?.max ? lm.max.rps >= 0.7 * bare.max.rps : undefined,
      lm?.max && bare?.max ? `throughput ${f(lm.max.rps, 0)} req/s = ${f(lm.max.rps / bare.max.rps, 2)}× the bare proxy (target ≥ 0.7×)` : 'throughput ≥ 0.7× the bare proxy (not measured)');
    check(lm?.max && pk?.max ? lm.max.rps >= 10 * pk.max.rps : undefined,
      lm?.max && pk?.max ? `throughput ${f(lm.max.rps / pk.max.rps, 1)}× Portkey (target ≥ 10×)` : 'throughput ≥ 10× Portkey (not measured)');
    if (lm?.open && bare?.open) {
      const paired = pairedP50Delta(lm.open, bare.open);
      const pooled = lm.open.latency.p50 - bare.open.latency.p50;
      check(paired <= 0.2, `p50 at ${RATE} req/s is ${f(paired)} ms above the bare proxy — median over ${lm.open.sliceP50.length} rounds of the per-slice p50 difference (pooled p50s differ by ${f(pooled)} ms) (target ≤ 0.2 ms)`);
      if (lm.stream && bare.stream) L.push(`- info: streaming, the same paired p50 difference is ${f(pairedP50Delta(lm.stream, bare.stream))} ms (total), pooled ${f(lm.stream.latency.p50 - bare.stream.latency.p50)} ms`);
    } else check(undefined, 'p50 − bare p50 ≤ 0.2 ms (not measured)');
    check(lm?.mem ? lm.mem.hwmMb <= 200 : undefined,
      lm?.mem ? `RSS ${f(lm.mem.rssMb, 0)} MB after the load, peak ${f(lm.mem.hwmMb, 0)} MB (target: peak ≤ 200 MB)` : 'RSS ≤ 200 MB (not measured)');
    if (lm) {
      const errs = (lm.max?.errors ?? 0) + (lm.open?.errors ?? 0) + (lm.stream?.errors ?? 0) + (lm.responses?.errors ?? 0);
      check(errs === 0, `every LiteMaaS request answered 200 with content (${errs} errors; fast errors would inflate throughput)`);
    }
    if (lm?.cpuUsPerReq !== undefined && bare?.cpuUsPerReq !== undefined) {
      // PGlite runs inside the LiteMaaS process, so its CPU is already in the process's figure.
      const pgCpu = store === 'PostgreSQL' && lm.pgCpuUsPerReq !== undefined ? `, plus PostgreSQL ${f(lm.pgCpuUsPerReq, 0)} µs` : store === 'PGlite' ? ', PGlite included' : '';
      L.push(`- info: LiteMaaS spends ${f(lm.cpuUsPerReq, 0)} µs of CPU per request (${f(lm.cpuUsPerReq / bare.cpuUsPerReq, 2)}×), the bare proxy ${f(bare.cpuUsPerReq, 0)} µs (+${f(lm.cpuUsPerReq - bare.cpuUsPerReq, 0)} µs${pgCpu}) — the least noisy overhead measure on a shared machine; on ${c.length} cores the load generator and the simulator share the CPU with the gateway, which compresses throughput ratios toward 1.`);
    }
  }
  L.push('');
  L.push(`Responses API, streamed (\`POST /v1/responses\`, the same message, max_output_tokens 32, open loop at ${RATE} req/s; TTFT = first \`response.output_text.delta\`; Portkey not measured):`);
  L.push('');
  L.push('| target | TTFT p50 | TTFT p99 | total p50 | total p99 | paired Δp50 vs bare (total) | errors |');
  L.push('|---|--:|--:|--:|--:|--:|--:|');
  for (const r of rows) {
    if (r.note || !r.responses) continue;
    const p = r.responses;
    const delta = bare?.responses && r !== bare ? `${f(pairedP50Delta(p, bare.responses))} ms` : '—';
    L.push(`| ${r.name} | ${f(p.ttft?.p50)} | ${f(p.ttft?.p99)} | ${f(p.latency.p50)} | ${f(p.latency.p99)} | ${delta} | ${p.errors} |`);
  }
  L.push('');
  L.push('Phase details (load generator):');
  for (const r of rows) {
    if (r.note) continue;
    const parts = (['max', 'open', 'stream', 'responses'] as const).map((k) => {
      const p = r[k];
      if (!p) return `${k}: —`;
      const kinds = p.errors ? ` errors ${JSON.stringify(p.errorKinds)}` : '';
      return `${k} ${p.requests} req ${f(p.rps, 0)}/s${p.sendLag ? ` send-lag p99 ${f(p.sendLag.p99)} ms` : ''}${kinds}`;
    });
    const extra = [
      r.simCpuUsPerReq !== undefined ? `simulator CPU ${f(r.simCpuUsPerReq, 0)} µs/req` : '',
      r.pgCpuUsPerReq !== undefined ? `PostgreSQL CPU ${f(r.pgCpuUsPerReq, 0)} µs/req (the whole server: other users of it count too)` : '',
    ].filter(Boolean);
    L.push(`- ${r.name}: ${parts.join('; ')}${extra.length ? `; ${extra.join('; ')}` : ''}`);
    const over = (['open', 'stream'] as const).filter((k) => r[k] && r[k].rps < 0.95 * RATE);
    if (over.length) L.push(`  - overloaded at ${RATE} req/s (${over.join(', ')} answered ${over.map((k) => f(r[k]!.rps, 0)).join(' and ')} req/s): its latencies are queueing time and grow with the slice length`);
  }
  for (const n of notes) L.push(`- ${n}`);
  return L.join('\n') + '\n';
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const cmd = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}  (= npm run build && node dist/bench/run.js${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''})`;
  const notes: string[] = [];
  if (!['sim', 'bare', 'litemaas', 'litemaas-pglite', 'portkey'].some((k) => ONLY.has(k))) { // --only replicas and/or property
    keepLogs = false;
    if (ONLY.has('replicas')) await replicasBench();
    if (ONLY.has('property')) await propertySuite();
    return;
  }
  const sim = await startSim();
  const simPid = sim.child.proc.pid!;
  say(`simulator at ${sim.url} (child logs in ${logDir})`);
  const specs: Array<[string, string, () => Promise<{ target: Target; child?: Child; profileDir?: string }>]> = [
    ['sim', 'simulator direct', async () => ({ target: { key: 'sim', name: 'simulator direct', url: sim.url, headers: {}, model: UPSTREAM_MODEL, servesResponses: true } })],
    ['bare', 'bare proxy (node:http + undici)', () => startBare(sim.url)],
    ['litemaas', LITEMAAS_NAME.litemaas, () => startLiteMaaS(sim.url, 'postgres')],
    ['litemaas-pglite', LITEMAAS_NAME['litemaas-pglite'], () => startLiteMaaS(sim.url, 'pglite')],
    ['portkey', `Portkey gateway ${PORTKEY_VERSION}`, async () => {
      const r = await startPortkey(sim.url);
      notes.push(`Portkey ${PORTKEY_VERSION} runs with @hono/node-server pinned to ${PORTKEY_HONO_PIN} (overrides in bench/.portkey/package.json): with newer versions every streamed completion fails with "TypeError: immutable" (Portkey-AI/gateway#1389). Portkey binds all interfaces (it has no host option); the bench only talks to 127.0.0.1.`);
      return r;
    }],
  ];
  const rows: Row[] = [];
  const started: Array<{ target: Target; child?: Child; profileDir?: string }> = [];
  for (const [key, label, make] of specs) {
    if (!ONLY.has(key)) continue;
    say(`${label}: starting…`);
    try {
      const s = await make();
      started.push(s);
      rows.push({ key, name: label });
    } catch (err) {
      const msg = (err as Error).message.split('\n')[0]!;
      say(`${label}: ${msg}`);
      rows.push({ key, name: label, note: msg.startsWith('not available') ? msg : `not available: ${msg}` });
    }
  }
  if (started.length) {
    say(`measuring ${started.map((s) => s.target.key).join(', ')} side by side…`);
    const measured = await measureAll(started.map((s) => s.target), simPid);
    for (let i = 0; i < rows.length; i++) { const m = measured.get(rows[i]!.key); if (m && !rows[i]!.note) rows[i] = m; }
  }
  for (const s of started) {
    if (!s.child) continue;
    await stopChild(s.child.proc, 20_000);
    if (s.profileDir) say(`\n${s.target.name} CPU profile (--cpu-prof):\n${topSelfTime(s.profileDir)}\n`);
  }
  if (rows.some((r) => r.note)) notes.push(`child logs kept in ${logDir}`); else keepLogs = false;
  process.stdout.write(report(rows, cmd, notes));
  if (ONLY.has('replicas')) await replicasBench();
  if (ONLY.has('property')) await propertySuite();
}

/** --only replicas: bench/replicas.ts in its own process (its own simulator, database and redis-server), at --rate (300 unless given) for --duration s. */
async function replicasBench(): Promise<void> {
  say('\nthe admission seam alone: in process, Redis with leases, Redis per request (bench/admission.ts)…');
  const adm = spawn(process.execPath, [join(dist, 'bench/admission.js')], { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
  children.add(adm);
  adm.once('exit', () => children.delete(adm));
  if ((await new Promise<number | null>((r) => adm.once('exit', r))) !== 0) { say('admission bench: FAIL'); process.exitCode = 1; }
  say('\nseveral replicas on Redis (bench/replicas.ts)…');
  const args = [...(flags.rate ?? env.BENCH_RATE ? ['--rate', String(RATE)] : []), ...(flags.duration ?? env.BENCH_DURATION ? ['--duration', String(DURATION)] : [])];
  const proc = spawn(process.execPath, [join(dist, 'bench/replicas.js'), ...args], { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  const code = await new Promise<number | null>((r) => proc.once('exit', r));
  if (code !== 0) { say(`replicas bench: FAIL (exit ${code})`); process.exitCode = 1; }
}

/** The metering properties with many more generated runs than npm test affords; its own verdict, after the timings. */
async function propertySuite(): Promise<void> {
  say(`\nmetering property suite, ${PROPERTY_RUNS} generated runs (test/property.test.ts)…`);
  const t0 = Date.now();
  const proc = spawn(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', 'test/property.test.ts'], {
    cwd: root, env: { ...env, PROPERTY_RUNS: String(PROPERTY_RUNS) }, stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  const code = await new Promise<number | null>((r) => proc.once('exit', r));
  say(`property suite: ${code === 0 ? 'PASS' : `FAIL (exit ${code})`} in ${Math.round((Date.now() - t0) / 1000)} s`);
  if (code !== 0) process.exitCode = 1;
}

let keepLogs = true;

let cleaning: Promise<void> | undefined;
let interrupted = false;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all([...children].map((c) => stopChild(c).catch(() => {})));
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => say(`cleanup: ${(e as Error).message}`));
  })();
  return cleaning;
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => { interrupted = true; say(`\n${sig}: stopping everything…`); void cleanup().then(() => { rmSync(logDir, { recursive: true, force: true }); process.exit(130); }); });
}
// Hard bound on the whole run, whatever happens.
const hardStop = setTimeout(() => { say('bench: exceeded 15 minutes, stopping'); void cleanup().then(() => process.exit(1)); }, 15 * 60_000);
hardStop.unref();

main().then(
  async () => { await cleanup(); if (!keepLogs) rmSync(logDir, { recursive: true, force: true }); },
  async (err: unknown) => {
    if (interrupted) { await cleanup(); rmSync(logDir, { recursive: true, force: true }); process.exit(130); }
    say(`bench failed: ${(err as Error).stack ?? String(err)}\n(child logs kept in ${logDir})`); await cleanup(); process.exit(1); },
);
