/**
 * @module Usage reports, read only from usage_daily (the rollups kept in the
 * same transaction as the events), so they stay fast on long histories.
 * Sums are done in PostgreSQL numeric and returned exactly (`costExact`)
 * beside the plain number.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { invalid } from '../errors.js';
import { fromPico, toPico } from '../../shared/money.js';
import { sanitize } from '../../shared/sanitize.js';
import type { UsageRow, UsageSummary, UsageTimeseries, UsageTotals } from '../../shared/api-types.js';
import { usageTimeseries, type SeriesQuery } from './usage-series.js';

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const dayBefore = (d: string) => isoDay(Date.parse(d + 'T00:00:00Z') - 86_400_000);

/**
 * The calendar months whose usage_monthly rows fall entirely inside [from, to], as [start, end).
 * The month of `to` counts when nothing was recorded after `to` (`lastDay` is the latest day in
 * usage_daily): a range ending today takes the current month from usage_monthly too. Null when none.
 */
export function wholeMonths(from: string, to: string, lastDay: string | null): { start: string; end: string } | null {
  const f = new Date(from + 'T00:00:00Z');
  const start = f.getUTCDate() === 1 ? from : isoDay(Date.UTC(f.getUTCFullYear(), f.getUTCMonth() + 1, 1));
  // The first day of the month after `to`'s when that month is complete so far, else of `to`'s own month.
  const t = new Date(to + 'T00:00:00Z');
  const whole = lastDay === null || to >= lastDay || isoDay(Date.parse(to + 'T00:00:00Z') + 86_400_000).endsWith('-01');
  const end = isoDay(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + (whole ? 1 : 0), 1));
  return start < end ? { start, end } : null;
}

export type GroupBy = 'day' | 'model' | 'key' | 'user' | 'team';
export interface UsageQuery { from?: string; to?: string; groupBy?: GroupBy; userId?: string; models?: string[]; keys?: string[] }

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MAX_RANGE_DAYS = 3660;

/**
 * A real day: JavaScript rolls 2026-02-31 over to March 3 where PostgreSQL refuses it, and year 0000
 * parses here but does not exist there. So the day must read back as itself.
 */
export function isCalendarDay(v: string): boolean {
  if (!DAY.test(v) || v.startsWith('0000')) return false;
  const t = Date.parse(v + 'T00:00:00Z');
  return !Number.isNaN(t) && isoDay(t) === v;
}

export function dateRange(q: UsageQuery): { from: string; to: string } {
  const today = new Date().toISOString().slice(0, 10);
  const to = q.to ?? today;
  const bad = (field: 'from' | 'to') => invalid(field, 'must be a date YYYY-MM-DD that exists (year 0001 or later)');
  // `to` first: the default `from` is computed from it (an invalid `to` would otherwise throw a RangeError, a 500).
  if (!isCalendarDay(to)) throw bad('to');
  const from = q.from ?? new Date(Date.parse(to + 'T00:00:00Z') - 29 * 86_400_000).toISOString().slice(0, 10);
  if (!isCalendarDay(from)) throw bad('from');
  if (from > to) throw invalid('from', 'must not be after to');
  if ((Date.parse(to) - Date.parse(from)) / 86_400_000 > MAX_RANGE_DAYS) throw invalid('from', `the range must be at most ${MAX_RANGE_DAYS} days`);
  return { from, to };
}

export type Totals = UsageTotals;

export class UsageService {
  constructor(private readonly db: Kysely<Database>) {}

  async summary(q: UsageQuery): Promise<UsageSummary> {
    const { from, to } = dateRange(q);
    const groupBy = q.groupBy ?? 'day';
    const sums = [
      sql<number>`coalesce(sum(d.requests), 0)::int8`.as('requests'),
      sql<number>`coalesce(sum(d.errors), 0)::int8`.as('errors'),
      sql<number>`coalesce(sum(d.prompt_tokens), 0)::int8`.as('promptTokens'),
      sql<number>`coalesce(sum(d.completion_tokens), 0)::int8`.as('completionTokens'),
      sql<string>`coalesce(sum(d.cost), 0)::numeric(28,12)::text`.as('costExact'),
    ] as const;
    const day = sql<string>`to_char(d.day, 'YYYY-MM-DD')`.as('day');
    // A user's or a few keys' usage is small: usage_daily through its (user_id, day) and (key_id, day) indexes.
    const narrow = Boolean(q.userId || q.keys?.length);
    let rows: Array<Record<string, unknown> & { requests: number; errors: number; promptTokens: number; completionTokens: number; costExact: string }>;
    if (!narrow && (groupBy === 'day' || groupBy === 'model')) {
      // Everyone's usage by day or model: 8-ish rows per day instead of one per key and model.
      let b = this.db.selectFrom('usage_model_daily as d').where('d.day', '>=', from).where('d.day', '<=', to);
      if (q.models?.length) b = b.where('d.model_id', 'in', q.models);
      rows = groupBy === 'day'
        ? await b.select([day, ...sums]).groupBy('d.day').orderBy('d.day').execute()
        : await b.select(['d.model_id as modelId', ...sums]).groupBy('d.model_id').orderBy('d.model_id').execute();
    } else {
      const daily = (a: string, z: string) => {
        let x = this.db.selectFrom('usage_daily').select(['day', 'key_id', 'user_id', 'model_id', 'requests', 'errors', 'prompt_tokens', 'completion_tokens', 'cost'])
          .where('day', '>=', a).where('day', '<=', z);
        if (q.userId) x = x.where('user_id', '=', q.userId);
        if (q.models?.length) x = x.where('model_id', 'in', q.models);
        if (q.keys?.length) x = x.where('key_id', 'in', q.keys);
        return x;
      };
      // Everyone's usage by key or user: the whole months of the range from usage_monthly, the days at its edges from usage_daily.
      let months: { start: string; end: string } | null = null;
      if (!narrow && (groupBy === 'key' || groupBy === 'user' || groupBy === 'team')) {
        const last = await this.db.selectFrom('usage_daily').select(sql<string | null>`max(day)::text`.as('day')).executeTakeFirst();
        months = wholeMonths(from, to, last?.day ?? null);
      }
      let src = daily(from, to).as('d');
      if (months) {
        let m = this.db.selectFrom('usage_monthly').select(['month as day', 'key_id', 'user_id', 'model_id', 'requests', 'errors', 'prompt_tokens', 'completion_tokens', 'cost'])
          .where('month', '>=', months.start).where('month', '<', months.end);
        if (q.models?.length) m = m.where('model_id', 'in', q.models);
        src = m.unionAll(daily(from, dayBefore(months.start))).unionAll(daily(months.end, to)).as('d'); // an empty edge is an empty range
      }
      const d = this.db.selectFrom(src);
      if (groupBy === 'day') {
        rows = await d.select([day, ...sums]).groupBy('d.day').orderBy('d.day').execute();
      } else if (groupBy === 'model') {
        rows = await d.select(['d.model_id as modelId', ...sums]).groupBy('d.model_id').orderBy('d.model_id').execute();
      } else if (groupBy === 'key') {
        // Aggregate first, then look up 3,000 names, not one per usage row.
        const a = d.select(['d.key_id', sql<string>`max(d.user_id)`.as('user_id'), ...sums]).groupBy('d.key_id').as('a');
        // The owner's name tells apart two keys of the same name (a team's key reads as the team's).
        rows = await this.db.selectFrom(a).leftJoin('api_keys as k', 'k.id', 'a.key_id')
          .leftJoin('users as u', 'u.id', 'a.user_id').leftJoin('teams as t', 't.id', 'a.user_id')
          .select(['a.key_id as keyId', 'k.name as keyName', 'k.prefix as keyPrefix', 'a.user_id as userId',
            sql<string | null>`coalesce('team ' || t.name, u.username)`.as('username'), 'a.requests', 'a.errors', 'a.promptTokens', 'a.completionTokens', 'a.costExact'])
          .orderBy('a.key_id').execute();
      } else if (groupBy === 'team') {
        // A team's usage is its row's in users (kind 'team'): its keys' usage. People's own usage is not in any team.
        const a = d.select(['d.user_id', ...sums]).groupBy('d.user_id').as('a');
        rows = await this.db.selectFrom(a).innerJoin('teams as t', 't.id', 'a.user_id')
          .select(['a.user_id as teamId', 't.name as teamName', 'a.requests', 'a.errors', 'a.promptTokens', 'a.completionTokens', 'a.costExact'])
          .orderBy('t.name').execute();
      } else {
        const a = d.select(['d.user_id', ...sums]).groupBy('d.user_id').as('a');
        // A team's row reads as the team's name, not its internal username.
        rows = await this.db.selectFrom(a).leftJoin('users as u', 'u.id', 'a.user_id').leftJoin('teams as t', 't.id', 'a.user_id')
          .select(['a.user_id as userId', sql<string | null>`coalesce('team ' || t.name, u.username)`.as('username'), 'a.requests', 'a.errors', 'a.promptTokens', 'a.completionTokens', 'a.costExact'])
          .orderBy('a.user_id').execute();
      }
    }
    const withCost = <T extends { costExact: string; promptTokens: number; completionTokens: number }>(r: T) =>
      ({ ...r, totalTokens: r.promptTokens + r.completionTokens, cost: Number(r.costExact) });
    // The groups partition the rows, so the totals are their sums (cost exact, in pico-units): no second scan.
    let cost = 0n;
    const t = { requests: 0, errors: 0, promptTokens: 0, completionTokens: 0, costExact: '' };
    for (const r of rows) {
      t.requests += r.requests; t.errors += r.errors; t.promptTokens += r.promptTokens; t.completionTokens += r.completionTokens;
      cost += toPico(r.costExact);
    }
    t.costExact = fromPico(cost);
    return { from, to, groupBy, rows: rows.map(withCost), totals: withCost(t) };
  }

  /** One point per UTC day or hour of the range, zeros included, optionally split by key or model (usage-series.ts). */
  async timeseries(q: SeriesQuery): Promise<UsageTimeseries> {
    return usageTimeseries(this.db, q);
  }

  /** Exact spend of a user in the current budget period (all time when none). */
  async userSpend(userId: string, since: string | null): Promise<string> {
    let q = this.db.selectFrom('usage_daily').select(sql<string>`coalesce(sum(cost), 0)::numeric(28,12)::text`.as('spend')).where('user_id', '=', userId);
    if (since) q = q.where('day', '>=', since);
    return (await q.executeTakeFirstOrThrow()).spend;
  }
}

const CSV_COLUMNS: Record<GroupBy, Array<keyof UsageRow>> = {
  day: ['day'], model: ['modelId'], key: ['keyId', 'keyName', 'userId', 'username'], user: ['userId', 'username'], team: ['teamId', 'teamName'],
};
const METRICS: Array<keyof UsageRow> = ['requests', 'errors', 'promptTokens', 'completionTokens', 'totalTokens', 'costExact'];

/** RFC 4180 CSV of a summary: group columns, then the counters; cost exact to the pico-unit. */
export function toCsv(groupBy: GroupBy, rows: UsageRow[]): string {
  const cols = [...CSV_COLUMNS[groupBy], ...METRICS];
  const header = cols.map((c) => (c === 'costExact' ? 'cost' : c)).join(',');
  return [header, ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(','))].join('\r\n') + '\r\n';
}

/** One RFC 4180 CSV cell, safe to open in a spreadsheet (also used by the per-request export). */
export function csvCell(v: unknown): string {
  // Model ids and key names come from clients: no control character may split a row or hide in a cell.
  const t = v === null || v === undefined ? '' : sanitize(String(v), Number.MAX_SAFE_INTEGER);
  // A leading = + - @ would be a formula in a spreadsheet; quote-prefix it.
  const safe = /^[=+\-@]/.test(t) && !/^-?\d/.test(t) ? `'${t}` : t;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
