/**
 * @module Spend and quota counters with reservations. Each scope (a key, a
 * user, a user's subscription to a model) keeps per-UTC-day buckets (read
 * as one bucket per segment of days that no period boundary splits), so any
 * period (daily, weekly from Monday, monthly, all time) is an exact sum.
 * A request reserves its maximum cost before it is forwarded and settles to
 * the actual cost when usage is known: concurrent requests cannot overspend.
 * Check-and-reserve is synchronous JS, so it is atomic in-process.
 *
 * A scope's counters are read from the database the first time a request
 * needs them (`need`), one indexed query per scope, shared by concurrent
 * first requests; scopes without a budget or quota are never read, and a
 * loaded scope left idle is dropped and read again when needed. `load()`
 * reads every scope at once instead (tests, benchmarks).
 */
import type { Kysely } from 'kysely';
import type { BudgetPeriod, Database } from '../store/schema.js';
import { toPico } from '../shared/money.js';
import { isSuccess, utcDay, type UsageEvent } from './event.js';
import { readAll, readScope, windowOf, type Kind } from './spend-reads.js';

interface Bucket { cost: bigint; requests: number; tokens: number }
interface Scope {
  before: Bucket; days: Map<string, Bucket>; resCost: bigint; resRequests: number; resTokens: number;
  /** Days before it count only towards all-time totals (`before`). */
  windowStart: string;
  /** When a request last needed it (ms), for eviction. */
  usedAt: number;
}

export interface Budget { max: bigint; period: BudgetPeriod }
export interface ReserveInput {
  keyId: string; userId: string; modelId: string;
  cost: bigint; tokens: number;
  /** A null limit is not checked, and its scope is neither read nor reserved in. */
  keyBudget: Budget | null; userBudget: Budget | null;
  quotaRequests: number | null; quotaTokens: number | null;
}
export interface Reservation { scopes: Scope[]; cost: bigint; sub: Scope | null; tokens: number }
export type ReserveResult =
  | { ok: true; reservation: Reservation }
  | { ok: false; code: 'budget_exceeded' | 'quota_exceeded'; message: string; retryAfter: number | null };

/** Where lazily read counters come from. */
export interface SpendSource {
  db: Kysely<Database>;
  /** The ledger's events not yet confirmed written (those the database does not have are added). */
  unwritten: () => readonly UsageEvent[];
}
export interface SpendOptions {
  /** A loaded scope with nothing reserved that no request needed for this long is dropped (default 10 min). */
  idleMs?: number;
  /** After a failed read, cold scopes are refused at once for this long (default 1 s). */
  retryMs?: number;
  /** A request waits at most this long for a scope's read (default 5 s); the read itself goes on. */
  readTimeoutMs?: number;
  /** The date a read takes its window and segments from (tests move it). */
  clock?: () => Date;
}

/** A scope's counters could not be read (database unreachable, or no source). */
export class SpendUnavailableError extends Error {}

const empty = (): Bucket => ({ cost: 0n, requests: 0, tokens: 0 });
const quota = (i: ReserveInput) => i.quotaRequests !== null || i.quotaTokens !== null;

export function periodStart(period: BudgetPeriod, now: Date): string | null {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  if (period === 'none') return null;
  if (period === 'weekly') d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  if (period === 'monthly') d.setUTCDate(1);
  return d.toISOString().slice(0, 10);
}

/** Seconds until the period starts again; null when it never resets. */
export function secondsToReset(period: BudgetPeriod, now: Date): number | null {
  const start = periodStart(period, now);
  if (!start) return null;
  const next = new Date(start + 'T00:00:00Z');
  if (period === 'daily') next.setUTCDate(next.getUTCDate() + 1);
  if (period === 'weekly') next.setUTCDate(next.getUTCDate() + 7);
  if (period === 'monthly') next.setUTCMonth(next.getUTCMonth() + 1);
  return Math.max(1, Math.ceil((next.getTime() - now.getTime()) / 1000));
}

interface Loading { during: Array<[UsageEvent, bigint | undefined]>; done: Promise<void> }

export class SpendTracker {
  private readonly scopes = new Map<string, Scope>();
  private readonly loading = new Map<string, Loading>();
  private windowStart = '';
  private readonly idleMs: number;
  private readonly retryMs: number;
  private readonly readTimeoutMs: number;
  private readonly clock: () => Date;
  private retryAt = 0;
  private lastSweep = Date.now();

  constructor(private readonly source: SpendSource | null = null, o: SpendOptions = {}) {
    this.idleMs = o.idleMs ?? 600_000;
    this.retryMs = o.retryMs ?? 1_000;
    this.readTimeoutMs = o.readTimeoutMs ?? 5_000;
    this.clock = o.clock ?? (() => new Date());
  }

  private scope(id: string): Scope {
    let s = this.scopes.get(id);
    if (!s) {
      // Read lazily, a scope is only ever created by its read: one made here would know no history.
      if (this.source && !this.loaded) throw new Error(`spend scope ${id} used before need() read it`);
      this.scopes.set(id, (s = newScope(this.windowStart, 0)));
    }
    return s;
  }

  /** True once load() has read every scope: no scope then needs a read of its own. */
  loaded = false;
  /** Events counted while a load() is running, re-applied on top of what it read. */
  private duringLoad: Array<[UsageEvent, bigint | undefined]> | null = null;

  /** Scopes held in memory (read, or created by load()). */
  get size(): number { return this.scopes.size; }

  /**
   * Null when every scope `i` has a limit on can be checked now (the fast path); else a promise
   * that resolves once they are read, or rejects with SpendUnavailableError (a later call reads again).
   */
  need(i: ReserveInput, now = Date.now()): Promise<void> | null {
    if (this.loaded) return null;
    let a: Promise<void> | null = null, b: Promise<void> | null = null, c: Promise<void> | null = null;
    if (i.keyBudget) a = this.ready(`k:${i.keyId}`, 'k', i, now);
    if (i.userBudget) b = this.ready(`u:${i.userId}`, 'u', i, now);
    if (quota(i)) c = this.ready(`s:${i.userId}|${i.modelId}`, 's', i, now);
    if (!a && !b && !c) return null;
    const waits = [a, b, c].filter((p): p is Promise<void> => p !== null);
    return waits.length === 1 ? waits[0]! : Promise.all(waits).then(() => {});
  }

  private ready(id: string, kind: Kind, i: ReserveInput, now: number): Promise<void> | null {
    const s = this.scopes.get(id);
    if (s) { s.usedAt = now; return null; }
    const l = this.loading.get(id);
    if (l) return l.done;
    if (!this.source) return Promise.reject(new SpendUnavailableError('spend counters have no database to be read from'));
    if (now < this.retryAt) return Promise.reject(new SpendUnavailableError('the last read of spend counters failed; retrying shortly'));
    return this.read(this.source, id, kind, i.keyId, i.userId, i.modelId);
  }

  /**
   * Reads one scope in one snapshot: its usage_daily rows summed per segment (and before the
   * window), plus the ledger's unwritten events and those counted while the read runs that the
   * snapshot does not have. Such an event is counted (add()) before the ledger can write it, so
   * every one the snapshot might hold is among those checked by id after its first statement.
   */
  private read(src: SpendSource, id: string, kind: Kind, keyId: string, userId: string, modelId: string): Promise<void> {
    const mine = (e: UsageEvent) => kind === 'k' ? e.keyId === keyId : kind === 'u' ? e.userId === userId : e.userId === userId && e.modelId === modelId;
    const unwritten = src.unwritten().filter(mine);
    const during: Loading['during'] = [];
    const now = this.clock();
    const w = windowOf(now);
    const work = readScope(src.db, { kind, keyId, userId, modelId }, w, now, () => [...unwritten, ...during.map(([e]) => e)].map((e) => e.id))
      .then(({ rows, written }) => {
      // One synchronous step: from here on add() counts into the scope itself.
      this.loading.delete(id);
      const s = newScope(w, Date.now());
      for (const r of rows) {
        if (r.seg === null) s.before.cost += toPico(r.cost);
        else addTo(s.days, r.seg, { cost: toPico(r.cost), requests: Number(r.requests), tokens: Number(r.tokens) });
      }
      const seen = new Set<string>();
      for (const e of unwritten) if (!written.has(e.id) && !seen.has(e.id)) { seen.add(e.id); count(s, kind, e); }
      for (const [e, cost] of during) if (!written.has(e.id) && !seen.has(e.id)) { seen.add(e.id); count(s, kind, e, cost); }
      this.scopes.set(id, s);
      this.maybeSweep();
    }, (err: unknown) => {
      this.loading.delete(id);
      this.retryAt = Date.now() + this.retryMs;
      throw new SpendUnavailableError(`spend counters could not be read: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    });
    const done = withTimeout(work, this.readTimeoutMs);
    this.loading.set(id, { during, done });
    return done;
  }

  /** Drops idle scopes with nothing reserved (at most every idleMs/4, off the request's path). */
  private maybeSweep(): void {
    const now = Date.now();
    if (now - this.lastSweep < this.idleMs / 4) return;
    this.lastSweep = now;
    setImmediate(() => this.evictIdle(Date.now()));
  }

  /** Drops every loaded scope idle for idleMs with no reservation in it; returns how many. */
  evictIdle(now = Date.now()): number {
    if (!this.source || this.loaded) return 0;
    let n = 0;
    for (const [id, s] of this.scopes) {
      if (now - s.usedAt >= this.idleMs && s.resCost === 0n && s.resRequests === 0 && s.resTokens === 0) { this.scopes.delete(id); n++; }
    }
    return n;
  }

  /**
   * Reads every scope from usage_daily while requests go on. `unwritten` are the events the ledger
   * had not yet confirmed written when the load began; the ones the read finds in usage_events
   * are already in the rollups, the others are added. Reads run in one snapshot, and the
   * counters are replaced in one synchronous step that keeps in-flight reservations.
   */
  async load(db: Kysely<Database>, now = new Date(), unwritten: readonly UsageEvent[] = []): Promise<void> {
    const w = windowOf(now);
    const during: Array<[UsageEvent, bigint | undefined]> = [];
    this.duringLoad = during;
    let read;
    try {
      read = await readAll(db, w, now, unwritten.map((e) => e.id));
    } finally {
      this.duringLoad = null;
    }
    for (const s of this.scopes.values()) { s.before = empty(); s.days = new Map(); s.windowStart = w; }
    this.windowStart = w;
    this.loaded = true;
    for (const r of read.recent) {
      const id = r.g === 3 ? `k:${r.key_id}` : r.g === 5 ? `u:${r.user_id}` : `s:${r.user_id}|${r.model_id}`;
      addTo(this.scope(id).days, r.seg, { cost: toPico(r.cost), requests: Number(r.requests), tokens: Number(r.tokens) });
    }
    for (const r of read.older) this.scope(r.id).before.cost += toPico(r.cost);
    for (const e of unwritten) if (!read.written.has(e.id)) this.add(e);
    for (const [e, cost] of during) this.add(e, cost);
  }

  /**
   * Counts a finished request (called for every recorded event, right after the ledger has it);
   * `costPico` saves re-parsing `e.cost`. A scope neither read nor being read is skipped: its
   * read will find the event in the database or among the ledger's unwritten ones.
   */
  add(e: UsageEvent, costPico?: bigint): void {
    this.duringLoad?.push([e, costPico]);
    this.addTo('k', `k:${e.keyId}`, e, costPico);
    this.addTo('u', `u:${e.userId}`, e, costPico);
    this.addTo('s', `s:${e.userId}|${e.modelId}`, e, costPico);
  }

  private addTo(kind: Kind, id: string, e: UsageEvent, cost: bigint | undefined): void {
    let s = this.scopes.get(id);
    if (!s) {
      const l = this.loading.size > 0 ? this.loading.get(id) : undefined;
      if (l) { l.during.push([e, cost]); return; }
      if (!this.loaded) return;
      s = this.scope(id);
    }
    count(s, kind, e, cost);
  }

  spent(scopeId: string, period: BudgetPeriod, now = new Date()): Bucket {
    const s = this.scopes.get(scopeId);
    return s ? sum(s, period, now) : empty();
  }

  /** Checks and reserves in one synchronous step; the scopes with a limit must be ready (need() answered null). */
  reserve(i: ReserveInput, now = new Date()): ReserveResult {
    const key = i.keyBudget ? this.scope(`k:${i.keyId}`) : null;
    const user = i.userBudget ? this.scope(`u:${i.userId}`) : null;
    const sub = quota(i) ? this.scope(`s:${i.userId}|${i.modelId}`) : null;
    const refusal = overBudget('key', key, i.keyBudget, i.cost, now) ?? overBudget('user', user, i.userBudget, i.cost, now);
    if (refusal) return refusal;
    if (sub) {
      const used = sum(sub, 'monthly', now);
      const retryAfter = secondsToReset('monthly', now);
      if (i.quotaRequests !== null && used.requests + sub.resRequests + 1 > i.quotaRequests) {
        return { ok: false, code: 'quota_exceeded', retryAfter, message: `The subscription's monthly request quota (${i.quotaRequests}) for model ${i.modelId} is used up.` };
      }
      if (i.quotaTokens !== null && (used.tokens >= i.quotaTokens || used.tokens + sub.resTokens + i.tokens > i.quotaTokens)) {
        return { ok: false, code: 'quota_exceeded', retryAfter, message: `The subscription's monthly token quota (${i.quotaTokens}) for model ${i.modelId} is used up or too small for this request's max_tokens.` };
      }
      sub.resRequests += 1; sub.resTokens += i.tokens;
    }
    const scopes: Scope[] = [];
    if (key) { key.resCost += i.cost; scopes.push(key); }
    if (user) { user.resCost += i.cost; scopes.push(user); }
    return { ok: true, reservation: { scopes, cost: i.cost, sub, tokens: i.tokens } };
  }

  /** Releases a reservation; the actual usage arrives through add(). */
  release(r: Reservation): void {
    for (const s of r.scopes) s.resCost -= r.cost;
    if (r.sub) { r.sub.resRequests -= 1; r.sub.resTokens -= r.tokens; }
  }
}

function newScope(windowStart: string, usedAt: number): Scope {
  return { before: empty(), days: new Map(), resCost: 0n, resRequests: 0, resTokens: 0, windowStart, usedAt };
}

/** Counts an event in one scope: a day before the scope's window only counts towards all-time cost. */
function count(s: Scope, kind: Kind, e: UsageEvent, costPico?: bigint): void {
  const day = utcDay(e.at);
  const cost = costPico ?? toPico(e.cost);
  if (day < s.windowStart) {
    if (kind !== 's') s.before.cost += cost; // an old event still waiting in the journal
    return;
  }
  addTo(s.days, day, { cost, requests: isSuccess(e) ? 1 : 0, tokens: e.promptTokens + e.completionTokens });
}

function sum(s: Scope, period: BudgetPeriod, now: Date): Bucket {
  const start = periodStart(period, now);
  const total = start ? empty() : { ...s.before };
  for (const [day, b] of s.days) {
    if (start && day < start) continue;
    total.cost += b.cost; total.requests += b.requests; total.tokens += b.tokens;
  }
  return total;
}

function overBudget(who: 'key' | 'user', s: Scope | null, budget: Budget | null, cost: bigint, now: Date): ReserveResult | null {
  if (!s || !budget) return null;
  const spent = sum(s, budget.period, now).cost;
  if (spent < budget.max && spent + s.resCost + cost <= budget.max) return null;
  return { ok: false, code: 'budget_exceeded', retryAfter: secondsToReset(budget.period, now),
    message: `The ${who} budget (${budget.period === 'none' ? 'total' : budget.period}) is exhausted or too small for this request's maximum cost; lower max_tokens or raise the budget.` };
}

/** The read's promise for a waiting request: rejected after `ms` even if the read goes on. */
function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new SpendUnavailableError(`spend counters not read within ${ms} ms`)), ms);
    t.unref();
    p.then(() => { clearTimeout(t); resolve(); }, (err: unknown) => { clearTimeout(t); reject(err); });
  });
}

function addTo(days: Map<string, Bucket>, day: string, b: Bucket): void {
  const cur = days.get(day);
  if (cur) { cur.cost += b.cost; cur.requests += b.requests; cur.tokens += b.tokens; } else days.set(day, { ...b });
}
