/**
 * Spend counters read per scope the first time a request needs them
 * (SpendTracker.need, LocalAdmission), on PostgreSQL and PGlite:
 * - generated usage_daily histories and journal events (fast-check, fixed
 *   seed): every key, user and subscription scope read on its own day answers
 *   daily, weekly, monthly and all-time sums exactly as the rows and events
 *   add up, on that day and on later ones;
 * - concurrent first requests share one read, and a budget or quota covering
 *   exactly N requests admits exactly N; scopes without limits are never read;
 * - an event counted while its scope is being read counts once, whether or
 *   not the read's snapshot already has it;
 * - the database cut (a test-owned TCP proxy): 503 budgets_unavailable, then
 *   the next request after the database is back reads again;
 * - through `startServer`: history already in usage_daily refuses a key, a
 *   user and a subscription at their first request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { openStore, type Store } from '../src/store/db.js';
import type { BudgetPeriod, Database } from '../src/store/schema.js';
import { SpendTracker, periodStart, type ReserveInput } from '../src/ledger/budgets.js';
import { RateLimiter } from '../src/ledger/limits.js';
import { writeUsage } from '../src/ledger/writer.js';
import { isSuccess, type UsageEvent } from '../src/ledger/event.js';
import { fromPico } from '../src/shared/money.js';
import { LocalAdmission, type Ticket } from '../src/gateway/admission.js';
import { GatewayError } from '../src/gateway/errors.js';
import type { KeyEntry, ModelEntry, SubscriptionEntry, UserEntry } from '../src/gateway/snapshot.js';
import { freshDatabase } from './helpers/pg.js';
import { ChaosProxy } from './helpers/chaos-proxy.js';
import { MODEL, provision, startSystem } from './helpers/system.js';

const SEED = Number(process.env.PROPERTY_SEED ?? 20261201);
const BASE = Date.parse('2026-02-25T10:00:00Z'); // a Wednesday; the window crosses a month start within days
const DAY = 86_400_000;
const dayOf = (offset: number) => new Date(BASE + offset * DAY).toISOString().slice(0, 10);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const crashes: unknown[] = [];
const onCrash = (e: unknown) => { crashes.push(e); };
beforeAll(() => { process.on('unhandledRejection', onCrash); process.on('uncaughtException', onCrash); });
afterAll(() => {
  process.off('unhandledRejection', onCrash);
  process.off('uncaughtException', onCrash);
  expect(crashes).toEqual([]);
});

function event(o: Partial<UsageEvent> & Pick<UsageEvent, 'keyId' | 'userId' | 'modelId'>): UsageEvent {
  return {
    id: randomUUID(), at: new Date().toISOString(), deploymentId: null, status: 200, promptTokens: 1, completionTokens: 2,
    cost: '0.000001', latencyMs: 1, ttftMs: null, stream: false, estimated: false, errorCode: null, ...o,
  };
}

/** A request needing only the given scope's counters (a null limit is never read). */
function only(kind: 'k' | 'u' | 's', keyId: string, userId: string, modelId: string): ReserveInput {
  const b = { max: 1n, period: 'monthly' as const };
  return { keyId, userId, modelId, cost: 0n, tokens: 0, keyBudget: kind === 'k' ? b : null, userBudget: kind === 'u' ? b : null, quotaRequests: kind === 's' ? 1 : null, quotaTokens: null };
}

function user(o: Partial<UserEntry> = {}): UserEntry {
  return { id: `u-${randomUUID()}`, username: 'someone', disabled: false, maxBudget: null, budgetPeriod: 'monthly', rpm: null, tpm: null, ...o };
}
function key(o: Partial<KeyEntry> = {}, u: UserEntry = user()): KeyEntry {
  return { id: `k-${randomUUID()}`, name: 'k', user: u, models: new Set(['m']), maxBudget: null, budgetPeriod: 'monthly', rpm: null, tpm: null, maxParallel: null, expiresAt: null, ...o };
}
/** One completion token at `perToken` pico: a request with bounds {0, 1} reserves exactly `perToken`. */
function model(perToken: bigint, id = 'm'): ModelEntry {
  return { id, kind: 'chat', contextLength: null, inPerToken: 0n, cachedPerToken: 0n, outPerToken: perToken, audioPerMinute: 0n, requestFee: 0n, created: 0, deployments: [] } as unknown as ModelEntry;
}
const SUB: SubscriptionEntry = { status: 'active', quotaRequests: null, quotaTokens: null } as SubscriptionEntry;
const ONE = { prompt: 0, completion: 1, audioMs: 0 };

async function attempt(a: LocalAdmission, r: Parameters<LocalAdmission['admit']>[0]): Promise<Ticket | GatewayError> {
  try { return await a.admit(r); } catch (e) { if (e instanceof GatewayError) return e; throw e; }
}
const ok = (x: Ticket | GatewayError): x is Ticket => !(x instanceof GatewayError);

async function history(db: Kysely<Database>, rows: Array<{ day: string; key: string; user: string; model: string; requests: number; tokens: number; cost: bigint }>): Promise<void> {
  for (const r of rows) {
    await sql`insert into usage_daily (day, key_id, user_id, model_id, requests, prompt_tokens, completion_tokens, cost)
      values (${r.day}::date, ${r.key}, ${r.user}, ${r.model}, ${r.requests}, ${r.tokens}, 0, ${fromPico(r.cost)}::numeric)
      on conflict (day, key_id, model_id) do update set requests = usage_daily.requests + excluded.requests,
        prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens, cost = usage_daily.cost + excluded.cost`.execute(db);
  }
}

const rowArb = fc.record({
  day: fc.integer({ min: -75, max: 40 }), key: fc.integer({ min: 0, max: 3 }), model: fc.integer({ min: 0, max: 1 }),
  requests: fc.integer({ min: 0, max: 5 }), tokens: fc.integer({ min: 0, max: 90 }), cost: fc.bigInt({ min: 0n, max: 10n ** 13n }),
});
const eventArb = fc.record({
  day: fc.integer({ min: -75, max: 40 }), key: fc.integer({ min: 0, max: 3 }), model: fc.integer({ min: 0, max: 1 }),
  ok: fc.boolean(), prompt: fc.integer({ min: 0, max: 50 }), completion: fc.integer({ min: 0, max: 50 }), cost: fc.bigInt({ min: 0n, max: 10n ** 12n }),
  written: fc.boolean(),
});
// Each scope is read on its own day (offset from BASE), and checked on later days.
const caseArb = fc.record({
  rows: fc.array(rowArb, { maxLength: 30 }), events: fc.array(eventArb, { maxLength: 10 }),
  readOn: fc.array(fc.integer({ min: 0, max: 35 }), { minLength: 10, maxLength: 10 }),
  later: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 3 }),
});

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`spend counters read per scope on ${kind}`, () => {
    let store: Store;
    let pgdb: { url: string; drop(): Promise<void> } | null = null;
    let dir: string;
    beforeAll(async () => {
      pgdb = kind === 'postgres' ? await freshDatabase('litemaas_spend') : null;
      dir = mkdtempSync(join(tmpdir(), 'litemaas-spend-'));
      store = await openStore({ databaseUrl: pgdb?.url, dataDir: dir });
    }, 60_000);
    afterAll(async () => {
      await store?.close();
      await pgdb?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('reads each scope by an index lookup', async () => {
      if (kind !== 'postgres') return; // PGlite has no planner statistics worth asserting on
      await sql`insert into usage_daily (day, key_id, user_id, model_id, requests, cost)
        select current_date - (i % 60), 'ik' || (i % 5000), 'iu' || (i % 700), 'im' || (i % 7), 1, 0.001 from generate_series(1, 60000) i
        on conflict do nothing`.execute(store.db);
      await sql`analyze usage_daily`.execute(store.db);
      for (const where of [sql`key_id = 'ik1'`, sql`user_id = 'iu1'`, sql`user_id = 'iu1' and model_id = 'im1' and day >= current_date - 30`]) {
        const plan = (await sql<{ 'QUERY PLAN': string }>`explain select sum(cost) from usage_daily where ${where}`.execute(store.db)).rows.map((r) => r['QUERY PLAN']).join('\n');
        expect(plan).toMatch(/Index (Only )?Scan|Bitmap Index Scan/);
        expect(plan).not.toMatch(/Seq Scan/);
      }
      await sql`delete from usage_daily`.execute(store.db);
    });

    it('answers every scope and period exactly as its rows and events sum, read on different days (generated histories)', async () => {
      let run = 0;
      await fc.assert(fc.asyncProperty(caseArb, async (c) => {
        const p = `r${run++}-${kind}`;
        const keyId = (k: number) => `${p}-k${k}`, userId = (k: number) => `${p}-u${k % 2}`, modelId = (m: number) => `${p}-m${m}`;
        await history(store.db, c.rows.map((r) => ({ day: dayOf(r.day), key: keyId(r.key), user: userId(r.key), model: modelId(r.model), requests: r.requests, tokens: r.tokens, cost: r.cost })));
        const events = c.events.map((e) => event({
          keyId: keyId(e.key), userId: userId(e.key), modelId: modelId(e.model), at: `${dayOf(e.day)}T12:00:00.000Z`,
          status: e.ok ? 200 : 502, promptTokens: e.prompt, completionTokens: e.completion, cost: fromPico(e.cost),
        }));
        // Some already reached the database (rollups and event rows), all still among the ledger's unwritten ones.
        await writeUsage(store.db, events.filter((_, i) => c.events[i]!.written));
        let clock = new Date(BASE);
        const scopes: Array<['k' | 'u' | 's', string, number, number]> = [];
        for (let k = 0; k < 4; k++) scopes.push(['k', `k:${keyId(k)}`, k, 0]);
        for (let u = 0; u < 2; u++) scopes.push(['u', `u:${userId(u)}`, u, 0]);
        for (let u = 0; u < 2; u++) for (let m = 0; m < 2; m++) scopes.push(['s', `s:${userId(u)}|${modelId(m)}`, u, m]);
        // One tracker reads each scope alone; the other as requests do, a key's, its user's and its subscription's together.
        const alone = new SpendTracker({ db: store.db, unwritten: () => events }, { clock: () => clock });
        for (const { s: [k, , n, m], on } of scopes.map((s, i) => ({ s, on: c.readOn[i]! })).sort((a, b) => a.on - b.on)) {
          clock = new Date(BASE + on * DAY);
          const wait = alone.need(only(k, keyId(n), userId(n), modelId(m)));
          expect(wait).not.toBeNull();
          await wait;
        }
        const together = new SpendTracker({ db: store.db, unwritten: () => events }, { clock: () => clock });
        const b = { max: 1n, period: 'monthly' as const };
        const requests = Array.from({ length: 8 }, (_, j) => ({ k: j >> 1, m: j & 1, on: c.readOn[j]! })).sort((x, y) => x.on - y.on);
        for (const r of requests) {
          clock = new Date(BASE + r.on * DAY);
          await together.need({ keyId: keyId(r.k), userId: userId(r.k), modelId: modelId(r.m), cost: 0n, tokens: 0, keyBudget: b, userBudget: b, quotaRequests: 1, quotaTokens: null });
        }
        const last = Math.max(...c.readOn);
        for (const t of [alone, together]) {
          for (const d of c.later) {
            const at = new Date(BASE + (last + d) * DAY);
            for (const [k, id, n, m] of scopes) {
              const mine = (key: number, mod: number) => k === 'k' ? key === n : k === 'u' ? key % 2 === n : key % 2 === n && mod === m;
              for (const period of (k === 's' ? ['monthly'] : ['daily', 'weekly', 'monthly', 'none']) as BudgetPeriod[]) {
                const start = periodStart(period, at);
                const inPeriod = (day: number) => start === null || dayOf(day) >= start;
                let cost = 0n, requests = 0, tokens = 0;
                for (const r of c.rows) if (mine(r.key, r.model) && inPeriod(r.day)) { cost += r.cost; requests += r.requests; tokens += r.tokens; }
                for (const e of c.events) if (mine(e.key, e.model) && inPeriod(e.day)) { cost += e.cost; requests += e.ok ? 1 : 0; tokens += e.prompt + e.completion; }
                const got = t.spent(id, period, at);
                if (period === 'none') { requests = got.requests; tokens = got.tokens; } // all-time limits are on cost only
                expect({ id, period, at: at.toISOString(), cost: got.cost, requests: got.requests, tokens: got.tokens })
                  .toEqual({ id, period, at: at.toISOString(), cost, requests, tokens });
              }
            }
          }
          expect(t.need(only('k', keyId(0), userId(0), modelId(0)))).toBeNull(); // read once, then the fast path
        }
      }), { numRuns: kind === 'postgres' ? 25 : 8, seed: SEED });
    }, 120_000);

    it('shares one read between concurrent first requests; a budget or quota covering N admits exactly N; free scopes are never read', async () => {
      let reads = 0;
      const t = new SpendTracker({ db: store.db, unwritten: () => { reads++; return []; } });
      const a = new LocalAdmission(new RateLimiter(), t);
      const m = model(1_000_003n, 'cm');
      const today = new Date().toISOString().slice(0, 10);
      // Key budget: 7 more requests after what history spent; user budget (daily): 5 more; request quota: 4 more.
      const kb = key({ maxBudget: 3n * 1_000_003n + 7n * 1_000_003n, budgetPeriod: 'daily' });
      const ub = key({}, user({ maxBudget: 2n * 1_000_003n + 5n * 1_000_003n, budgetPeriod: 'daily' }));
      const qk = key();
      const qs = { ...SUB, quotaRequests: 10 } as SubscriptionEntry;
      await history(store.db, [
        { day: today, key: kb.id, user: kb.user.id, model: 'cm', requests: 3, tokens: 3, cost: 3n * 1_000_003n },
        { day: today, key: `${ub.id}-other`, user: ub.user.id, model: 'cm', requests: 2, tokens: 2, cost: 2n * 1_000_003n },
        { day: today, key: `${qk.id}-other`, user: qk.user.id, model: 'cm', requests: 6, tokens: 6, cost: 6n },
      ]);
      // All three at once: one read for the three scopes; the quota (3) binds first.
      const all = key({ maxBudget: 5n * 1_000_003n }, user({ maxBudget: 100n * 1_000_003n, budgetPeriod: 'none' }));
      const allSub = { ...SUB, quotaRequests: 3 } as SubscriptionEntry;
      const free = key();
      expect(a.admit({ key: free, model: m, sub: SUB, bounds: ONE, free: false, at: new Date() })).not.toBeInstanceOf(Promise);
      expect(reads).toBe(0);
      for (const [k, sub, n, code] of [[kb, SUB, 7, 'budget_exceeded'], [ub, SUB, 5, 'budget_exceeded'], [qk, qs, 4, 'quota_exceeded'], [all, allSub, 3, 'quota_exceeded']] as const) {
        const before = reads;
        const out = await Promise.all(Array.from({ length: 30 }, () => attempt(a, { key: k, model: m, sub, bounds: ONE, free: false, at: new Date() })));
        expect(reads - before).toBe(1);
        expect(out.filter(ok)).toHaveLength(n);
        expect(new Set(out.filter((x): x is GatewayError => !ok(x)).map((e) => e.code))).toEqual(new Set([code]));
        // Read: the next admission answers synchronously (here a refusal, thrown).
        let sync: unknown;
        try { sync = a.admit({ key: k, model: m, sub, bounds: ONE, free: false, at: new Date() }); } catch (e) { sync = e; }
        expect(sync).toBeInstanceOf(GatewayError);
        // Settled at nothing, the reservations come back: exactly n again.
        for (const x of out) if (ok(x)) x.settle(null, 0n, 0);
        const again = await Promise.all(Array.from({ length: 30 }, () => attempt(a, { key: k, model: m, sub, bounds: ONE, free: false, at: new Date() })));
        expect(again.filter(ok)).toHaveLength(n);
        expect(reads - before).toBe(1);
      }
    });

    it('drops an idle scope with nothing reserved, never one with a reservation in flight, and reads it again when needed', async () => {
      let reads = 0;
      const journal: UsageEvent[] = [];
      const t = new SpendTracker({ db: store.db, unwritten: () => { reads++; return journal; } }, { idleMs: 1_000 });
      const a = new LocalAdmission(new RateLimiter(), t);
      const m = model(10n, 'em');
      const k = key({ maxBudget: 30n, budgetPeriod: 'monthly' });
      const req = () => ({ key: k, model: m, sub: SUB, bounds: ONE, free: false, at: new Date() });
      const first = await a.admit(req());
      expect(reads).toBe(1);
      expect(t.evictIdle(Date.now() + 5_000)).toBe(0); // its reservation is in flight
      const e = event({ keyId: k.id, userId: k.user.id, modelId: 'em', cost: fromPico(10n) });
      journal.push(e); // the ledger has it before the ticket settles
      first.settle(e, 10n, 1);
      expect(t.evictIdle(Date.now() + 500)).toBe(0); // not idle long enough
      expect(t.evictIdle(Date.now() + 5_000)).toBe(1);
      expect(t.size).toBe(0);
      const again = await Promise.all(Array.from({ length: 5 }, () => attempt(a, req())));
      expect(reads).toBe(2);
      expect(again.filter(ok)).toHaveLength(2); // 10 of 30 spent
    });

    it('counts an event recorded while its scope is being read once, whether or not the read finds it in the database', async () => {
      // The read waits for the only connection while the test holds it: events are counted and written before its snapshot.
      const gate = kind === 'postgres' ? new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: pgdb!.url, max: 1 }) }) }) : store.db;
      try {
        const k = key({ maxBudget: 10n ** 15n });
        const ids = { keyId: k.id, userId: k.user.id, modelId: 'gm' };
        const today = new Date().toISOString().slice(0, 10);
        await history(store.db, [{ day: today, key: k.id, user: k.user.id, model: 'gm', requests: 4, tokens: 40, cost: 1000n }]);
        const unwritten: UsageEvent[] = [];
        const t = new SpendTracker({ db: gate, unwritten: () => unwritten });
        const queued = event({ ...ids, cost: fromPico(1n) }); // in the journal before the read began
        unwritten.push(queued);
        t.add(queued);
        const written = event({ ...ids, cost: fromPico(20n) });
        const notYet = event({ ...ids, cost: fromPico(300n), status: 429, promptTokens: 0, completionTokens: 0 });
        let reading: Promise<void> | null = null;
        await gate.transaction().execute(async (trx) => {
          await sql`select 1`.execute(trx);
          reading = t.need(only('k', k.id, k.user.id, 'gm'));
          expect(reading).not.toBeNull();
          t.add(written); unwritten.push(written); // counted, then written: the read's snapshot has it
          await writeUsage(trx, [queued, written]);
          t.add(notYet); unwritten.push(notYet); // counted, never written
        });
        const after = event({ ...ids, cost: fromPico(4000n) });
        t.add(after); // during the read or after it: either way once
        await reading;
        const last = event({ ...ids, cost: fromPico(50000n) });
        t.add(last);
        expect(t.spent(`k:${k.id}`, 'daily')).toEqual({ cost: 1000n + 1n + 20n + 300n + 4000n + 50000n, requests: 4 + 4, tokens: 40 + 4 * 3 });
      } finally {
        if (gate !== store.db) await gate.destroy();
      }
    });
  });
}

describe('the database cut while a scope must be read', () => {
  let pgdb: { url: string; drop(): Promise<void> };
  let proxy: ChaosProxy;
  let store: Store;
  beforeAll(async () => {
    pgdb = await freshDatabase('litemaas_spend_cut');
    const s = await openStore({ databaseUrl: pgdb.url, dataDir: tmpdir() });
    await s.close();
    proxy = new ChaosProxy(5432);
    await proxy.listen();
    const u = new URL(pgdb.url);
    u.port = String(proxy.port);
    store = await openStore({ databaseUrl: u.toString(), dataDir: tmpdir(), migrate: false });
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await proxy?.close();
    await pgdb?.drop();
  });

  it('answers 503 budgets_unavailable, fails fast meanwhile, and reads again once the database is back', async () => {
    const t = new SpendTracker({ db: store.db, unwritten: () => [] }, { retryMs: 300, readTimeoutMs: 400 });
    const a = new LocalAdmission(new RateLimiter(), t);
    const m = model(10n);
    const k = key({ maxBudget: 100n, budgetPeriod: 'none' });
    await history(store.db, [{ day: '2020-01-01', key: k.id, user: k.user.id, model: 'm', requests: 7, tokens: 7, cost: 70n }]);
    const req = () => ({ key: k, model: m, sub: SUB, bounds: ONE, free: false, at: new Date() });

    proxy.mode = 'refuse';
    proxy.cut();
    const refused = await attempt(a, req());
    expect(refused).toBeInstanceOf(GatewayError);
    expect((refused as GatewayError).code).toBe('budgets_unavailable');
    expect((refused as GatewayError).status).toBe(503);
    expect((refused as GatewayError).retryAfter).toBeGreaterThan(0);
    const accepted = proxy.accepted;
    const t0 = Date.now();
    expect(((await attempt(a, req())) as GatewayError).code).toBe('budgets_unavailable');
    expect(Date.now() - t0).toBeLessThan(100); // no new connection attempt right after a failed read
    expect(proxy.accepted).toBe(accepted);

    // Frozen (a half-open network): the request gives up after readTimeoutMs; the read itself goes on.
    await sleep(350);
    proxy.mode = 'freeze';
    const t1 = Date.now();
    expect(((await attempt(a, req())) as GatewayError).code).toBe('budgets_unavailable');
    expect(Date.now() - t1).toBeLessThan(3_000);
    proxy.cut(); // the frozen read fails
    proxy.mode = 'up';
    await sleep(350);

    const back = await Promise.all(Array.from({ length: 10 }, () => attempt(a, req())));
    expect(back.filter(ok)).toHaveLength(3); // 70 of 100 spent before the cut
  }, 30_000);
});

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`startServer on ${kind}: no spend load at start, history counted at each scope's first request`, () => {
    it('refuses a key, a user and a subscription whose history in usage_daily already reached their limits', async () => {
      const sys = await startSystem(kind);
      try {
        const call = (key: string) => fetch(`${sys.url}/v1/chat/completions`, {
          method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }),
        }).then(async (r) => ({ status: r.status, code: r.status === 200 ? null : (await r.json() as { error: { code: string } }).error.code }));
        const fresh = await provision(sys, { key: { maxBudget: 1, budgetPeriod: 'monthly' } });
        const keyDone = await provision(sys, { key: { maxBudget: 1, budgetPeriod: 'monthly' } });
        const userDone = await provision(sys);
        const subDone = await provision(sys);
        const db = sys.server.store.db;
        const today = new Date().toISOString().slice(0, 10);
        await sql`update users set max_budget = 2, budget_period = 'weekly' where id = ${userDone.userId}`.execute(db);
        await sql`update subscriptions set quota_requests = 3 where user_id = ${subDone.userId}`.execute(db);
        await history(db, [
          { day: today, key: keyDone.keyId, user: keyDone.userId, model: MODEL, requests: 1, tokens: 1, cost: 10n ** 12n },
          { day: today, key: `${userDone.keyId}-old`, user: userDone.userId, model: MODEL, requests: 1, tokens: 1, cost: 2n * 10n ** 12n },
          { day: today, key: `${subDone.keyId}-old`, user: subDone.userId, model: MODEL, requests: 3, tokens: 3, cost: 1n },
        ]);
        await sys.server.gateway.reload();
        expect(await call(fresh.key)).toEqual({ status: 200, code: null });
        expect(await call(keyDone.key)).toEqual({ status: 429, code: 'budget_exceeded' });
        expect(await call(userDone.key)).toEqual({ status: 429, code: 'budget_exceeded' });
        expect(await call(subDone.key)).toEqual({ status: 429, code: 'quota_exceeded' });
      } finally {
        await sys.close();
      }
    }, 60_000);
  });
}
