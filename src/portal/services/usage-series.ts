/**
 * @module Usage over time, by UTC day or hour, optionally split into one
 * series per key or per model (the `top` busiest by cost, the rest summed as
 * "other"), zeros filled so a chart's x axis is the calendar. Reads only
 * rollups: usage_daily / usage_model_daily for days, usage_hourly (kept by the
 * ledger's writer with usage_daily) for hours. Three reads whatever the range:
 * the totals per bucket, the totals per series (to rank them), and the top
 * series' cells; "other" is the bucket's total minus the top series', exactly.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../../store/schema.js';
import type { UsagePoint, UsageResolution, UsageSeries, UsageSplit, UsageTimeseries, UsageTotals } from '../../shared/api-types.js';
import { fromPico, toPico } from '../../shared/money.js';
import { invalid } from '../errors.js';
import { dateRange, isCalendarDay, type UsageQuery } from './usage.js';

export interface SeriesQuery extends Omit<UsageQuery, 'groupBy'> { split?: UsageSplit; resolution?: UsageResolution; top?: string | number }

const HOUR = 3_600_000;
export const MAX_HOURS = 7 * 24;
export const DEFAULT_TOP = 10;
export const MAX_TOP = 50;
const INSTANT = /^(\d{4}-\d{2}-\d{2})T(\d{2})(:\d{2}(:\d{2}(\.\d{1,3})?)?)?Z$/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `top` as sent in a query string: 1 to 50, 10 when absent. */
export function seriesTop(v: string | number | undefined): number {
  if (v === undefined || v === '') return DEFAULT_TOP;
  const n = typeof v === 'number' ? v : /^[0-9]{1,3}$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_TOP) throw invalid('top', `must be an integer from 1 to ${MAX_TOP}`);
  return n;
}

/** A day (its first or last hour) or an instant `YYYY-MM-DDTHH[:MM[:SS]]Z` (its hour), as ms; `end` picks a day's last hour. */
function hourOf(field: 'from' | 'to', v: string, end: boolean): number {
  if (isCalendarDay(v)) return Date.parse(v + 'T00:00:00Z') + (end ? 23 * HOUR : 0);
  const m = INSTANT.exec(v);
  if (!m || !isCalendarDay(m[1]!) || Number(m[2]) > 23) throw invalid(field, 'must be a date YYYY-MM-DD or a UTC instant YYYY-MM-DDTHH:MM:SSZ');
  const t = Date.parse(`${m[1]}T${m[2]}:00:00Z`);
  if (Number.isNaN(t)) throw invalid(field, 'must be a date YYYY-MM-DD or a UTC instant YYYY-MM-DDTHH:MM:SSZ');
  return t;
}

/** The hours [from, to] (both hour starts, inclusive): the last 24 h by default, at most 168 of them. */
export function hourRange(q: Pick<SeriesQuery, 'from' | 'to'>, now = Date.now()): { from: number; to: number } {
  const to = q.to === undefined ? Math.floor(now / HOUR) * HOUR : hourOf('to', q.to, true);
  const from = q.from === undefined ? to - 23 * HOUR : hourOf('from', q.from, false);
  if (from > to) throw invalid('from', 'must not be after to');
  if ((to - from) / HOUR + 1 > MAX_HOURS) throw invalid('from', `an hourly range must be at most ${MAX_HOURS} hours; use resolution=day for longer ones`);
  return { from, to };
}

const isoHour = (ms: number) => new Date(ms).toISOString().slice(0, 13) + ':00:00Z';
const sqlHour = (ms: number) => new Date(ms).toISOString().slice(0, 13).replace('T', ' ') + ':00:00';
function label(t: number, resolution: UsageResolution): string {
  const d = new Date(t);
  const day = `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
  return resolution === 'day' ? day : `${day} ${String(d.getUTCHours()).padStart(2, '0')}:00 UTC`;
}

interface Cell { b: string; s: string | null; requests: number; errors: number; promptTokens: number; completionTokens: number; costExact: string }
const ZERO: UsageTotals = { requests: 0, errors: 0, promptTokens: 0, completionTokens: 0, totalTokens: 0, cost: 0, costExact: fromPico(0n) };

function add(a: UsageTotals, c: Omit<Cell, 'b' | 's'>, sign = 1): UsageTotals {
  const cost = toPico(a.costExact) + BigInt(sign) * toPico(c.costExact);
  const promptTokens = a.promptTokens + sign * Number(c.promptTokens), completionTokens = a.completionTokens + sign * Number(c.completionTokens);
  return {
    requests: a.requests + sign * Number(c.requests), errors: a.errors + sign * Number(c.errors), promptTokens, completionTokens,
    totalTokens: promptTokens + completionTokens, costExact: fromPico(cost), cost: Number(fromPico(cost)),
  };
}

export async function usageTimeseries(db: Kysely<Database>, q: SeriesQuery, now = Date.now()): Promise<UsageTimeseries> {
  const resolution = q.resolution ?? 'day';
  const split = q.split ?? null;
  const top = seriesTop(q.top);
  // The buckets, the rollup and its bucket column, as SQL.
  let buckets: number[] = [];
  let table: 'usage_hourly' | 'usage_daily' | 'usage_model_daily';
  let from: string, to: string, lo: string, hi: string;
  if (resolution === 'hour') {
    const r = hourRange(q, now);
    for (let t = r.from; t <= r.to; t += HOUR) buckets.push(t);
    from = isoHour(r.from); to = isoHour(r.to); lo = sqlHour(r.from); hi = sqlHour(r.to);
    table = 'usage_hourly';
  } else {
    const r = dateRange(q);
    for (let t = Date.parse(r.from + 'T00:00:00Z'); t <= Date.parse(r.to + 'T00:00:00Z'); t += 86_400_000) buckets.push(t);
    from = r.from; to = r.to; lo = r.from; hi = r.to;
    // Everyone's usage by model has its own small rollup; a person's, a few keys' or a split by key needs the keys.
    table = !q.userId && !q.keys?.length && split !== 'key' ? 'usage_model_daily' : 'usage_daily';
  }
  const bucketCol = resolution === 'hour' ? sql<string>`to_char(d.hour, 'YYYY-MM-DD"T"HH24":00:00Z"')` : sql<string>`to_char(d.day, 'YYYY-MM-DD')`;
  const timeCol = sql.ref(resolution === 'hour' ? 'd.hour' : 'd.day');
  const seriesCol = split === 'key' ? sql.ref('d.key_id') : split === 'model' ? sql.ref('d.model_id') : null;
  const where: RawBuilder<unknown>[] = [sql`${timeCol} >= ${lo}`, sql`${timeCol} <= ${hi}`];
  if (q.userId) where.push(sql`d.user_id = ${q.userId}`);
  if (q.models?.length) where.push(sql`d.model_id in (${sql.join(q.models)})`);
  if (q.keys?.length) where.push(sql`d.key_id in (${sql.join(q.keys)})`);
  const sums = sql`coalesce(sum(d.requests), 0)::int8 as requests, coalesce(sum(d.errors), 0)::int8 as errors,
    coalesce(sum(d.prompt_tokens), 0)::int8 as "promptTokens", coalesce(sum(d.completion_tokens), 0)::int8 as "completionTokens",
    coalesce(sum(d.cost), 0)::numeric(28,12)::text as "costExact"`;
  const read = async (by: 'bucket' | 'series' | 'both', extra: RawBuilder<unknown>[] = []) => {
    const b = by === 'series' ? sql`null` : bucketCol;
    const s = by === 'bucket' || !seriesCol ? sql`null` : seriesCol;
    const group = by === 'bucket' ? sql`1` : by === 'series' ? sql`2` : sql`1, 2`;
    return (await sql<Cell>`select ${b} as b, ${s} as s, ${sums} from ${sql.table(table)} as d
      where ${sql.join([...where, ...extra], sql` and `)} group by ${group}`.execute(db)).rows;
  };

  const byBucket = new Map((await read('bucket')).map((c) => [c.b, c]));
  const bucketKey = (t: number) => (resolution === 'hour' ? isoHour(t) : new Date(t).toISOString().slice(0, 10));
  let totals = ZERO;
  const points: UsagePoint[] = buckets.map((t) => {
    const c = byBucket.get(bucketKey(t));
    const v = c ? add(ZERO, c) : ZERO;
    totals = c ? add(totals, c) : totals;
    return { t: resolution === 'hour' ? isoHour(t) : new Date(t).toISOString(), label: label(t, resolution), day: new Date(t).toISOString().slice(0, 10), ...v };
  });
  if (!seriesCol) return { from, to, resolution, split, points, totals };

  // Rank the series by cost, then requests; keep the top ones, sum the rest as "other".
  const ranked = (await read('series')).sort((a, b) => {
    const d = toPico(b.costExact) - toPico(a.costExact);
    return d !== 0n ? (d > 0n ? 1 : -1) : Number(b.requests) - Number(a.requests) || String(a.s).localeCompare(String(b.s));
  });
  const chosen = ranked.slice(0, top);
  const ids = chosen.map((c) => c.s!);
  const series: UsageSeries[] = await describeSeries(db, split!, chosen.map((c) => ({ id: c.s!, totals: add(ZERO, c) })));
  const hasOther = ranked.length > top;
  if (hasOther) {
    const rest = ranked.slice(top).reduce((a, c) => add(a, c), ZERO);
    series.push({ id: 'other', label: split === 'key' ? 'Other keys' : 'Other models', other: true, totals: rest });
  }
  const cells = ids.length ? await read('both', [sql`${seriesCol} in (${sql.join(ids)})`]) : [];
  const at = new Map(cells.map((c) => [`${c.b}|${c.s}`, c]));
  for (const p of points) {
    const b = resolution === 'hour' ? p.t : p.day;
    p.values = ids.map((id) => { const c = at.get(`${b}|${id}`); return c ? add(ZERO, c) : ZERO; });
    if (hasOther) {
      const rest = p.values.reduce((a, v) => add(a, v, -1), p as UsageTotals);
      p.values.push({ requests: rest.requests, errors: rest.errors, promptTokens: rest.promptTokens, completionTokens: rest.completionTokens, totalTokens: rest.totalTokens, cost: rest.cost, costExact: rest.costExact });
    }
  }
  return { from, to, resolution, split, points, series, totals };
}

/** Names for the chosen series: a key's name, prefix and owner (a team's key reads as the team's); labels unique. */
async function describeSeries(db: Kysely<Database>, split: UsageSplit, chosen: Array<{ id: string; totals: UsageTotals }>): Promise<UsageSeries[]> {
  if (split === 'model') return chosen.map((c) => ({ id: c.id, label: c.id, modelId: c.id, totals: c.totals }));
  const ids = chosen.map((c) => c.id);
  const rows = ids.length ? await db.selectFrom('api_keys as k').leftJoin('users as u', 'u.id', 'k.user_id').leftJoin('teams as t', 't.id', 'k.user_id')
    .select(['k.id', 'k.name', 'k.prefix', 'k.user_id', sql<string | null>`coalesce('team ' || t.name, u.username)`.as('username')])
    .where('k.id', 'in', ids).execute() : [];
  const byId = new Map(rows.map((r) => [r.id, r]));
  const out: UsageSeries[] = chosen.map((c) => {
    const k = byId.get(c.id);
    return { id: c.id, label: k?.name ?? c.id, keyId: c.id, keyName: k?.name ?? null, keyPrefix: k?.prefix ?? null, userId: k?.user_id, username: k?.username ?? null, totals: c.totals };
  });
  // Two keys of one name: the owner tells them apart; the same owner too: the prefix.
  const count = (f: (s: UsageSeries) => string) => out.reduce((m, s) => m.set(f(s), (m.get(f(s)) ?? 0) + 1), new Map<string, number>());
  const names = count((s) => s.label);
  for (const s of out) if (names.get(s.label)! > 1 && s.username) s.label = `${s.label} (${s.username})`;
  const again = count((s) => s.label);
  for (const s of out) if (again.get(s.label)! > 1 && s.keyPrefix) s.label = `${s.label} ${s.keyPrefix}`;
  return out;
}
