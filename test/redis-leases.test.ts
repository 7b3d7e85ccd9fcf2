/**
 * Leases (src/gateway/redis-leases.ts): replicas spend slices of the shared budgets, quotas and
 * rate limits without a round trip, and the totals stay exact. Against a redis-server of the
 * test's own and a fresh PostgreSQL database; three RedisAdmission instances on their own
 * connections stand for three replicas.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { openRedis, whenReady } from '../src/shared/redis.js';
import { RedisAdmission } from '../src/gateway/redis-admission.js';
import type { Ticket } from '../src/gateway/admission.js';
import { GatewayError } from '../src/gateway/errors.js';
import { openStore, type Store } from '../src/store/db.js';
import { fromPico } from '../src/shared/money.js';
import type { UsageEvent } from '../src/ledger/event.js';
import type { KeyEntry, ModelEntry, SubscriptionEntry, UserEntry } from '../src/gateway/snapshot.js';
import { freshDatabase } from './helpers/pg.js';
import { OwnRedis } from './helpers/redis-instance.js';

let redis: OwnRedis;
let dbh: { url: string; drop(): Promise<void> };
let store: Store;
let probe: Redis;
const clients: Redis[] = [];
const admissions: RedisAdmission[] = [];

beforeAll(async () => {
  redis = await OwnRedis.create();
  dbh = await freshDatabase('litemaas_leases');
  store = await openStore({ databaseUrl: dbh.url, dataDir: '/tmp', migrate: true });
  probe = openRedis(redis.url);
  await whenReady(probe, 5_000);
}, 60_000);
afterAll(async () => {
  for (const a of admissions) await a.close();
  for (const c of clients) c.disconnect();
  probe?.disconnect();
  await redis?.stop();
  await store?.close();
  await dbh?.drop();
});

async function replica(o: Partial<ConstructorParameters<typeof RedisAdmission>[0]> = {}): Promise<{ a: RedisAdmission; conn: Redis }> {
  const conn = openRedis(redis.url, { commandTimeoutMs: 2_000 });
  clients.push(conn);
  await whenReady(conn, 5_000);
  const a = new RedisAdmission({ redis: conn, db: store.db, unwritten: () => [], prefix: 'lt:', replicas: 3, ...o });
  admissions.push(a);
  return { a, conn };
}
async function replicas(n: number, o: Partial<ConstructorParameters<typeof RedisAdmission>[0]> = {}): Promise<RedisAdmission[]> {
  const out = [];
  for (let i = 0; i < n; i++) out.push((await replica(o)).a);
  return out;
}

function user(o: Partial<UserEntry> = {}): UserEntry {
  return { id: `u-${randomUUID()}`, username: 'someone', disabled: false, maxBudget: null, budgetPeriod: 'monthly', rpm: null, tpm: null, ...o };
}
function key(o: Partial<KeyEntry> = {}, u: UserEntry = user()): KeyEntry {
  return { id: `k-${randomUUID()}`, name: 'k', user: u, models: new Set(['m']), maxBudget: null, budgetPeriod: 'monthly', rpm: null, tpm: null, maxParallel: null, expiresAt: null, ...o };
}
function model(perToken: bigint): ModelEntry {
  return { id: 'm', kind: 'chat', contextLength: null, inPerToken: 0n, cachedPerToken: 0n, outPerToken: perToken, audioPerMinute: 0n, requestFee: 0n, created: 0, deployments: [] } as ModelEntry;
}
const SUB: SubscriptionEntry = { status: 'active', quotaRequests: null, quotaTokens: null };
const bounds = (completion: number) => ({ prompt: 0, completion, audioMs: 0 });
function event(k: KeyEntry, cost: bigint, tokens = 1): UsageEvent {
  return {
    id: randomUUID(), at: new Date().toISOString(), keyId: k.id, userId: k.user.id, modelId: 'm', deploymentId: null, status: 200,
    promptTokens: 0, completionTokens: tokens, cost: fromPico(cost), latencyMs: 1, ttftMs: null, stream: false, estimated: false, errorCode: null,
  };
}
async function attempt(a: RedisAdmission, k: KeyEntry, m: ModelEntry, completion = 1, sub = SUB): Promise<Ticket | GatewayError> {
  try { return await a.admit({ key: k, model: m, sub, bounds: bounds(completion), free: false, at: new Date() }); } catch (e) { if (e instanceof GatewayError) return e; throw e; }
}
const ok = (x: Ticket | GatewayError): x is Ticket => !(x instanceof GatewayError);
async function evalshaCalls(): Promise<number> {
  const m = /cmdstat_evalsha:calls=(\d+)/.exec(await probe.info('commandstats'));
  return m ? Number(m[1]) : 0;
}
async function spent(k: KeyEntry): Promise<bigint> {
  const ks = await probe.keys(`lt:spent:k:${k.id}:*`);
  return ks.length ? BigInt((await probe.hget(ks[0]!, 'c')) ?? '0') : 0n;
}
/** Lease members still in Redis for a key's budget (ids start with `~`), and their sum. */
async function leased(k: KeyEntry): Promise<{ members: number; lc: string | null }> {
  const members = (await probe.zrange(`lt:res:k:${k.id}`, 0, -1)).filter((m) => m.startsWith('~')).length;
  return { members, lc: await probe.hget(`lt:ressum:k:${k.id}`, 'lc') };
}
/** Waits, if needed, so that what follows stays within one minute of Redis's clock (rpm windows). */
async function awayFromMinuteEdge(): Promise<void> {
  const [s] = await probe.time();
  const into = (Number(s) % 60) * 1000;
  if (into > 30_000) await new Promise((r) => setTimeout(r, 61_000 - into)); // the test then has 30 s, enough on a loaded machine
}

describe('leases', () => {
  it('spends a lease without round trips and converts it into the exact counter', async () => {
    const { a } = await replica({ flushMs: 20 });
    const price = 1_000_003n;
    const m = model(price);
    const k = key({ maxBudget: 1_000_000n * price });
    const before = await evalshaCalls();
    let total = 0n;
    for (let i = 0; i < 200; i++) {
      const t = await a.admit({ key: k, model: m, sub: SUB, bounds: bounds(10), free: false, at: new Date() });
      const cost = BigInt(1 + (i % 10)) * price; // used: 1 to 10 of the 10 tokens reserved
      total += cost;
      t.settle(event(k, cost), cost, 1);
    }
    const calls = (await evalshaCalls()) - before;
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThan(200 / 4); // per request it would be 400 (admit + settle)
    await a.flush(true); // every lease converted and given back
    expect(await spent(k)).toBe(total);
    expect(await leased(k)).toEqual({ members: 0, lc: '0' });
  });

  it('stops using a lease granted under a budget that was since lowered', async () => {
    const { a } = await replica();
    const m = model(10n);
    const k = key({ maxBudget: 10_000n }); // 1 000 requests: a lease of 32 (320)
    const t = await a.admit({ key: k, model: m, sub: SUB, bounds: bounds(1), free: false, at: new Date() });
    t.settle(event(k, 10n), 10n, 1);
    expect((await leased(k)).members).toBe(1);
    const lowered = { ...k, maxBudget: 30n }; // the snapshot changes: 10 spent, 20 left
    const out = [];
    for (let i = 0; i < 5; i++) {
      const x = await attempt(a, lowered, m);
      if (ok(x)) x.settle(event(k, 10n), 10n, 1);
      out.push(x);
    }
    expect(out.filter(ok)).toHaveLength(2);
    await a.flush(true);
    expect(await spent(k)).toBe(30n);
  });

  for (const spread of ['over three replicas', 'on one replica while the others hold leases'] as const) {
    it(`admits exactly the requests a budget covers, ${spread}`, async () => {
      const rs = await replicas(3);
      const price = 7_000_001n;
      const m = model(price);
      const N = 300;
      const k = key({ maxBudget: BigInt(N) * price });
      // Warm: every replica holds a lease after its first requests.
      for (const r of rs) for (let i = 0; i < 3; i++) (await r.admit({ key: k, model: m, sub: SUB, bounds: bounds(1), free: false, at: new Date() })).settle(event(k, price), price, 1);
      expect((await leased(k)).members).toBe(3);
      const race = await Promise.all(Array.from({ length: 2 * N }, (_, i) => attempt(spread === 'over three replicas' ? rs[i % 3]! : rs[0]!, k, m)));
      const admitted = race.filter(ok);
      expect(admitted).toHaveLength(N - 9);
      expect(new Set(race.filter((x) => !ok(x)).map((e) => (e as GatewayError).code))).toEqual(new Set(['budget_exceeded']));
      for (const t of admitted) t.settle(event(k, price), price, 1);
      for (const r of rs) await r.flush(true);
      expect(await spent(k)).toBe(BigInt(N) * price);
    }, 30_000);
  }

  it('holds a subscription quota and an owner budget with leases across replicas', async () => {
    const rs = await replicas(3);
    const m = model(5n);
    const u = user({ maxBudget: 5n * 400n, budgetPeriod: 'daily' });
    const sub: SubscriptionEntry = { status: 'active', quotaRequests: 250, quotaTokens: null };
    const k = key({}, u);
    let n = 0;
    for (let i = 0; i < 600; i++) {
      const x = await attempt(rs[i % 3]!, k, m, 1, sub);
      if (ok(x)) { n++; x.settle(event(k, 5n), 5n, 1); } else expect(x.code).toBe('quota_exceeded');
    }
    expect(n).toBe(250);
  }, 30_000);

  it('enforces rpm and tpm with leases across three replicas', async () => {
    await awayFromMinuteEdge();
    const rs = await replicas(3);
    const m = model(0n);
    const k = key({ rpm: 120 });
    let n = 0;
    for (let i = 0; i < 300; i++) {
      const x = await attempt(rs[i % 3]!, k, m);
      if (ok(x)) { n++; x.settle(null, 0n, 1); } else expect(x.message).toBe('Rate limit reached: 120 requests per minute for this key.');
    }
    expect(n).toBe(120);
    const kt = key({ tpm: 6_000 });
    let tokens = 0;
    for (let i = 0; i < 300; i++) {
      const x = await attempt(rs[i % 3]!, kt, m, 20); // holds 20, uses 20
      if (ok(x)) { tokens += 20; x.settle(null, 0n, 20); }
    }
    // Never more than the limit. Near it, a few requests may be refused with room left (seen: up to 7 of 300
    // on a CPU-starved machine, cause not yet found): leases cost under-admission, never overspend.
    expect(tokens).toBeLessThanOrEqual(6_000);
    expect(tokens).toBeGreaterThanOrEqual(5_700);
  }, 90_000);

  it('a replica that dies holding leases blocks them only for their life, and its spend is not lost', async () => {
    const { a: dying, conn } = await replica({ sliceMs: 400, leaseMs: 400 });
    const other = (await replica()).a;
    const m = model(1n);
    const k = key({ maxBudget: 100n });
    const e = event(k, 1n);
    (await dying.admit({ key: k, model: m, sub: SUB, bounds: bounds(1), free: false, at: new Date() })).settle(e, 1n, 1);
    expect((await leased(k)).members).toBe(1);
    // Its ledger wrote the event (as it does within 100 ms), then it died before converting its lease.
    await store.db.insertInto('usage_daily').values({ day: e.at.slice(0, 10), key_id: k.id, user_id: k.user.id, model_id: 'm', requests: 1, errors: 0, prompt_tokens: 0, completion_tokens: 1, cost: e.cost } as never).execute();
    conn.disconnect();
    await new Promise((r) => setTimeout(r, 500));
    let n = 0;
    for (let i = 0; i < 120; i++) { const x = await attempt(other, k, m); if (ok(x)) { n++; x.settle(event(k, 1n), 1n, 1); } }
    // The expired lease is given back, and the counter it fed is rebuilt from the database: 99 left.
    expect(n).toBe(99);
  }, 20_000);

  it('close() gives the leases back', async () => {
    const { a } = await replica();
    const m = model(1n);
    const k = key({ maxBudget: 1_000n });
    (await a.admit({ key: k, model: m, sub: SUB, bounds: bounds(1), free: false, at: new Date() })).settle(event(k, 1n), 1n, 1);
    expect((await leased(k)).members).toBe(1);
    await a.close();
    expect(await leased(k)).toEqual({ members: 0, lc: '0' });
    expect(await spent(k)).toBe(1n);
  });

  it('never overspends and ends exact, whatever the interleaving (generated)', async () => {
    const rs = await replicas(3, { flushMs: 5, idleMs: 30 });
    const m = model(1_000n);
    const op = fc.oneof(
      fc.record({ t: fc.constant('admit' as const), r: fc.nat(2), tokens: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ t: fc.constant('settle' as const), i: fc.nat(), used: fc.double({ min: 0, max: 1, noNaN: true }) }),
      fc.record({ t: fc.constant('flush' as const), r: fc.nat(2) }),
      fc.record({ t: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 40 }) }),
    );
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 3_000 }), fc.array(op, { minLength: 5, maxLength: 80 }), async (units, ops) => {
      const budget = BigInt(units) * 1_000n;
      const k = key({ maxBudget: budget });
      const open: Array<{ t: Ticket; max: bigint }> = [];
      let reserved = 0n;
      let settled = 0n;
      for (const o of ops) {
        if (o.t === 'admit') {
          const x = await attempt(rs[o.r]!, k, m, o.tokens);
          if (ok(x)) { const max = BigInt(o.tokens) * 1_000n; open.push({ t: x, max }); reserved += max; }
          expect(settled + reserved).toBeLessThanOrEqual(budget);
        } else if (o.t === 'settle' && open.length) {
          const [{ t, max }] = open.splice(o.i % open.length, 1) as [{ t: Ticket; max: bigint }];
          const cost = (max * BigInt(Math.round(o.used * 1000))) / 1000n;
          t.settle(event(k, cost), cost, 1);
          reserved -= max; settled += cost;
        } else if (o.t === 'flush') await rs[o.r]!.flush();
        else if (o.t === 'wait') await new Promise((r) => setTimeout(r, o.ms));
      }
      for (const { t } of open) t.settle(null, 0n, 0);
      for (const r of rs) await r.flush(true);
      expect(await spent(k)).toBe(settled);
      expect((await leased(k)).members).toBe(0);
      // Nothing is held any more: what is left of the budget can be spent in one request.
      const left = budget - settled;
      if (left >= 1_000n) {
        const last = await attempt(rs[0]!, k, m, Number(left / 1_000n));
        expect(ok(last)).toBe(true);
        if (ok(last)) last.settle(null, 0n, 0);
      }
    }), { numRuns: 40 });
  }, 120_000);
});
