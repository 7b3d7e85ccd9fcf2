/**
 * @module Several replicas on Redis (issue 10): what Redis costs per request.
 * Run after `npx tsc -p tsconfig.json`: `node dist/bench/replicas.js
 * [--rate 300] [--duration 5] [--warmup 1.5]` (or `npm run bench -- --only replicas`).
 *
 * One simulator, one fresh PostgreSQL database, one redis-server of its own
 * (a free port, --save '' --appendonly no), then LiteMaaS as `node
 * dist/src/cli.js serve` processes in these configurations, one after the
 * other: (a) one replica without Redis, (b) one with Redis, (a) and (b) again
 * (the repeat shows the noise), (c) two and (d) three replicas with Redis. The
 * bench key has a monthly budget (never reached), so every admission does
 * budget work. Same machine: the point is the cost, not a speed-up.
 *
 * Load: a driver process of its own (this file with --drive) sends non-streamed
 * chat completions (max_tokens 16) at a fixed open-loop rate, round-robin over
 * the replicas; latency counts from each request's intended send time.
 * Per configuration: p50/p99, errors, gateway CPU µs per request (the
 * replicas' CPU time from /proc during the measured seconds and the settling
 * after them ÷ requests), Redis CPU µs per request (INFO cpu) and Redis
 * commands per request (INFO commandstats: evalsha + eval; all commands).
 * Everything started here is stopped, the database dropped, on error and Ctrl-C.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Pool } from 'undici';
import { percentiles, type Pct } from './loadgen.js';
import { Processes, freePort } from './processes.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dist = join(root, 'dist');
const MODEL = 'Llama-3.2-3B-Instruct-FP8';
const MESSAGE = 'Summarize the benefits of a metered gateway in one short paragraph. Mention usage tracking and cost per API key.';

// ---------------------------------------------------------------- driver (its own process)

interface DrivePlan { urls: string[]; key: string; rate: number; durationS: number }
interface DriveResult { requests: number; ok: number; errors: number; errorKinds: Record<string, number>; latency: Pct; sendLag: Pct; seconds: number }

async function drive(plan: DrivePlan): Promise<DriveResult> {
  const pools = plan.urls.map((u) => new Pool(u, { connections: 128, pipelining: 1 }));
  const body = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: MESSAGE }], max_tokens: 16 });
  const headers = { authorization: `Bearer ${plan.key}`, 'content-type': 'application/json' };
  const total = Math.round(plan.rate * plan.durationS);
  const lat: number[] = [], lag: number[] = [];
  const kinds: Record<string, number> = {};
  let ok = 0, errors = 0;
  const now = () => Number(process.hrtime.bigint()) / 1e6;
  const t0 = now() + 20;
  const inflight: Promise<void>[] = [];
  const one = async (i: number, intended: number) => {
    lag.push(now() - intended);
    try {
      const r = await pools[i % pools.length]!.request({ method: 'POST', path: '/v1/chat/completions', headers, body, headersTimeout: 10_000, bodyTimeout: 10_000 });
      const text = await r.body.text();
      if (r.statusCode === 200 && text.includes('"content"')) { ok++; lat.push(now() - intended); } else { errors++; kinds[String(r.statusCode)] = (kinds[String(r.statusCode)] ?? 0) + 1; }
    } catch (err) { errors++; const k = (err as { code?: string }).code ?? 'error'; kinds[k] = (kinds[k] ?? 0) + 1; }
  };
  let i = 0;
  while (i < total) {
    const t = now();
    while (i < total && t0 + (i * 1000) / plan.rate <= t) { inflight.push(one(i, t0 + (i * 1000) / plan.rate)); i++; }
    if (i < total) await new Promise((r) => setTimeout(r, Math.max(0, t0 + (i * 1000) / plan.rate - now() - 0.5)));
  }
  await Promise.all(inflight);
  const seconds = (now() - t0) / 1000;
  await Promise.all(pools.map((p) => p.close()));
  return { requests: total, ok, errors, errorKinds: kinds, latency: percentiles(lat), sendLag: percentiles(lag), seconds };
}

if (process.argv[2] === '--drive') {
  const r = await drive(JSON.parse(process.argv[3]!) as DrivePlan);
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
}

// ---------------------------------------------------------------- bench

const { values: flags } = parseArgs({ options: { rate: { type: 'string' }, duration: { type: 'string' }, warmup: { type: 'string' }, only: { type: 'string' } }, allowPositionals: true });
const RATE = Number(flags.rate ?? process.env.BENCH_REPLICAS_RATE ?? 300);
const DURATION = Number(flags.duration ?? process.env.BENCH_REPLICAS_DURATION ?? 5);
const WARMUP = Number(flags.warmup ?? 1.5);
const PG_ADMIN = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const LOAD_AT_START = loadavg();
const logDir = mkdtempSync(join(tmpdir(), 'litemaas-bench-replicas-'));
const cleanups: Array<() => Promise<void>> = [];
const say = (s: string) => process.stderr.write(`${s}\n`);

const processes = new Processes(logDir, root);
const procs = processes.all;
const start = (name: string, cmd: string, args: string[], env: Record<string, string> = {}): ChildProcess => processes.start(name, cmd, args, env);
const stop = (p: ChildProcess, graceMs = 10_000): Promise<void> => processes.stop(p, graceMs);
const waitFor = (url: string, p: ChildProcess, name: string, timeoutMs = 60_000): Promise<void> => processes.waitReady(url, p, name, timeoutMs, 100);

const HAS_SCHEDSTAT = existsSync(`/proc/${process.pid}/task/${process.pid}/schedstat`);
const CLK_TCK = (() => { try { return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100; } catch { return 100; } })();
/** CPU time of a process in µs: its threads' schedstat (ns), else utime+stime from /proc/<pid>/stat. */
function cpuUs(pid: number): number {
  try {
    if (HAS_SCHEDSTAT) {
      let ns = 0;
      for (const tid of readdirSync(`/proc/${pid}/task`)) { try { ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]); } catch { /* gone */ } }
      return ns / 1000;
    }
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK;
  } catch { return NaN; }
}
const sumCpu = (pids: number[]) => pids.reduce((a, p) => a + cpuUs(p), 0);
function rssMb(pid: number): number { try { return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024; } catch { return NaN; } }

let redisPort = 0;
function redisInfo(): { cpuUs: number; evals: number; commands: number; per: Map<string, number> } {
  const out = execFileSync('redis-cli', ['-p', String(redisPort), 'INFO', 'all'], { encoding: 'utf8' });
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
  return {
    cpuUs: (num(/used_cpu_sys:([\d.]+)/) + num(/used_cpu_user:([\d.]+)/)) * 1e6,
    evals: num(/cmdstat_evalsha:calls=(\d+)/) + num(/cmdstat_eval:calls=(\d+)/),
    commands: [...out.matchAll(/cmdstat_[a-z|_]+:calls=(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0),
    per: new Map([...out.matchAll(/cmdstat_([a-z|_]+):calls=(\d+)/g)].map((m) => [m[1]!, Number(m[2])])),
  };
}

/** Waits until the pids use < 3 % of a core over 200 ms (at most 3 s), so deferred work lands in the window. */
async function settle(pids: number[]): Promise<void> {
  const t0 = Date.now();
  let prev = sumCpu(pids);
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    const cur = sumCpu(pids);
    if (cur - prev < 6_000 || Date.now() - t0 > 3_000) return;
    prev = cur;
  }
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

interface Config { label: string; replicas: number; redis: boolean; leases?: boolean }
interface Measured extends Config { netUs: number; byCommand: string; idleUsPerS: number; r: DriveResult; gwUs: number; redisUs: number; evals: number; commands: number; rss: number[]; startMs: number }

async function main(): Promise<void> {
  const cli = join(dist, 'src/cli.js');
  if (!existsSync(cli)) throw new Error('dist/src/cli.js is missing: run npx tsc -p tsconfig.json');
  // simulator
  const simPort = await freePort();
  const sim = start('simulator', process.execPath, [join(dist, 'bench/sim-process.js'), String(simPort)]);
  const simUrl = `http://127.0.0.1:${simPort}`;
  await waitFor(`${simUrl}/v1/models`, sim, 'simulator');
  // redis of our own
  redisPort = await freePort();
  const redis = start('redis', 'redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  for (let i = 0; ; i++) {
    try { if (execFileSync('redis-cli', ['-p', String(redisPort), 'PING'], { encoding: 'utf8' }).trim() === 'PONG') break; } catch { /* not yet */ }
    if (i > 50) throw new Error('redis-server did not answer');
    await new Promise((r) => setTimeout(r, 100));
  }
  const redisVersion = /redis_version:(\S+)/.exec(execFileSync('redis-cli', ['-p', String(redisPort), 'INFO', 'server'], { encoding: 'utf8' }))?.[1];
  // database
  const dbName = `litemaas_bench_replicas_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect(); await admin.query(`CREATE DATABASE ${dbName}`); await admin.end();
  cleanups.push(async () => { const c = new pg.Client({ connectionString: PG_ADMIN }); await c.connect(); try { await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`); } finally { await c.end(); } });
  const dbUrl = Object.assign(new URL(PG_ADMIN), { pathname: `/${dbName}` }).toString();
  const token = randomBytes(24).toString('hex');
  const secret = randomBytes(32).toString('hex');

  let n = 0;
  const startReplicas = async (count: number, withRedis: boolean, leases = true) => {
    const out: Array<{ p: ChildProcess; url: string; dir: string }> = [];
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'litemaas-bench-replica-'));
      const name = `replica-${++n}`;
      const p = start(name, process.execPath, [cli, 'serve'], {
        PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: dbUrl, LITEMAAS_ADMIN_TOKEN: token, LITEMAAS_SECRET: secret,
        LITEMAAS_DATA_DIR: dir, LOG_LEVEL: 'warn', REDIS_URL: withRedis ? `redis://127.0.0.1:${redisPort}/0` : '',
        LITEMAAS_REPLICAS: String(count), LITEMAAS_REDIS_LEASES: leases ? 'on' : 'off',
      });
      out.push({ p, url: `http://127.0.0.1:${port}`, dir });
      await waitFor(`http://127.0.0.1:${port}/readyz`, p, name);
    }
    return out;
  };
  const stopReplicas = async (rs: Array<{ p: ChildProcess; dir: string }>) => { for (const r of rs) { await stop(r.p, 20_000); rmSync(r.dir, { recursive: true, force: true }); } };

  // Provisioning through the admin API of a first replica: model, user, subscription, a key with a budget.
  const first = await startReplicas(1, false);
  const api = async <T>(path: string, b: unknown): Promise<T> => {
    const r = await fetch(`${first[0]!.url}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(b) });
    const text = await r.text();
    if (r.status >= 300) throw new Error(`provisioning ${path}: HTTP ${r.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  };
  await api('/admin/models', { id: MODEL, inputPricePer1M: 0.15, outputPricePer1M: 0.6, deployments: [{ url: `${simUrl}/v1`, upstreamModel: 'llama32-fp8' }] });
  const user = await api<{ id: string }>('/admin/users', { username: 'bench' });
  await api(`/admin/users/${user.id}/subscriptions`, { modelId: MODEL });
  const key = (await api<{ key: string }>(`/admin/users/${user.id}/api-keys`, { name: 'bench', models: [MODEL], maxBudget: 100000, budgetPeriod: 'monthly' })).key;
  await stopReplicas(first);

  const configs: Config[] = [
    { label: '(a) 1 replica, no Redis', replicas: 1, redis: false },
    { label: '(b) 1 replica, Redis (leases)', replicas: 1, redis: true },
    { label: '(e) 1 replica, Redis, a round trip per request (LITEMAAS_REDIS_LEASES=off)', replicas: 1, redis: true, leases: false },
    { label: '(a) 1 replica, no Redis', replicas: 1, redis: false },
    { label: '(b) 1 replica, Redis (leases)', replicas: 1, redis: true },
    { label: '(e) 1 replica, Redis, a round trip per request (LITEMAAS_REDIS_LEASES=off)', replicas: 1, redis: true, leases: false },
    { label: '(c) 2 replicas, Redis (leases)', replicas: 2, redis: true },
    { label: '(d) 3 replicas, Redis (leases)', replicas: 3, redis: true },
  ];
  const only = flags.only ? new Set(flags.only.split(',')) : undefined;
  const results: Measured[] = [];
  for (const c of configs) {
    if (only && !only.has(c.label[1]!)) continue;
    say(`${c.label}: starting…`);
    const t0 = performance.now();
    const rs = await startReplicas(c.replicas, c.redis, c.leases ?? true);
    const startMs = performance.now() - t0;
    const urls = rs.map((r) => r.url);
    // the key must be usable on every replica (it reaches them from PostgreSQL)
    for (const u of urls) {
      for (let i = 0; ; i++) {
        const r = await fetch(`${u}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'ping' }], max_tokens: 4 }) });
        const text = await r.text();
        if (r.status === 200) break;
        if (i > 100) throw new Error(`${u} refused the key: ${r.status} ${text.slice(0, 200)}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    await runDriver({ urls, key, rate: RATE, durationS: WARMUP });
    const pids = rs.map((r) => r.p.pid!);
    await settle([...pids, redis.pid!]);
    // the replicas' CPU with no load (timers, reconcile, Redis heartbeats), over 1 s
    const z0 = sumCpu(pids), zt = performance.now();
    await new Promise((res) => setTimeout(res, 1000));
    const idleUsPerS = ((sumCpu(pids) - z0) * 1000) / (performance.now() - zt);
    const g0 = sumCpu(pids), i0 = redisInfo(), w0 = performance.now();
    const r = await runDriver({ urls, key, rate: RATE, durationS: DURATION });
    await settle([...pids, redis.pid!]);
    const g1 = sumCpu(pids), i1 = redisInfo(), windowS = (performance.now() - w0) / 1000;
    const byCommand = [...i1.per].map(([k, v]) => [k, (v - (i0.per.get(k) ?? 0) - (k === 'info' ? 1 : 0)) / r.requests] as const)
      .filter(([, v]) => v > 0.005).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
    const m: Measured = {
      ...c, r, startMs, rss: pids.map(rssMb), byCommand, idleUsPerS,
      netUs: (g1 - g0 - idleUsPerS * windowS) / r.requests,
      gwUs: (g1 - g0) / r.requests, redisUs: (i1.cpuUs - i0.cpuUs) / r.requests,
      evals: (i1.evals - i0.evals) / r.requests, commands: (i1.commands - i0.commands - 1) / r.requests, // −1: the INFO of the first sample
    };
    results.push(m);
    say(`  p50 ${m.r.latency.p50.toFixed(3)} ms, p99 ${m.r.latency.p99.toFixed(3)} ms, errors ${m.r.errors}, gateway ${m.gwUs.toFixed(0)} µs/req, Redis ${m.redisUs.toFixed(0)} µs/req, ${m.evals.toFixed(2)} scripts/req`);
    await stopReplicas(rs);
  }
  await stop(sim);
  await stop(redis);

  const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '—');
  const c = cpus();
  const L: string[] = [];
  L.push(`Machine: ${c[0]?.model.trim() ?? '?'}, ${c.length} cores, Linux ${release()}, Node ${process.version}, redis-server ${redisVersion}; load average at start ${LOAD_AT_START.map((x) => x.toFixed(2)).join(' ')}; ${new Date().toISOString()}`);
  L.push(`Command: node dist/bench/replicas.js${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`);
  L.push(`Load: open loop at ${RATE} req/s for ${DURATION} s per configuration (after ${WARMUP} s warm-up), round-robin over the replicas; non-streamed chat completion, max_tokens 16; the key has a monthly budget. Latency from the intended send time.`);
  L.push('');
  L.push('| configuration | requests | p50 ms | p99 ms | errors | gateway CPU µs/req (all replicas) | of which idle | Redis CPU µs/req | Redis scripts/req (evalsha+eval) | Redis commands/req (incl. those the scripts run) | RSS MB per replica | start-up ms |');
  L.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const m of results) L.push(`| ${m.label} | ${m.r.requests} | ${f(m.r.latency.p50, 3)} | ${f(m.r.latency.p99, 3)} | ${m.r.errors}${m.r.errors ? ` ${JSON.stringify(m.r.errorKinds)}` : ''} | ${f(m.gwUs)} | ${f(m.gwUs - m.netUs)} | ${m.redis ? f(m.redisUs) : '—'} | ${m.redis ? f(m.evals, 2) : '—'} | ${m.redis ? f(m.commands, 2) : '—'} | ${m.rss.map((x) => f(x)).join(', ')} | ${f(m.startMs)} |`);
  L.push('');
  L.push('"of which idle": the replicas\' CPU over 1 s without load just before the measurement (timers, reconcile), times the window, ÷ requests.');
  for (const m of results) if (m.redis) L.push(`- ${m.label}: Redis commands per request by name (INFO commandstats counts the commands a script runs): ${m.byCommand}`);
  const a = results.filter((m) => m.replicas === 1 && !m.redis), b = results.filter((m) => m.replicas === 1 && m.redis && m.leases !== false);
  const e = results.filter((m) => m.replicas === 1 && m.redis && m.leases === false);
  if (a.length && e.length) {
    const mean = (xs: number[]) => xs.reduce((p, q) => p + q, 0) / xs.length;
    L.push(`- info: with a round trip per request (e), Redis adds ${f(mean(e.map((m) => m.gwUs)) - mean(a.map((m) => m.gwUs)))} µs of gateway CPU and ${f(mean(e.map((m) => m.r.latency.p50)) - mean(a.map((m) => m.r.latency.p50)), 3)} ms of p50 per request`);
  }
  if (a.length && b.length) {
    const mean = (xs: number[]) => xs.reduce((p, q) => p + q, 0) / xs.length;
    const dCpu = mean(b.map((m) => m.gwUs)) - mean(a.map((m) => m.gwUs));
    const dP50 = mean(b.map((m) => m.r.latency.p50)) - mean(a.map((m) => m.r.latency.p50));
    const dNet = mean(b.map((m) => m.netUs)) - mean(a.map((m) => m.netUs));
    L.push(`- info: net of each run's idle CPU, Redis adds ${f(dNet)} µs per request`);
    L.push(`- ${dCpu <= 30 ? 'PASS' : 'FAIL'}: Redis adds ${f(dCpu)} µs of gateway CPU per request (mean of (b) − mean of (a); the runs: (a) ${a.map((m) => f(m.gwUs)).join(', ')}, (b) ${b.map((m) => f(m.gwUs)).join(', ')}) (target ≤ 30 µs)`);
    L.push(`- ${dP50 <= 0.1 ? 'PASS' : 'FAIL'}: Redis adds ${f(dP50, 3)} ms to p50 (the runs: (a) ${a.map((m) => f(m.r.latency.p50, 3)).join(', ')}, (b) ${b.map((m) => f(m.r.latency.p50, 3)).join(', ')}) (target ≤ 0.1 ms)`);
  }
  for (const m of results) if (m.r.sendLag.p99 > 2) L.push(`- ${m.label}: the driver's send lag p99 ${f(m.r.sendLag.p99, 2)} ms (latency counts it: from the intended send time)`);
  process.stdout.write(L.join('\n') + '\n');
}

let cleaning: Promise<void> | undefined;
const cleanup = () => (cleaning ??= (async () => {
  await Promise.all([...procs].map((p) => stop(p).catch(() => {})));
  for (const c of cleanups.reverse()) await c().catch((e: unknown) => say(`cleanup: ${(e as Error).message}`));
})());
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { say(`${sig}: stopping…`); void cleanup().then(() => process.exit(130)); });
setTimeout(() => { say('replicas bench: over 10 minutes, stopping'); void cleanup().then(() => process.exit(1)); }, 10 * 60_000).unref();
main().then(async () => { await cleanup(); rmSync(logDir, { recursive: true, force: true }); },
  async (err: unknown) => { say(`replicas bench failed: ${(err as Error).stack ?? String(err)} (logs in ${logDir})`); await cleanup(); process.exit(1); });
