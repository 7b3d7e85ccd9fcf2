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

export type GroupBy = 'day' | 'model' | 'key' | 'user';
export interface UsageQuery { from?: string; to?: string; groupBy?: GroupBy; userId?: string; models?: string[]; keys?: string[] }

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MAX_RANGE_DAYS = 3660;

export function dateRange(q: UsageQuery): { from: string; to: string } {
  const today = new Date().toISOString().slice(0, 10);
  const to = q.to ?? today;
  const from = q.from ?? new Date(Date.parse(to + 'T00:00:00Z') - 29 * 86_400_000).toISOString().slice(0, 10);
  for (const [field, v] of [['from', from], ['to', to]] as const) {
    if (!DAY.test(v) || Number.isNaN(Date.parse(v + 'T00:00:00Z'))) throw invalid(field, 'must be a date YYYY-MM-DD');
  }
  if (from > to) throw invalid('from', 'must not be after to');
  if ((Date.parse(to) - Date.parse(from)) / 86_400_000 > MAX_RANGE_DAYS) throw invalid('from', `the range must be at most ${MAX_RANGE_DAYS} days`);
  return { from, to };
}

export interface Totals { requests: number; errors: number; promptTokens: number; completionTokens: number; totalTokens: number; cost: number; costExact: string }

export class UsageService {
  constructor(private readonly db: Kysely<Database>) {}

  async summary(q: UsageQuery): Promise<{ from: string; to: string; groupBy: GroupBy; rows: Array<Record<string, unknown> & Totals>; totals: Totals }> {
    const { from, to } = dateRange(q);
    const groupBy = q.groupBy ?? 'day';
    let base = this.db.selectFrom('usage_daily as d').where('d.day', '>=', from).where('d.day', '<=', to);
    if (q.userId) base = base.where('d.user_id', '=', q.userId);
    if (q.models?.length) base = base.where('d.model_id', 'in', q.models);
    if (q.keys?.length) base = base.where('d.key_id', 'in', q.keys);
    const sums = [
      sql<number>`coalesce(sum(d.requests), 0)::int8`.as('requests'),
      sql<number>`coalesce(sum(d.errors), 0)::int8`.as('errors'),
      sql<number>`coalesce(sum(d.prompt_tokens), 0)::int8`.as('promptTokens'),
      sql<number>`coalesce(sum(d.completion_tokens), 0)::int8`.as('completionTokens'),
      sql<string>`coalesce(sum(d.cost), 0)::numeric(28,12)::text`.as('costExact'),
    ] as const;
    const withCost = <T extends { costExact: string; promptTokens: number; completionTokens: number }>(r: T) =>
      ({ ...r, totalTokens: r.promptTokens + r.completionTokens, cost: Number(r.costExact) });
    let rows: Array<Record<string, unknown> & Totals>;
    if (groupBy === 'day') {
      rows = (await base.select([sql<string>`to_char(d.day, 'YYYY-MM-DD')`.as('day'), ...sums]).groupBy('d.day').orderBy('d.day').execute()).map(withCost);
    } else if (groupBy === 'model') {
      rows = (await base.select(['d.model_id as modelId', ...sums]).groupBy('d.model_id').orderBy('d.model_id').execute()).map(withCost);
    } else if (groupBy === 'key') {
      rows = (await base.leftJoin('api_keys as k', 'k.id', 'd.key_id')
        .select(['d.key_id as keyId', sql<string | null>`max(k.name)`.as('keyName'), sql<string>`max(d.user_id)`.as('userId'), ...sums])
        .groupBy('d.key_id').orderBy('d.key_id').execute()).map(withCost);
    } else {
      rows = (await base.leftJoin('users as u', 'u.id', 'd.user_id')
        .select(['d.user_id as userId', sql<string | null>`max(u.username)`.as('username'), ...sums])
        .groupBy('d.user_id').orderBy('d.user_id').execute()).map(withCost);
    }
    // Every rollup row falls in exactly one group, so the totals are the sum of the groups: no second scan.
    // Cost is summed as BigInt pico-units, exactly as PostgreSQL would.
    let cost = 0n;
    const t = { requests: 0, errors: 0, promptTokens: 0, completionTokens: 0 };
    for (const r of rows) {
      t.requests += r.requests; t.errors += r.errors; t.promptTokens += r.promptTokens; t.completionTokens += r.completionTokens;
      cost += toPico(r.costExact);
    }
    return { from, to, groupBy, rows, totals: withCost({ ...t, costExact: fromPico(cost) }) };
  }

  /** One point per day of the range, zeros included, so a chart's x axis is the calendar. */
  async timeseries(q: Omit<UsageQuery, 'groupBy'>) {
    const r = await this.summary({ ...q, groupBy: 'day' });
    const byDay = new Map(r.rows.map((x) => [x.day as string, x]));
    const points: Array<Totals & { day: string }> = [];
    for (let t = Date.parse(r.from + 'T00:00:00Z'); t <= Date.parse(r.to + 'T00:00:00Z'); t += 86_400_000) {
      const day = new Date(t).toISOString().slice(0, 10);
      const x = byDay.get(day);
      points.push(x ? { ...x, day } as Totals & { day: string } : { day, requests: 0, errors: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0, cost: 0, costExact: '0.000000000000' });
    }
    return { from: r.from, to: r.to, points, totals: r.totals };
  }

  /** Exact spend of a user in the current budget period (all time when none). */
  async userSpend(userId: string, since: string | null): Promise<string> {
    let q = this.db.selectFrom('usage_daily').select(sql<string>`coalesce(sum(cost), 0)::numeric(28,12)::text`.as('spend')).where('user_id', '=', userId);
    if (since) q = q.where('day', '>=', since);
    return (await q.executeTakeFirstOrThrow()).spend;
  }
}

const CSV_COLUMNS: Record<GroupBy, string[]> = {
  day: ['day'], model: ['modelId'], key: ['keyId', 'keyName', 'userId'], user: ['userId', 'username'],
};
const METRICS = ['requests', 'errors', 'promptTokens', 'completionTokens', 'totalTokens', 'costExact'];

/** RFC 4180 CSV of a summary: group columns, then the counters; cost exact to the pico-unit. */
export function toCsv(groupBy: GroupBy, rows: Array<Record<string, unknown>>): string {
  const cols = [...CSV_COLUMNS[groupBy], ...METRICS];
  const cell = (v: unknown) => {
    const t = v === null || v === undefined ? '' : String(v);
    // A leading = + - @ would be a formula in a spreadsheet; quote-prefix it.
    const safe = /^[=+\-@]/.test(t) && !/^-?\d/.test(t) ? `'${t}` : t;
    return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  const header = cols.map((c) => (c === 'costExact' ? 'cost' : c)).join(',');
  return [header, ...rows.map((r) => cols.map((c) => cell(r[c])).join(','))].join('\r\n') + '\r\n';
}
