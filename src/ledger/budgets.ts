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
import { readAll, readScopes, windowOf, type Kind, type ScopeRef } from './spend-reads.js';
import { eventOfKey } from './key-slices.js';

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
  /** How refusals name the owner's budget: a person's ('user') or a team's. */
  ownerLabel?: 'user' | 'team';
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

/** When the period `now` is in ends (the next one starts); null when it never resets. */
export function periodEnd(period: BudgetPeriod, now: Date): Date | null {
  const start = periodStart(period, now);
  if (!start) return null;
  const next = new Date(start + 'T00:00:00Z');
  if (period === 'daily') next.setUTCDate(next.getUTCDate() + 1);
  if (period === 'weekly') next.setUTCDate(next.getUTCDate() + 7);
  if (period === 'monthly') next.setUTCMonth(next.getUTCMonth() + 1);
  return next;
}

/** Seconds until the period starts again; null when it never resets. */
export function secondsToReset(period: BudgetPeriod, now: Date): number | null {
  const next = periodEnd(period, now);
  return next && Math.max(1, Math.ceil((next.getTime() - now.getTime()) / 1000));
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
   * The request's scopes not yet read nor being read are read together, in one statement.
   */
  need(i: ReserveInput, now = Date.now()): Promise<void> | null {
    if (this.loaded) return null;
    let waits: Array<Promise<void>> | null = null;
    let cold: Array<ScopeRef & { id: string }> | null = null;
    const check = (id: string, kind: Kind) => {
      const s = this.scopes.get(id);
      if (s) { s.usedAt = now; return; }
      const l = this.loading.get(id);
      if (l) (waits ??= []).push(l.done);
      else (cold ??= []).push({ id, kind, keyId: i.keyId, userId: i.userId, modelId: i.modelId });
    };
    if (i.keyBudget) check(`k:${i.keyId}`, 'k');
    if (i.userBudget) check(`u:${i.userId}`, 'u');
    if (quota(i)) check(`s:${i.userId}|${i.modelId}`, 's');
    if (cold) {
      const w: Array<Promise<void>> = (waits ??= []);
      if (!this.source) w.push(Promise.reject(new SpendUnavailableError('spend counters have no database to be read from')));
      else if (now < this.retryAt) w.push(Promise.reject(new SpendUnavailableError('the last read of spend counters failed; retrying shortly')));
      else w.push(this.read(this.source, cold));
    }
    if (!waits) return null;
    const all: Array<Promise<void>> = waits;
    return all.length === 1 ? all[0]! : Promise.all(all).then(() => {});
  }

  /**
   * Reads scopes in one snapshot: their usage_daily rows summed per segment (and before the
   * window), plus the ledger's unwritten events and those counted while the read runs that the
   * snapshot does not have. Such an event is counted (add()) before the ledger can write it, so
   * every one the snapshot might hold is among those checked by id after its first statement.
   */
  private read(src: SpendSource, refs: Array<ScopeRef & { id: string }>): Promise<void> {
    const unwritten = refs.map((): UsageEvent[] => []);
    for (const e of src.unwritten()) refs.forEach((r, j) => { if (concerns(r, e)) unwritten[j]!.push(e); });
    const during = refs.map((): Loading['during'] => []);
    const now = this.clock();
    const w = windowOf(now);
    const ids = () => [...unwritten.flat().map((e) => e.id), ...during.flat().map(([e]) => e.id)];
    const work = readScopes(src.db, refs, w, now, ids).then(({ rows, written }) => {
      // One synchronous step: from here on add() counts into the scopes themselves.
      refs.forEach((r, j) => {
        this.loading.delete(r.id);
        const s = newScope(w, Date.now());
        for (const row of rows[j]!) {
          if (row.seg === null) s.before.cost += toPico(row.cost);
          else addTo(s.days, row.seg, { cost: toPico(row.cost), requests: Number(row.requests), tokens: Number(row.tokens) });
        }
        const seen = new Set<string>();
        for (const e of unwritten[j]!) if (!written.has(e.id) && !seen.has(e.id)) { seen.add(e.id); count(s, r.kind, e); }
        for (const [e, cost] of during[j]!) if (!written.has(e.id) && !seen.has(e.id)) { seen.add(e.id); count(s, r.kind, e, cost); }
        this.scopes.set(r.id, s);
      });
      this.maybeSweep();
    }, (err: unknown) => {
      for (const r of refs) this.loading.delete(r.id);
      this.retryAt = Date.now() + this.retryMs;
      throw new SpendUnavailableError(`spend counters could not be read: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    });
    const done = withTimeout(work, this.readTimeoutMs);
    refs.forEach((r, j) => this.loading.set(r.id, { during: during[j]!, done }));
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
    const refusal = overBudget('key', key, i.keyBudget, i.cost, now) ?? overBudget(i.ownerLabel ?? 'user', user, i.userBudget, i.cost, now);
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

/** Whether `e` counts in the scope `r`. */
function concerns(r: ScopeRef, e: UsageEvent): boolean {
  return r.kind === 'k' ? eventOfKey(r.keyId, e) : r.kind === 'u' ? e.userId === r.userId : e.userId === r.userId && e.modelId === r.modelId;
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

function overBudget(who: 'key' | 'user' | 'team', s: Scope | null, budget: Budget | null, cost: bigint, now: Date): ReserveResult | null {
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
