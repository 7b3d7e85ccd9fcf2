/**
 * PostgreSQL going away must never crash the server or make it storm the
 * database. The test runs its own PostgreSQL (max_connections 40, so a storm
 * would show) behind a proxy that cuts every connection, refuses new ones,
 * and freezes traffic, including in the middle of the ledger's insert, while
 * real requests flow. Then: no uncaught error, bounded sockets, and every
 * request answered 2xx is in usage_events exactly once with its exact tokens.
 * Also: `serve` starting while the database is down comes up from the cached
 * snapshot (or fails with one clear line when there is none).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { spawn } from 'node:child_process';
import { freePort } from './helpers/net.js';
import { Agent, request } from 'undici';
import { startSimulator, type RunningSimulator } from '../src/simulator/server.js';
import { startServer, type Running } from '../src/server.js';
import { loadConfig } from '../src/config.js';
import { MODEL } from './helpers/system.js';
import { startPgInstance, type PgInstance } from './helpers/pg-instance.js';
import { ChaosProxy } from './helpers/chaos-proxy.js';

const MAX_CONNECTIONS = 40;
const ADMIN = 'db-chaos-admin-token';
const UPSTREAM_TOKEN = 'upstream-token-that-must-stay-encrypted';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let instance: PgInstance;
let sim: RunningSimulator;
const crashes: unknown[] = [];
const onCrash = (e: unknown) => { crashes.push(e); };
const dirs: string[] = [];

beforeAll(async () => {
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  instance = await startPgInstance({ maxConnections: MAX_CONNECTIONS });
  sim = await startSimulator({ port: 0, host: '127.0.0.1', servedModelName: 'llama32-fp8', quiet: true });
}, 60_000);

afterAll(async () => {
  await sim?.close();
  await instance?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
}, 60_000);

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'litemaas-chaos-'));
  dirs.push(d);
  return d;
}

function viaProxy(dbUrl: string, proxy: ChaosProxy, params = ''): string {
  const u = new URL(dbUrl);
  u.port = String(proxy.port);
  return u.toString() + params;
}

function start(databaseUrl: string, dir: string): Promise<Running> {
  return startServer({
    ...loadConfig({}), port: 0, host: '127.0.0.1', dataDir: dir, databaseUrl, adminToken: ADMIN,
    logLevel: process.env.TEST_LOG ?? 'silent', flushIntervalMs: 50, reconcileIntervalMs: 30_000,
  });
}

async function admin(server: Running, path: string, body: unknown): Promise<any> {
  const r = await fetch(`${server.url}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await r.json();
  if (r.status >= 300) throw new Error(`${path}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

async function provisionKey(server: Running, username: string, key: Record<string, unknown> = {}): Promise<{ id: string; key: string }> {
  const u = await admin(server, '/admin/users', { username });
  await admin(server, `/admin/users/${u.id}/subscriptions`, { modelId: MODEL });
  const k = await admin(server, `/admin/users/${u.id}/api-keys`, { name: username, models: [MODEL], ...key });
  return { id: k.id, key: k.key };
}

interface Answer { status: number; id: string; promptTokens: number; completionTokens: number; body: string }

/** One request; for 200 the usage the client saw (non-streamed body, or the usage chunk of the stream). */
async function call(url: string, key: string, n: number, agent?: Agent): Promise<Answer> {
  const stream = n % 3 === 0;
  const r = await request(`${url}/v1/chat/completions`, {
    method: 'POST', dispatcher: agent,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: `request ${n}: ${'word '.repeat(n % 7)}` }], max_tokens: 1 + (n % 9), stream, ...(stream ? { stream_options: { include_usage: true } } : {}) }),
  });
  const body = await r.body.text();
  const a: Answer = { status: r.statusCode, id: String(r.headers['x-request-id']), promptTokens: -1, completionTokens: -1, body };
  if (r.statusCode !== 200) return a;
  let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
  if (stream) {
    if (!body.includes('data: [DONE]')) return { ...a, status: -1 }; // not a complete answer
    for (const line of body.split('\n')) {
      if (!line.startsWith('data: {')) continue;
      const u = JSON.parse(line.slice(6)).usage;
      if (u) usage = u;
    }
  } else usage = JSON.parse(body).usage;
  if (!usage) return { ...a, status: -2 };
  return { ...a, promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
}

async function waitFor(what: string, ok: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Samples pg_stat_activity on the test's own server, directly (not through the proxy). */
function watchActivity(url: string): { max: number; maxListeners: number; stop(): Promise<void> } {
  const w = { max: 0, maxListeners: 0, stopped: false, done: Promise.resolve(), async stop() { this.stopped = true; await this.done; } };
  w.done = (async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    while (!w.stopped) {
      const r = await c.query(`select count(*)::int as n, count(*) filter (where application_name = 'litemaas-listen')::int as l from pg_stat_activity`);
      w.max = Math.max(w.max, r.rows[0].n);
      w.maxListeners = Math.max(w.maxListeners, r.rows[0].l);
      await sleep(100);
    }
    await c.end();
  })();
  return w;
}

describe('database chaos under load', () => {
  let proxy: ChaosProxy;
  let server: Running;
  let dbUrl: string;

  beforeAll(async () => {
    dbUrl = await instance.createDatabase('chaos');
    proxy = new ChaosProxy(instance.port);
    await proxy.listen();
    // statement_timeout 1500 ms: a query with no answer has its connection dropped after 3 s.
    server = await start(viaProxy(dbUrl, proxy, '?statement_timeout=1500'), dataDir());
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await proxy?.close();
  }, 60_000);

  it('survives cuts, refusals and frozen connections mid-write, and bills each answer once', async () => {
    await admin(server, '/admin/models', { id: MODEL, inputPricePer1M: 0.15, outputPricePer1M: 0.6, contextLength: 8192, deployments: [{ url: `${sim.url}/v1`, upstreamModel: 'llama32-fp8' }] });
    const k = await provisionKey(server, 'chaos');
    const spare = await provisionKey(server, 'chaos-spare');

    const activity = watchActivity(instance.url('chaos'));
    const answered = new Map<string, Answer>();
    const failures = new Map<number, number>();
    const agent = new Agent({ connections: 16 });
    let stop = false;
    let n = 0;
    const worker = async () => {
      while (!stop) {
        const a = await call(server.url, k.key, n++, agent).catch(() => null);
        if (a?.status === 200) answered.set(a.id, a);
        else failures.set(a?.status ?? 0, (failures.get(a?.status ?? 0) ?? 0) + 1);
        await sleep(25); // a steady load (~200 requests/s), not a CPU hog next to the other test files
      }
    };
    const workers = Array.from({ length: 6 }, worker);
    const answeredAt = () => answered.size;

    const log: string[] = [];
    const mark = (s: string) => log.push(`${s} after ${answeredAt()} answers`);
    await sleep(1500);
    // 1. Cut everything the moment the ledger's insert has gone to the server; refuse for 3 s.
    await proxy.trapStatement('insert into usage_events', 'cut');
    mark('cut mid-insert');
    await sleep(3000);
    proxy.mode = 'up';
    await sleep(2000);
    // 2. Freeze mid-insert (a half-open network): no answer, no error, for 5 s; then cut and refuse 2 s.
    await proxy.trapStatement('insert into usage_events', 'freeze');
    mark('frozen mid-insert');
    await sleep(4500);
    // No answer and no error from the network: the query deadline (1.5 s statement_timeout + 1.5 s) freed the flush.
    expect(server.ledger.lastError).toMatch(/query timeout/);
    await sleep(500);
    proxy.mode = 'refuse';
    proxy.cut();
    await sleep(2000);
    proxy.mode = 'up';
    await sleep(2000);
    // 3. An idle-time cut, refused for 3 s.
    proxy.mode = 'refuse';
    proxy.cut();
    mark('cut');
    await sleep(3000);
    proxy.mode = 'up';
    // 4. Flapping: five short outages.
    for (let i = 0; i < 5; i++) {
      await sleep(300);
      proxy.mode = 'refuse';
      proxy.cut();
      await sleep(300);
      proxy.mode = 'up';
    }
    await sleep(1000);
    stop = true;
    await Promise.all(workers);
    await agent.close();
    mark('load stopped');

    const stats = () => ({
      schedule: log, answered: answered.size, notAnswered: Object.fromEntries(failures),
      proxyAcceptedTotal: proxy.accepted, proxyMaxAcceptedPerSecond: proxy.maxAcceptedPerSecond, proxyMaxOpen: proxy.maxOpen,
      pgStatActivityMax: activity.max, listenBackendsMax: activity.maxListeners, maxConnections: MAX_CONNECTIONS,
    });
    const direct = new pg.Client({ connectionString: dbUrl });
    let rows: Array<{ id: string; status: number; prompt_tokens: number; completion_tokens: number }>;
    let daily: number;
    try {
      // The server still answers, and the backlog drains once the database is steady.
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      const after = await call(server.url, k.key, 1);
      expect(after.status).toBe(200);
      answered.set(after.id, after);
      await waitFor('ledger backlog', () => server.ledger.lag === 0, 30_000);
      // The LISTEN connection is back (one of it): a change made behind the server's back arrives by NOTIFY.
      await direct.connect();
      await waitFor('one listener', async () => (await direct.query(`select count(*)::int as n from pg_stat_activity where application_name = 'litemaas-listen'`)).rows[0].n === 1, 20_000);
      expect((await call(server.url, spare.key, 2)).status).toBe(200);
      await direct.query('update api_keys set revoked_at = now() where id = $1', [spare.id]);
      await waitFor('revocation by NOTIFY', async () => (await call(server.url, spare.key, 3)).status === 401, 5_000);
      rows = (await direct.query('select id, status, prompt_tokens, completion_tokens from usage_events where key_id = $1', [k.id])).rows;
      daily = (await direct.query('select coalesce(sum(requests), 0)::int as n from usage_daily where key_id = $1', [k.id])).rows[0].n;
    } finally {
      await activity.stop();
      await direct.end().catch(() => {});
      console.log(JSON.stringify(stats()));
    }

    const byId = new Map(rows.map((r) => [r.id, r]));
    const missing = [...answered.keys()].filter((id) => !byId.has(id));
    const wrongTokens = [...answered.values()].filter((a) => {
      const r = byId.get(a.id);
      return r && (r.status !== 200 || r.prompt_tokens !== a.promptTokens || r.completion_tokens !== a.completionTokens);
    });
    const ok200 = rows.filter((r) => r.status === 200).length;

    expect(crashes).toEqual([]);
    expect(answered.size).toBeGreaterThan(100);
    expect(missing).toEqual([]);
    expect(wrongTokens).toEqual([]);
    expect(ok200).toBe(answered.size); // every 2xx once, and nothing billed that was not answered
    expect(daily).toBe(answered.size); // the rollup counted each once too
    // Bounded: the pool (10) + listener + a migration connection at most, however long the outages.
    expect(proxy.maxOpen).toBeLessThanOrEqual(14);
    expect(proxy.maxAcceptedPerSecond).toBeLessThanOrEqual(40);
    expect(activity.max).toBeLessThanOrEqual(MAX_CONNECTIONS / 2);
    expect(activity.maxListeners).toBeLessThanOrEqual(2); // an old one is reaped as the new one arrives, never a pile
  }, 120_000);
});

describe('start while the database is unreachable', () => {
  let proxy: ChaosProxy;
  let dbUrl: string;
  beforeAll(async () => {
    dbUrl = await instance.createDatabase('startdown');
    proxy = new ChaosProxy(instance.port);
    await proxy.listen();
  });
  afterAll(async () => { await proxy?.close(); });

  it('serves from the cached snapshot, refuses budgeted keys with 503, and catches up when it is back', async () => {
    const dir = dataDir();
    const url = viaProxy(dbUrl, proxy);
    const first = await start(url, dir);
    let free: { id: string; key: string }, budgeted: { id: string; key: string };
    try {
      await admin(first, '/admin/models', { id: MODEL, inputPricePer1M: 0.15, outputPricePer1M: 0.6, contextLength: 8192, deployments: [{ url: `${sim.url}/v1`, upstreamModel: 'llama32-fp8', token: UPSTREAM_TOKEN }] });
      free = await provisionKey(first, 'free');
      budgeted = await provisionKey(first, 'budgeted', { maxBudget: 5, budgetPeriod: 'monthly' });
      expect((await call(first.url, free.key, 1)).status).toBe(200);
      expect((await call(first.url, budgeted.key, 2)).status).toBe(200);
      const file = join(dir, 'snapshot.json');
      await waitFor('snapshot cache', () => { try { return readFileSync(file, 'utf8').includes(budgeted.id); } catch { return false; } }, 5_000);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const text = readFileSync(file, 'utf8');
      expect(text).not.toContain(UPSTREAM_TOKEN);
      expect(text).not.toContain(free.key);
      expect(text).not.toContain(budgeted.key);
    } finally {
      await first.close();
    }
    const mtime = statSync(join(dir, 'snapshot.json')).mtimeMs;

    proxy.mode = 'refuse';
    const t0 = Date.now();
    const second = await start(url, dir);
    try {
      expect(Date.now() - t0).toBeLessThan(10_000);
      const served: Answer[] = [];
      for (let i = 0; i < 5; i++) served.push(await call(second.url, free.key, 10 + i));
      expect(served.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
      const refused = await request(`${second.url}/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${budgeted.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }),
      });
      const err = JSON.parse(await refused.body.text());
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBeDefined();
      expect(err.error).toMatchObject({ code: 'budgets_unavailable', type: 'api_error' });
      expect(err.error.message).toMatch(/Budgets cannot be checked while the database is unreachable/);
      expect(second.ledger.lag).toBeGreaterThanOrEqual(5);

      proxy.mode = 'up';
      let back: Answer | null = null;
      await waitFor('budgeted key served again', async () => (back = await call(second.url, budgeted.key, 20)).status === 200, 30_000);
      await waitFor('backlog written', () => second.ledger.lag === 0, 15_000);
      const c = new pg.Client({ connectionString: dbUrl });
      await c.connect();
      const rows = (await c.query('select id, prompt_tokens, completion_tokens from usage_events where key_id = $1 and status = 200', [free.id])).rows;
      const b = (await c.query('select count(*)::int as n from usage_events where key_id = $1 and status = 200', [budgeted.id])).rows[0].n;
      await c.end();
      expect(rows).toHaveLength(6); // one before the outage, five during it
      for (const a of served) expect(rows).toContainEqual({ id: a.id, prompt_tokens: a.promptTokens, completion_tokens: a.completionTokens });
      expect(b).toBe(2);
      expect(back!.status).toBe(200);
      // Reloaded from the unchanged database: the cache file is not rewritten.
      expect(statSync(join(dir, 'snapshot.json')).mtimeMs).toBe(mtime);
    } finally {
      await second.close();
    }
    expect(crashes).toEqual([]);
  }, 90_000);

  it('`litemaas serve` comes up from the cached snapshot, and /readyz does not name the database host', async () => {
    const dir = dataDir();
    const url = viaProxy(await instance.createDatabase('cli'), proxy); // its own: deployment tokens are encrypted with this data dir's key
    proxy.mode = 'up';
    const first = await start(url, dir);
    let free: { id: string; key: string };
    try {
      await admin(first, '/admin/models', { id: MODEL, inputPricePer1M: 0.15, outputPricePer1M: 0.6, contextLength: 8192, deployments: [{ url: `${sim.url}/v1`, upstreamModel: 'llama32-fp8' }] });
      free = await provisionKey(first, 'cli-free');
      await waitFor('snapshot cache', () => { try { return readFileSync(join(dir, 'snapshot.json'), 'utf8').includes(free.id); } catch { return false; } }, 5_000);
    } finally {
      await first.close();
    }
    proxy.mode = 'refuse';
    const port = await freePort();
    const child = spawn(process.execPath, ['dist/src/cli.js', 'serve'], {
      env: { ...process.env, DATABASE_URL: url, LITEMAAS_DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'silent', LITEMAAS_ADMIN_TOKEN: ADMIN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d; });
    child.stderr!.on('data', (d: Buffer) => { out += d; });
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    try {
      await waitFor('serve to listen', () => out.includes('litemaas listening') || child.exitCode !== null, 20_000);
      expect(child.exitCode, out).toBeNull();
      expect(out).toMatch(/database is unreachable; serving \/v1 from the cached snapshot/);
      expect((await call(`http://127.0.0.1:${port}`, free.key, 1)).status).toBe(200);
      await waitFor('a failed usage write', async () => (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()).ledgerError !== null, 10_000);
      const ready = await (await fetch(`http://127.0.0.1:${port}/readyz`)).text();
      expect(ready).toContain('"database":"down"');
      expect(ready).not.toContain('127.0.0.1');
      expect(ready).not.toContain(String(proxy.port));
    } finally {
      proxy.mode = 'up'; // so the shutdown's flush finds the database
      child.kill('SIGTERM');
      await exited;
    }
  }, 60_000);

  it('fails with one clear line when there is no cached snapshot', async () => {
    const closed = new ChaosProxy(instance.port);
    await closed.listen();
    const url = viaProxy(dbUrl, closed);
    await closed.close(); // nothing listens there now: connection refused
    const err = await start(url, dataDir()).then(() => null, (e: Error) => e);
    expect(err).not.toBeNull();
    expect(err!.message).toMatch(/^cannot start: the database is unreachable \(.*ECONNREFUSED.*\) and no cached snapshot exists \(.*snapshot\.json\); start once with the database reachable/);
    expect(err!.message).not.toContain('\n');
  }, 30_000);
});
