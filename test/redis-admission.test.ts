/**
 * RedisAdmission against a redis-server of its own (a free port, no persistence) and a fresh
 * PostgreSQL database: two or three instances on one Redis stand for replicas. Exactness of
 * budgets under concurrency, rpm and max-parallel across replicas, leases of a crashed replica,
 * money beyond 2^53 pico, Redis killed (closed and open modes) and Redis restarted empty
 * (counters reseeded from the database's rollups and the unwritten journal).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { openRedis, whenReady } from '../src/shared/redis.js';
import { RedisAdmission } from '../src/gateway/redis-admission.js';
import { LocalAdmission, type Ticket } from '../src/gateway/admission.js';
import { GatewayError } from '../src/gateway/errors.js';
import { RateLimiter } from '../src/ledger/limits.js';
import { SpendTracker } from '../src/ledger/budgets.js';
import { openStore, type Store } from '../src/store/db.js';
import { fromPico } from '../src/shared/money.js';
import type { UsageEvent } from '../src/ledger/event.js';
import type { KeyEntry, ModelEntry, SubscriptionEntry, UserEntry } from '../src/gateway/snapshot.js';
import { freshDatabase } from './helpers/pg.js';
import { OwnRedis } from './helpers/redis-instance.js';

let redis: OwnRedis;
let dbh: { url: string; drop(): Promise<void> };
let store: Store;
const clients: Redis[] = [];
const admissions: RedisAdmission[] = [];

function connect(): Redis {
  const r = openRedis(redis.url, { commandTimeoutMs: 200 });
  clients.push(r);
  return r;
}

beforeAll(async () => {
  redis = await OwnRedis.create();
  dbh = await freshDatabase('litemaas_redis');
  store = await openStore({ databaseUrl: dbh.url, dataDir: '/tmp', migrate: true });
}, 60_000);
afterAll(async () => {
  for (const a of admissions) await a.close();
  for (const c of clients) c.disconnect();
  await redis?.stop();
  await store?.close();
  await dbh?.drop();
});

function user(o: Partial<UserEntry> = {}): UserEntry {
  return { id: `u-${randomUUID()}`, username: 'someone', disabled: false, maxBudget: null, budgetPeriod: 'monthly', rpm: null, tpm: null, ...o };
}
function key(o: Partial<KeyEntry> = {}, u: UserEntry = user()): KeyEntry {
  return { id: `k-${randomUUID()}`, name: 'k', user: u, models: new Set(['m']), maxBudget: null, budgetPeriod: 'monthly', rpm: null, tpm: null, maxParallel: null, expiresAt: null, ...o };
}
/** One completion token at `perToken` pico: a request with bounds {0, 1} reserves exactly `perToken`. */
function model(perToken: bigint, id = 'm'): ModelEntry {
  return { id, kind: 'chat', contextLength: null, inPerToken: 0n, cachedPerToken: 0n, outPerToken: perToken, audioPerMinute: 0n, requestFee: 0n, created: 0, deployments: [] } as ModelEntry;
}
const SUB: SubscriptionEntry = { status: 'active', quotaRequests: null, quotaTokens: null };
const ONE = { prompt: 0, completion: 1, audioMs: 0 };

async function replica(o: Partial<ConstructorParameters<typeof RedisAdmission>[0]> = {}): Promise<RedisAdmission> {
  const redis = connect();
  await whenReady(redis, 5_000);
  const a = new RedisAdmission({ redis, db: store.db, unwritten: () => [], prefix: 'test:', ...o });
  admissions.push(a);
  return a;
}
function event(k: KeyEntry, m: string, cost: bigint, o: Partial<UsageEvent> = {}): UsageEvent {
  return {
    id: randomUUID(), at: new Date().toISOString(), keyId: k.id, userId: k.user.id, modelId: m, deploymentId: null, status: 200,
    promptTokens: 0, completionTokens: 1, cost: fromPico(cost), latencyMs: 1, ttftMs: null, stream: false, estimated: false, errorCode: null, ...o,
  };
}
async function attempt(a: { admit: RedisAdmission['admit'] }, r: Parameters<RedisAdmission['admit']>[0]): Promise<Ticket | GatewayError> {
  try { return await a.admit(r); } catch (e) { if (e instanceof GatewayError) return e; throw e; }
}
const ok = (x: Ticket | GatewayError): x is Ticket => !(x instanceof GatewayError);
const at = () => new Date();

describe('RedisAdmission', () => {
  it('admits exactly k of 60 concurrent requests, spread over two replicas, against a budget covering k', async () => {
    const [a, b] = [await replica(), await replica()];
    const m = model(1_000_003n); // an odd price, so the budget is exact to the pico
    const k = key({ maxBudget: 7n * 1_000_003n });
    const out = await Promise.all(Array.from({ length: 60 }, (_, i) => attempt(i % 2 ? a : b, { key: k, model: m, sub: SUB, bounds: ONE, free: false, at: at() })));
    const admitted = out.filter(ok);
    expect(admitted).toHaveLength(7);
    const refused = out.filter((x): x is GatewayError => !ok(x));
    expect(new Set(refused.map((e) => e.code))).toEqual(new Set(['budget_exceeded']));
    expect(refused[0]!.message).toBe("The key budget (monthly) is exhausted or too small for this request's maximum cost; lower max_tokens or raise the budget.");
    expect(refused[0]!.retryAfter).toBeGreaterThan(0);
    // Settling at the actual cost (here: all of it) keeps the budget spent; settling at nothing gives it back.
    for (const t of admitted.slice(0, 5)) t.settle(event(k, 'm', 1_000_003n), 1_000_003n, 1);
    for (const t of admitted.slice(5)) t.settle(null, 0n, 0);
    await new Promise((r) => setTimeout(r, 100)); // settles are sent, not awaited
    const again = await Promise.all(Array.from({ length: 10 }, (_, i) => attempt(i % 2 ? a : b, { key: k, model: m, sub: SUB, bounds: ONE, free: false, at: at() })));
    expect(again.filter(ok)).toHaveLength(2);
  });

  it('holds a user budget and subscription quotas across replicas, with LocalAdmission’s messages', async () => {
    const [a, b] = [await replica(), await replica()];
    const u = user({ maxBudget: 3n * 10n, budgetPeriod: 'daily' });
    const [k1, k2] = [key({}, u), key({}, u)];
    const m = model(10n);
    const out = await Promise.all(Array.from({ length: 10 }, (_, i) => attempt(i % 2 ? a : b, { key: i % 3 ? k1 : k2, model: m, sub: SUB, bounds: ONE, free: false, at: at() })));
    expect(out.filter(ok)).toHaveLength(3);
    const e = out.find((x) => !ok(x)) as GatewayError;
    expect(e.code).toBe('budget_exceeded');
    expect(e.message).toContain('The user budget (daily)');

    const sub: SubscriptionEntry = { status: 'active', quotaRequests: 4, quotaTokens: null };
    const k3 = key();
    const q = await Promise.all(Array.from({ length: 10 }, (_, i) => attempt(i % 2 ? a : b, { key: k3, model: m, sub, bounds: ONE, free: false, at: at() })));
    expect(q.filter(ok)).toHaveLength(4);
    expect((q.find((x) => !ok(x)) as GatewayError).message).toBe("The subscription's monthly request quota (4) for model m is used up.");
    const subT: SubscriptionEntry = { status: 'active', quotaRequests: null, quotaTokens: 25 };
    const k4 = key();
    const tq = await Promise.all(Array.from({ length: 6 }, (_, i) => attempt(i % 2 ? a : b, { key: k4, model: m, sub: subT, bounds: { prompt: 5, completion: 5, audioMs: 0 }, free: false, at: at() })));
    expect(tq.filter(ok)).toHaveLength(2);
    // A free request (tokenize) is not refused by a quota.
    expect(ok(await attempt(a, { key: k4, model: m, sub: subT, bounds: ONE, free: true, at: at() }))).toBe(true);
  });

  it('enforces rpm, tpm and max-parallel across two replicas', async () => {
    const [a, b] = [await replica(), await replica()];
    const m = model(0n);
    const k = key({ rpm: 5 });
    const out = [];
    for (let i = 0; i < 10; i++) out.push(await attempt(i % 2 ? a : b, { key: k, model: m, sub: SUB, bounds: ONE, free: false, at: at() }));
    expect(out.filter(ok)).toHaveLength(5);
    const e = out.find((x) => !ok(x)) as GatewayError;
    expect(e.code).toBe('rate_limit_exceeded');
    expect(e.message).toBe('Rate limit reached: 5 requests per minute for this key.');
    expect(e.retryAfter).toBeGreaterThanOrEqual(1);

    const ku = key({}, user({ rpm: 3 }));
    const u = [];
    for (let i = 0; i < 6; i++) u.push(await attempt(i % 2 ? a : b, { key: ku, model: m, sub: SUB, bounds: ONE, free: false, at: at() }));
    expect(u.filter(ok)).toHaveLength(3);
    expect((u.find((x) => !ok(x)) as GatewayError).message).toBe("Rate limit reached: 3 requests per minute for this key's owner.");

    const kt = key({ tpm: 100 });
    const big = { prompt: 30, completion: 10, audioMs: 0 };
    const t1 = await a.admit({ key: kt, model: m, sub: SUB, bounds: big, free: false, at: at() });
    const t2 = await b.admit({ key: kt, model: m, sub: SUB, bounds: big, free: false, at: at() });
    const t3 = await attempt(a, { key: kt, model: m, sub: SUB, bounds: big, free: false, at: at() });
    expect((t3 as GatewayError).message).toBe('Rate limit reached: 100 tokens per minute for this key (this request may use up to 40; lower max_tokens to fit sooner).');
    t1.settle(null, 0n, 5); // its hold of 40 becomes 5 actual tokens
    t2.settle(null, 0n, 5);
    await new Promise((r) => setTimeout(r, 50));
    expect(ok(await attempt(a, { key: kt, model: m, sub: SUB, bounds: big, free: false, at: at() }))).toBe(true);

    const kp = key({ maxParallel: 2 });
    const p1 = await a.admit({ key: kp, model: m, sub: SUB, bounds: ONE, free: false, at: at() });
    await b.admit({ key: kp, model: m, sub: SUB, bounds: ONE, free: false, at: at() });
    const p3 = await attempt(a, { key: kp, model: m, sub: SUB, bounds: ONE, free: false, at: at() });
    expect((p3 as GatewayError).message).toBe('Rate limit reached: at most 2 requests in flight for this key.');
    expect((p3 as GatewayError).retryAfter).toBe(1);
    p1.settle(null, 0n, 0);
    expect(ok(await attempt(a, { key: kp, model: m, sub: SUB, bounds: ONE, free: false, at: at() }))).toBe(true);
  });

  it('lets the slot and reservations of a crashed replica expire after its lease', async () => {
    const crashing = await replica({ leaseMs: 500 });
    const other = await replica({ leaseMs: 500 });
    const m = model(100n);
    const k = key({ maxParallel: 1, maxBudget: 100n });
    await crashing.admit({ key: k, model: m, sub: SUB, bounds: ONE, free: false, at: at() });
    clients.at(-2)!.disconnect(); // the replica dies without settling
    const now = await attempt(other, { key: k, model: m, sub: SUB, bounds: ONE, free: false, at: at() });
    expect((now as GatewayError).code).toBe('rate_limit_exceeded');
    await new Promise((r) => setTimeout(r, 700));
    expect(ok(await attempt(other, { key: k, model: m, sub: SUB, bounds: ONE, free: false, at: at() }))).toBe(true);
  });

  it('keeps money exact beyond 2^53 pico (a budget above 9007 units), spend seeded from PostgreSQL', async () => {
    const a = await replica();
    const k = key({ maxBudget: 2n ** 53n + 4n });
    // Already spent: exactly 2^53 pico = 9007.199254740992 (a double cannot tell it from 2^53 + 1).
    await store.db.insertInto('usage_daily').values({ day: new Date().toISOString().slice(0, 10), key_id: k.id, user_id: k.user.id, model_id: 'm', requests: 1, errors: 0, prompt_tokens: 0, completion_tokens: 0, cost: fromPico(2n ** 53n) } as never).execute();
    const m = model(1n);
    const out = await Promise.all(Array.from({ length: 10 }, () => attempt(a, { key: k, model: m, sub: SUB, bounds: ONE, free: false, at: at() })));
    expect(out.filter(ok)).toHaveLength(4); // doubles would let a fifth in: 2^53 + 5 rounds to 2^53 + 4
    for (const t of out.filter(ok)) t.settle(event(k, 'm', 1n), 1n, 1);
    const r = clients.at(-1)!;
    const spentKey = (await r.keys(`test:spent:k:${k.id}:*`))[0]!;
    expect(await r.hget(spentKey, 'c')).toBe(String(2n ** 53n + 4n));
    expect(await r.hget(spentKey, 'r')).toBe('5');
    // Large amounts: 9 million units, reserved and compared to the pico.
    const rich = key({ maxBudget: toPicoUnits(9_000_000n) + 1n });
    const pricey = model(toPicoUnits(3_000_000n));
    const big = await Promise.all(Array.from({ length: 5 }, () => attempt(a, { key: rich, model: pricey, sub: SUB, bounds: ONE, free: false, at: at() })));
    expect(big.filter(ok)).toHaveLength(3);
  });

  it('Redis killed: closed mode answers 503, open mode admits each replica’s share only; back empty: reseeded from PostgreSQL', async () => {
    const m = model(10n);
    const k = key({ maxBudget: 100n }); // ten requests in all
    const spend = new SpendTracker();
    await spend.load(store.db);
    const local = new LocalAdmission(new RateLimiter(), spend);
    const fallbacks: string[] = [];
    const closed = await replica({ onFallback: (mode) => fallbacks.push(mode) });
    const events: UsageEvent[] = [];
    const open = await replica({
      failureMode: 'open', replicas: 2, unwritten: () => events,
      fallback: Object.assign(local, { spendAdd: (e: UsageEvent, c: bigint) => spend.add(e, c) }),
    });
    const openConn = clients.at(-1)!;
    // Two requests through Redis, recorded (one of them still only in the journal: `unwritten`).
    for (let i = 0; i < 2; i++) {
      const t = await open.admit({ key: k, model: m, sub: SUB, bounds: ONE, free: false, at: at() });
      const e = event(k, 'm', 10n);
      events.push(e);
      t.settle(e, 10n, 1);
    }
    await redis.stop();
    const c = await attempt(closed, { key: k, model: m, sub: SUB, bounds: ONE, free: false, at: at() });
    expect((c as GatewayError).code).toBe('budgets_unavailable');
    expect((c as GatewayError).status).toBe(503);
    expect((c as GatewayError).retryAfter).toBeGreaterThan(0);
    expect(fallbacks).toEqual(['closed']);
    // Open: this replica may spend half of the budget (50), of which it already knows 20 spent.
    const o = [];
    for (let i = 0; i < 10; i++) {
      const t = await attempt(open, { key: k, model: m, sub: SUB, bounds: ONE, free: false, at: at() });
      if (ok(t)) { const e = event(k, 'm', 10n); events.push(e); t.settle(e, 10n, 1); }
      o.push(t);
    }
    expect(o.filter(ok)).toHaveLength(3);
    expect((o.find((x) => !ok(x)) as GatewayError).code).toBe('budget_exceeded');

    // The first event reaches the database (rollup and event), the others are still in the journal.
    const first = events[0]!;
    await store.db.insertInto('usage_events').values({ id: first.id, at: first.at, key_id: k.id, user_id: k.user.id, model_id: 'm', status: 200, prompt_tokens: 0, completion_tokens: 1, cost: first.cost, latency_ms: 1 } as never).execute();
    await store.db.insertInto('usage_daily').values({ day: first.at.slice(0, 10), key_id: k.id, user_id: k.user.id, model_id: 'm', requests: 1, errors: 0, prompt_tokens: 0, completion_tokens: 1, cost: first.cost } as never).execute();
    await redis.start(); // empty
    expect(await whenReady(openConn, 5_000)).toBe(true);
    // Spent: 5 × 10 (1 in the database, 4 unwritten) → five more fit, counted once.
    const after = [];
    for (let i = 0; i < 8; i++) after.push(await attempt(open, { key: k, model: m, sub: SUB, bounds: ONE, free: false, at: at() }));
    expect(after.filter(ok)).toHaveLength(5);
    expect(fallbacks).toEqual(['closed']);
  }, 20_000);
});

function toPicoUnits(units: bigint): bigint { return units * 10n ** 12n; }
