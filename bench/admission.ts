/**
 * @module The admission seam alone, side by side in one process: what deciding a request costs
 * the gateway in CPU and wall time with limits kept in this process (LocalAdmission), on Redis
 * with leases (the default with REDIS_URL), and on Redis with a round trip per request
 * (LITEMAAS_REDIS_LEASES=off). No HTTP, no upstream: admit → settle, with the usage event a
 * metered request would record, against a key with a monthly budget (and, in a second table,
 * with rpm, tpm, an owner budget and a quota as well).
 *
 * Run after `npx tsc -p tsconfig.json`: `node dist/bench/admission.js [--requests 20000]
 * [--concurrency 8] [--rounds 3]`. It starts its own redis-server on a free port (never the
 * shared one) and creates and drops its own PostgreSQL database (BENCH_PG_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres). Configurations alternate in rounds; the figures
 * are each configuration's median over the rounds.
 *
 * CPU is process.cpuUsage() (all threads of this process: the admission code, ioredis, the
 * timers that flush leases) over the run and the settling after it, divided by the requests.
 * Redis's own CPU and commands come from INFO.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { Redis } from 'ioredis';
import { openRedis, whenReady } from '../src/shared/redis.js';
import { RedisAdmission } from '../src/gateway/redis-admission.js';
import { LocalAdmission, type Admission } from '../src/gateway/admission.js';
import { RateLimiter } from '../src/ledger/limits.js';
import { SpendTracker } from '../src/ledger/budgets.js';
import { openStore, type Store } from '../src/store/db.js';
import { fromPico } from '../src/shared/money.js';
import type { UsageEvent } from '../src/ledger/event.js';
import type { KeyEntry, ModelEntry, SubscriptionEntry, UserEntry } from '../src/gateway/snapshot.js';
import { freePort } from './processes.js';

const { values: flags } = parseArgs({ options: { requests: { type: 'string' }, concurrency: { type: 'string' }, rounds: { type: 'string' } } });
const REQUESTS = Number(flags.requests ?? 20_000);
const CONCURRENCY = Number(flags.concurrency ?? 8);
const ROUNDS = Number(flags.rounds ?? 3);
const PG_ADMIN = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const say = (s: string) => process.stderr.write(s + '\n');
const LOAD = loadavg();

const PRICE = 600_000n; // pico per output token (0.60 per 1M tokens)
const model = { id: 'm', kind: 'chat', contextLength: null, inPerToken: 150_000n, cachedPerToken: 150_000n, outPerToken: PRICE, audioPerMinute: 0n, requestFee: 0n, created: 0, deployments: [] } as unknown as ModelEntry;
const BOUNDS = { prompt: 20, completion: 16, audioMs: 0, injectMaxTokens: null };

type Shape = 'budget' | 'all limits';
function keyOf(shape: Shape): { key: KeyEntry; sub: SubscriptionEntry } {
  const user: UserEntry = { id: `u-${randomUUID()}`, username: 'bench', disabled: false, maxBudget: shape === 'budget' ? null : 10n ** 18n, budgetPeriod: 'monthly', rpm: shape === 'budget' ? null : 10_000_000, tpm: null, credit: 0n, creditUntil: 0 };
  const key = {
    id: `k-${randomUUID()}`, name: 'bench', user, models: new Set(['m']), maxBudget: 10n ** 17n, budgetPeriod: 'monthly',
    rpm: shape === 'budget' ? null : 10_000_000, tpm: shape === 'budget' ? null : 1_000_000_000, maxParallel: null, expiresAt: null,
  } as unknown as KeyEntry;
  const sub: SubscriptionEntry = { status: 'active', quotaRequests: shape === 'budget' ? null : 1_000_000_000, quotaTokens: null };
  return { key, sub };
}

function event(k: KeyEntry, cost: bigint): UsageEvent {
  return {
    id: randomUUID(), at: new Date().toISOString(), keyId: k.id, userId: k.user.id, modelId: 'm', deploymentId: null, status: 200,
    promptTokens: 20, completionTokens: 12, cost: fromPico(cost), latencyMs: 1, ttftMs: null, stream: false, estimated: false, errorCode: null,
  };
}

interface Run { cpuUs: number; p50Us: number; p99Us: number; evalsPerReq: number; redisCpuUs: number }


async function redisStats(r: Redis): Promise<{ evals: number; cpu: number }> {
  const info = (await r.info('commandstats')) + (await r.info('cpu'));
  const evals = Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0) + Number(/cmdstat_eval:calls=(\d+)/.exec(info)?.[1] ?? 0);
  const cpu = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0) + Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0);
  return { evals, cpu };
}

async function drive(a: Admission, shape: Shape, probe: Redis | null): Promise<Run> {
  const { key, sub } = keyOf(shape);
  const one = async (): Promise<number> => {
    const t0 = performance.now();
    const t = await a.admit({ key, model, sub, bounds: BOUNDS, free: false, at: new Date() });
    const took = performance.now() - t0;
    const cost = 20n * 150_000n + 12n * PRICE;
    t.settle(event(key, cost), cost, 32);
    return took;
  };
  // warm: counters seeded, leases granted, code optimised
  for (let i = 0; i < 500; i++) await one();
  await new Promise((r) => setTimeout(r, 200));
  // Latency: one request at a time (with several in flight, an admission answered at once still
  // waits behind the others' work, which says nothing about admission).
  const lat: number[] = [];
  for (let i = 0; i < 2_000; i++) lat.push(await one());
  const before = probe ? await redisStats(probe) : null;
  const cpu0 = process.cpuUsage();
  let left = REQUESTS;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (left-- > 0) await one();
  }));
  await new Promise((r) => setTimeout(r, 150)); // the last settles and flushes
  const cpu = process.cpuUsage(cpu0);
  const after = probe ? await redisStats(probe) : null;
  lat.sort((x, y) => x - y);
  return {
    cpuUs: (cpu.user + cpu.system) / REQUESTS,
    p50Us: lat[Math.floor(lat.length * 0.5)]! * 1000,
    p99Us: lat[Math.floor(lat.length * 0.99)]! * 1000,
    evalsPerReq: before && after ? (after.evals - before.evals) / REQUESTS : 0,
    redisCpuUs: before && after ? ((after.cpu - before.cpu) * 1e6) / REQUESTS : 0,
  };
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

async function main(): Promise<void> {
  const port = await freePort();
  const server: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const stopRedis = () => { if (server.exitCode === null) server.kill('SIGKILL'); };
  process.once('exit', stopRedis);
  const dbName = `litemaas_bench_admission_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect(); await admin.query(`CREATE DATABASE ${dbName}`); await admin.end();
  const dbUrl = Object.assign(new URL(PG_ADMIN), { pathname: `/${dbName}` }).toString();
  let store: Store | null = null;
  const conns: Redis[] = [];
  const admissions: RedisAdmission[] = [];
  try {
    store = await openStore({ databaseUrl: dbUrl, dataDir: tmpdir(), migrate: true });
    const conn = (): Redis => { const r = openRedis(`redis://127.0.0.1:${port}`); conns.push(r); return r; };
    const probe = conn();
    if (!(await whenReady(probe, 5_000))) throw new Error('redis-server did not answer');
    const version = /redis_version:(\S+)/.exec(await probe.info('server'))?.[1];
    const redisAdmission = async (leases: boolean) => {
      const r = conn();
      await whenReady(r, 5_000);
      const a = new RedisAdmission({ redis: r, db: store!.db, unwritten: () => [], replicas: 2, leases, prefix: `bench:${randomBytes(3).toString('hex')}:` });
      admissions.push(a);
      return a;
    };
    const configs: Array<{ label: string; make: () => Promise<Admission>; redis: boolean }> = [
      { label: 'in process (LocalAdmission)', make: async () => new LocalAdmission(new RateLimiter(), new SpendTracker({ db: store!.db, unwritten: () => [] })), redis: false },
      { label: 'Redis, leases (default)', make: () => redisAdmission(true), redis: true },
      { label: 'Redis, a round trip per request (LITEMAAS_REDIS_LEASES=off)', make: () => redisAdmission(false), redis: true },
    ];
    const out: string[] = [];
    const c = cpus();
    out.push(`Machine: ${c[0]?.model.trim() ?? '?'}, ${c.length} cores, Linux ${release()}, Node ${process.version}, redis-server ${version} (its own, on a free port); load average at start ${LOAD.map((x) => x.toFixed(2)).join(' ')}; ${new Date().toISOString()}`);
    out.push(`Command: node dist/bench/admission.js --requests ${REQUESTS} --concurrency ${CONCURRENCY} --rounds ${ROUNDS}`);
    for (const shape of ['budget', 'all limits'] as const) {
      const runs = new Map<string, Run[]>();
      for (let round = 0; round < ROUNDS; round++) {
        for (const cfg of configs) {
          say(`${shape}, round ${round + 1}: ${cfg.label}…`);
          const a = await cfg.make();
          const r = await drive(a, shape, cfg.redis ? probe : null);
          runs.set(cfg.label, [...(runs.get(cfg.label) ?? []), r]);
        }
      }
      out.push('');
      out.push(`Key with ${shape === 'budget' ? 'a monthly budget only' : 'a key budget, an owner budget, key and owner rpm, key tpm and a subscription quota'}; ${REQUESTS} requests at ${CONCURRENCY} concurrent, admit → settle; medians of ${ROUNDS} alternating rounds (every round's value in brackets).`);
      out.push('');
      out.push('| admission | gateway CPU µs/request | Δ vs in process | admit p50 µs (one at a time) | admit p99 µs | Redis scripts/request | Redis CPU µs/request |');
      out.push('|---|--:|--:|--:|--:|--:|--:|');
      const base = median(runs.get(configs[0]!.label)!.map((r) => r.cpuUs));
      for (const cfg of configs) {
        const rs = runs.get(cfg.label)!;
        const cpu = median(rs.map((r) => r.cpuUs));
        const list = (f: (r: Run) => number, d = 0) => `${median(rs.map(f)).toFixed(d)} [${rs.map((r) => f(r).toFixed(d)).join(', ')}]`;
        out.push(`| ${cfg.label} | ${list((r) => r.cpuUs, 1)} | ${cfg.redis ? `+${(cpu - base).toFixed(1)}` : '—'} | ${list((r) => r.p50Us)} | ${list((r) => r.p99Us)} | ${cfg.redis ? list((r) => r.evalsPerReq, 3) : '—'} | ${cfg.redis ? list((r) => r.redisCpuUs, 1) : '—'} |`);
      }
    }
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    for (const a of admissions) await a.close().catch(() => {});
    for (const r of conns) r.disconnect();
    await store?.close();
    const c = new pg.Client({ connectionString: PG_ADMIN });
    await c.connect(); try { await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`); } finally { await c.end(); }
    stopRedis();
  }
}

setTimeout(() => { say('admission bench: over 5 minutes, stopping'); process.exit(1); }, 5 * 60_000).unref();
main().then(() => process.exit(0), (err: unknown) => { say(`admission bench failed: ${(err as Error).stack ?? String(err)}`); process.exit(1); });
