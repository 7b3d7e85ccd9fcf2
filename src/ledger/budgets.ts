/**
 * @module Spend and quota counters with reservations. Each scope (a key, a
 * user, a user's subscription to a model) keeps per-UTC-day buckets (loaded
 * as one bucket per segment of days that no period boundary splits), so any
 * period (daily, weekly from Monday, monthly, all time) is an exact sum.
 * A request reserves its maximum cost before it is forwarded and settles to
 * the actual cost when usage is known: concurrent requests cannot overspend.
 * All of it is synchronous JS, so check-and-reserve is atomic in-process.
 */
import { sql, type Kysely } from 'kysely';
import type { BudgetPeriod, Database } from '../store/schema.js';
import { toPico } from '../shared/money.js';
import { isSuccess, utcDay, type UsageEvent } from './event.js';

interface Bucket { cost: bigint; requests: number; tokens: number }
interface Scope { before: Bucket; days: Map<string, Bucket>; resCost: bigint; resRequests: number; resTokens: number }

export interface Budget { max: bigint; period: BudgetPeriod }
export interface ReserveInput {
  keyId: string; userId: string; modelId: string;
  cost: bigint; tokens: number;
  keyBudget: Budget | null; userBudget: Budget | null;
  quotaRequests: number | null; quotaTokens: number | null;
}
export interface Reservation { scopes: Scope[]; cost: bigint; sub: Scope; tokens: number }
export type ReserveResult =
  | { ok: true; reservation: Reservation }
  | { ok: false; code: 'budget_exceeded' | 'quota_exceeded'; message: string; retryAfter: number | null };

const empty = (): Bucket => ({ cost: 0n, requests: 0, tokens: 0 });

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

export class SpendTracker {
  private readonly scopes = new Map<string, Scope>();
  private windowStart = '';

  private scope(id: string): Scope {
    let s = this.scopes.get(id);
    if (!s) this.scopes.set(id, (s = { before: empty(), days: new Map(), resCost: 0n, resRequests: 0, resTokens: 0 }));
    return s;
  }

  /**
   * False until load() has succeeded: the counters then know nothing of what was spent before
   * this process started, so no budget or quota can be checked against them.
   */
  loaded = false;
  /** Events counted while a load() is running, re-applied on top of what it read. */
  private duringLoad: Array<[UsageEvent, bigint | undefined]> | null = null;

  /**
   * Loads counters from usage_daily while requests go on. `unwritten` are the events the ledger
   * had not yet confirmed written when the load began; the ones the read finds in usage_events
   * are already in the rollups, the others are added. Reads run in one snapshot, and the
   * counters are replaced in one synchronous step that keeps in-flight reservations.
   */
  async load(db: Kysely<Database>, now = new Date(), unwritten: readonly UsageEvent[] = []): Promise<void> {
    const w = [periodStart('weekly', now)!, periodStart('monthly', now)!].sort()[0]!;
    const during: Array<[UsageEvent, bigint | undefined]> = [];
    this.duringLoad = during;
    let read;
    try {
      read = await db.transaction().setIsolationLevel('repeatable read').execute(async (trx) => {
        // Summed in the database per scope and segment, not read row by row (a million rows a day is a million keys' worth).
        const recent = await sql<{ g: number; seg: string; key_id: string; user_id: string; model_id: string; requests: number; tokens: number; cost: string }>`
          select grouping(key_id, user_id, model_id) as g, seg, key_id, user_id, model_id,
                 sum(requests)::int8 as requests, sum(prompt_tokens + completion_tokens)::int8 as tokens, sum(cost)::text as cost
          from (select ${segment(w, now)} as seg, key_id, user_id, model_id, requests, prompt_tokens, completion_tokens, cost
                from usage_daily where day >= ${w}::date) r
          group by grouping sets ((seg, key_id), (seg, user_id), (seg, user_id, model_id))`.execute(trx);
        const older = await sql<{ id: string; cost: string }>`
          select 'k:' || key_id as id, sum(cost)::text as cost from usage_daily where day < ${w} group by key_id
          union all
          select 'u:' || user_id as id, sum(cost)::text as cost from usage_daily where day < ${w} group by user_id`.execute(trx);
        const written = new Set<string>();
        for (let i = 0; i < unwritten.length; i += 10_000) { // a long outage leaves a long backlog
          const ids = unwritten.slice(i, i + 10_000).map((e) => e.id);
          for (const r of (await sql<{ id: string }>`select id from usage_events where id = any(${ids}::text[])`.execute(trx)).rows) written.add(r.id);
        }
        return { recent: recent.rows, older: older.rows, written };
      });
    } finally {
      this.duringLoad = null;
    }
    for (const s of this.scopes.values()) { s.before = empty(); s.days = new Map(); }
    this.windowStart = w;
    for (const r of read.recent) {
      const id = r.g === 3 ? `k:${r.key_id}` : r.g === 5 ? `u:${r.user_id}` : `s:${r.user_id}|${r.model_id}`;
      addTo(this.scope(id).days, r.seg, { cost: toPico(r.cost), requests: Number(r.requests), tokens: Number(r.tokens) });
    }
    for (const r of read.older) this.scope(r.id).before.cost += toPico(r.cost);
    for (const e of unwritten) if (!read.written.has(e.id)) this.add(e);
    for (const [e, cost] of during) this.add(e, cost);
    this.loaded = true;
  }

  /** Counts a finished request (called for every recorded event); `costPico` saves re-parsing `e.cost`. */
  add(e: UsageEvent, costPico?: bigint): void {
    this.duringLoad?.push([e, costPico]);
    const day = utcDay(e.at);
    const b = { cost: costPico ?? toPico(e.cost), requests: isSuccess(e) ? 1 : 0, tokens: e.promptTokens + e.completionTokens };
    if (day < this.windowStart) { // an old event still waiting in the journal: it only counts towards all-time totals
      this.scope(`k:${e.keyId}`).before.cost += b.cost;
      this.scope(`u:${e.userId}`).before.cost += b.cost;
      return;
    }
    for (const id of [`k:${e.keyId}`, `u:${e.userId}`, `s:${e.userId}|${e.modelId}`]) addTo(this.scope(id).days, day, b);
  }

  spent(scopeId: string, period: BudgetPeriod, now = new Date()): Bucket {
    const s = this.scopes.get(scopeId);
    if (!s) return empty();
    const start = periodStart(period, now);
    const total = start ? empty() : { ...s.before };
    for (const [day, b] of s.days) {
      if (start && day < start) continue;
      total.cost += b.cost; total.requests += b.requests; total.tokens += b.tokens;
    }
    return total;
  }

  reserve(i: ReserveInput, now = new Date()): ReserveResult {
    const key = this.scope(`k:${i.keyId}`);
    const user = this.scope(`u:${i.userId}`);
    const sub = this.scope(`s:${i.userId}|${i.modelId}`);
    for (const [who, s, budget, id] of [['key', key, i.keyBudget, `k:${i.keyId}`], ['user', user, i.userBudget, `u:${i.userId}`]] as const) {
      if (!budget) continue;
      const spent = this.spent(id, budget.period, now).cost;
      if (spent >= budget.max || spent + s.resCost + i.cost > budget.max) {
        return { ok: false, code: 'budget_exceeded', retryAfter: secondsToReset(budget.period, now),
          message: `The ${who} budget (${budget.period === 'none' ? 'total' : budget.period}) is exhausted or too small for this request's maximum cost; lower max_tokens or raise the budget.` };
      }
    }
    if (i.quotaRequests !== null || i.quotaTokens !== null) {
      const used = this.spent(`s:${i.userId}|${i.modelId}`, 'monthly', now);
      const retryAfter = secondsToReset('monthly', now);
      if (i.quotaRequests !== null && used.requests + sub.resRequests + 1 > i.quotaRequests) {
        return { ok: false, code: 'quota_exceeded', retryAfter, message: `The subscription's monthly request quota (${i.quotaRequests}) for model ${i.modelId} is used up.` };
      }
      if (i.quotaTokens !== null && (used.tokens >= i.quotaTokens || used.tokens + sub.resTokens + i.tokens > i.quotaTokens)) {
        return { ok: false, code: 'quota_exceeded', retryAfter, message: `The subscription's monthly token quota (${i.quotaTokens}) for model ${i.modelId} is used up or too small for this request's max_tokens.` };
      }
    }
    key.resCost += i.cost; user.resCost += i.cost;
    sub.resRequests += 1; sub.resTokens += i.tokens;
    return { ok: true, reservation: { scopes: [key, user], cost: i.cost, sub, tokens: i.tokens } };
  }

  /** Releases a reservation; the actual usage arrives through add(). */
  release(r: Reservation): void {
    for (const s of r.scopes) s.resCost -= r.cost;
    r.sub.resRequests -= 1; r.sub.resTokens -= r.tokens;
  }
}

/**
 * The bucket a day of the window is summed into: the latest of the window's start, the week's,
 * the month's and today that is not after it (a day after today keeps its own). No segment
 * straddles a period's start, so spent() sums them as it sums days, exactly, today and after
 * the date moves on.
 */
function segment(w: string, now: Date) {
  const today = periodStart('daily', now)!;
  const bounds = [...new Set([w, periodStart('weekly', now)!, periodStart('monthly', now)!, today])].sort().reverse();
  return sql`case when day > ${today}::date then day::text ${sql.join(bounds.map((b) => sql`when day >= ${b}::date then ${b}::text`), sql` `)} end`;
}

function addTo(days: Map<string, Bucket>, day: string, b: Bucket): void {
  const cur = days.get(day);
  if (cur) { cur.cost += b.cost; cur.requests += b.requests; cur.tokens += b.tokens; } else days.set(day, { ...b });
}
