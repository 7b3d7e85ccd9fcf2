/**
 * Sign-in throttles shared by replicas (REDIS_URL): the counters on a redis-server of the
 * test's own, two LiteMaaS servers on one PostgreSQL database — a password guessed wrong
 * five times across the two is locked on both, as on one server; so is the per-address
 * limit of sign-in attempts; the reveal window (the
 * session's sign-in time, in PostgreSQL) is the same on both. Redis unreachable: each
 * replica counts on its own, sign-in still works, and the outage is logged once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startServer, type Running } from '../src/server.js';
import { loadConfig } from '../src/config.js';
import { openRedis, whenReady } from '../src/shared/redis.js';
import { LoginThrottle } from '../src/portal/services/login-throttle.js';
import { MemoryThrottleStore, RedisThrottleStore } from '../src/portal/services/throttle-store.js';
import { freshDatabase } from './helpers/pg.js';
import { freePort } from './helpers/net.js';
import { OwnRedis } from './helpers/redis-instance.js';
import { Session } from './helpers/session.js';

const PW = 'correct-horse-battery-staple';

describe('sign-in throttles and the reveal window across replicas', () => {
  let redis: OwnRedis;
  let redisUrl: string;
  let database: { url: string; drop(): Promise<void> };
  const servers: Running[] = [];
  const dirs: string[] = [];
  const adminToken = randomBytes(16).toString('hex');
  let db: pg.Client;

  beforeAll(async () => {
    redis = await OwnRedis.create();
    redisUrl = redis.url;
    database = await freshDatabase('litemaas_throttle');
    const secret = randomBytes(32).toString('hex');
    for (let i = 0; i < 2; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), 'litemaas-throttle-'));
      dirs.push(dataDir);
      // One after the other: the first migrates the database.
      servers.push(await startServer({
        ...loadConfig({}), port: 0, host: '127.0.0.1', dataDir, databaseUrl: database.url, adminToken, secret, logLevel: 'silent',
        flushIntervalMs: 50, reconcileIntervalMs: 30_000, redisUrl, redisFailureMode: 'closed', replicas: 2,
      }));
    }
    db = new pg.Client({ connectionString: database.url });
    await db.connect();
  }, 60_000);

  afterAll(async () => {
    await db?.end();
    for (const s of servers) await s.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await database?.drop();
    await redis?.stop();
  });

  async function admin(method: string, path: string, body?: unknown) {
    const res = await fetch(`${servers[0]!.url}/api/v1${path}`, {
      method, headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  }
  async function person(username: string): Promise<string> {
    const r = await admin('POST', '/admin/users', { username, password: PW });
    expect(r.status).toBe(201);
    return r.body.id;
  }
  async function login(url: string, username: string, password: string) {
    const res = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    return { status: res.status, retryAfter: res.headers.get('retry-after') };
  }

  it('locks a name guessed wrong five times across two replicas, on both, as one server would', async () => {
    await person('shared-victim');
    const [a, b] = servers.map((s) => s.url) as [string, string];
    for (const [i, url] of [a, b, a, b].entries()) expect((await login(url, 'shared-victim', `wrong-guess-${i}`)).status).toBe(401);
    // Four failures: the right password still works (and forgets them) on either replica.
    expect((await login(b, 'shared-victim', PW)).status).toBe(200);
    for (const [i, url] of [b, a, b, a, b].entries()) expect((await login(url, 'shared-victim', `wrong-again-${i}`)).status).toBe(401);
    for (const url of [a, b]) {
      const r = await login(url, 'shared-victim', PW);
      expect(r.status).toBe(429);
      expect(Number(r.retryAfter)).toBeGreaterThan(800);
    }
    // On Redis, under the throttle's prefix, expiring by itself.
    const r = openRedis(redisUrl);
    try {
      expect(await whenReady(r, 2_000)).toBe(true);
      const keys = await r.keys('litemaas:throttle:*');
      expect(keys).toContain('litemaas:throttle:login:shared-victim');
      const ttl = await r.pttl('litemaas:throttle:login:shared-victim');
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(15 * 60_000);
    } finally { r.disconnect(); }
  });

  it('applies one reveal window on both replicas: a fresh sign-in on one reveals on the other, a stale one is refused on both', async () => {
    const userId = await person('shared-revealer');
    // Nothing is ever sent to the deployment: the key only has to exist.
    expect((await admin('POST', '/admin/models', { id: 'quiet-model', inputPricePer1M: '0', outputPricePer1M: '0', deployments: [{ url: 'http://127.0.0.1:9/v1', upstreamModel: 'quiet' }] })).status).toBe(201);
    expect((await admin('POST', `/admin/users/${userId}/subscriptions`, { modelId: 'quiet-model' })).status).toBe(201);
    const k = await admin('POST', `/admin/users/${userId}/api-keys`, { name: 'shared', models: ['quiet-model'] });
    expect(k.status, JSON.stringify(k.body)).toBe(201);
    const [a, b] = servers.map((s) => s.url) as [string, string];
    const onA = await Session.signIn(a, 'shared-revealer', PW);
    // The same cookies against the other replica.
    const cookieOf = (name: string) => onA.cookie(name)!;
    const reveal = async (url: string) => {
      const res = await fetch(`${url}/api/v1/api-keys/${k.body.id}/reveal`, {
        method: 'POST', headers: { cookie: `litemaas_session=${cookieOf('litemaas_session')}; litemaas_csrf=${cookieOf('litemaas_csrf')}`, 'x-csrf-token': cookieOf('litemaas_csrf') },
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    for (const url of [a, b]) {
      const r = await reveal(url);
      expect(r.status).toBe(200);
      expect(r.body.key).toBe(k.body.key);
    }
    await db.query(`update sessions set authenticated_at = now() - interval '16 minutes' where user_id = $1`, [userId]);
    for (const url of [a, b]) {
      const r = await reveal(url);
      expect(r.status).toBe(403);
      expect(r.body.error?.code ?? r.body.code).toBe('reauth_required');
    }
  });

  it('counts on one Redis key from two stores, and forgets it on reset', async () => {
    const r1 = openRedis(redisUrl), r2 = openRedis(redisUrl);
    try {
      await Promise.all([whenReady(r1, 2_000), whenReady(r2, 2_000)]);
      const t1 = new LoginThrottle(new RedisThrottleStore(r1), 3, 60_000);
      const t2 = new LoginThrottle(new RedisThrottleStore(r2), 3, 60_000);
      const now = Date.now();
      // Concurrent failures in the same millisecond all count.
      const waits = await Promise.all([t1.fail('race', now), t2.fail('race', now), t1.fail('race', now)]);
      expect(waits.filter((w) => w > 0)).toHaveLength(1);
      expect(await t2.retryAfter('race', now)).toBe(60);
      expect(await t1.retryAfter('race', now + 30_000)).toBe(30);
      // The window slides: once the first failures are older than it, the name is free.
      expect(await t1.retryAfter('race', now + 60_001)).toBe(0);
      await t1.fail('race', now + 1_000);
      await t1.succeed('race');
      expect(await t2.retryAfter('race', now + 1_000)).toBe(0);
    } finally { r1.disconnect(); r2.disconnect(); }
  });

  it('falls back to this replica’s memory when Redis is unreachable, logs it once, and says when it is back', async () => {
    const later = new OwnRedis(await freePort());
    const r = openRedis(later.url);
    const lines: string[] = [];
    const log = { warn: (_o: object, m: string) => lines.push(`warn ${m}`), info: (_o: object, m: string) => lines.push(`info ${m}`) };
    const t = new LoginThrottle(new RedisThrottleStore(r, { log }), 3, 60_000);
    try {
      const now = Date.now();
      for (let i = 0; i < 3; i++) await t.fail('offline', now);
      expect(await t.retryAfter('offline', now)).toBe(60); // still throttled, in memory
      expect(await t.retryAfter('someone-else', now)).toBe(0); // and nobody else is refused
      expect(lines).toEqual([expect.stringMatching(/^warn Redis unreachable/)]);
      await later.start();
      expect(await whenReady(r, 5_000)).toBe(true);
      expect(await t.retryAfter('offline', now)).toBe(0); // Redis holds no failures for it
      expect(lines).toHaveLength(2);
      expect(lines[1]).toMatch(/^info Redis reachable again/);
    } finally {
      r.disconnect();
      await later.stop();
    }
  });

  // Last of the server tests: it uses up this address's sign-in allowance for the minute.
  it('counts the per-address sign-in limit (20 a minute) once across the replicas', async () => {
    const [a, b] = servers.map((s) => s.url) as [string, string];
    let n = 0;
    let first429: string | null = null;
    for (; n < 60 && first429 === null; n++) {
      const url = n % 2 ? b : a;
      const r = await login(url, `nobody-${n}`, 'x');
      if (r.status === 429) first429 = url;
      else expect(r.status).toBe(401);
    }
    // Shared: refused at the 21st attempt of the minute at the latest (earlier tests signed in from here too);
    // counted per replica it would take about 41 alternating attempts.
    expect(first429).not.toBeNull();
    expect(n).toBeLessThanOrEqual(21);
    for (const url of [a, b]) expect((await login(url, 'nobody-else', 'x')).status).toBe(429);
  });

  it('keeps today’s behaviour in memory: the oldest failure sets the wait, success forgets', async () => {
    const t = new LoginThrottle(new MemoryThrottleStore(), 2, 10_000);
    expect(await t.fail('m', 1_000)).toBe(0);
    expect(await t.fail('m', 4_000)).toBe(7);
    expect(await t.retryAfter('m', 6_000)).toBe(5);
    expect(await t.retryAfter('m', 11_001)).toBe(0);
    await t.succeed('m');
    expect(await t.retryAfter('m', 5_000)).toBe(0);
  });
});
