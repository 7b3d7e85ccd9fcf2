/**
 * @module Usage reports, read only from usage_daily (the rollups kept in the
 * same transaction as the events), so they stay fast on long histories.
 * Sums are done in PostgreSQL numeric and returned exactly (`costExact`)
 * beside the plain number.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { invalid } from '../errors.js';

export type GroupBy = 'day' | 'model' | 'key' | 'user';
export interface UsageQuery { from?: string; to?: string; groupBy?: GroupBy; userId?: string; models?: string[]; keys?: string[] }

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export function dateRange(q: UsageQuery): { from: string; to: string } {
  const today = new Date().toISOString().slice(0, 10);
  const to = q.to ?? today;
  const from = q.from ?? new Date(Date.parse(to + 'T00:00:00Z') - 29 * 86_400_000).toISOString().slice(0, 10);
  for (const [field, v] of [['from', from], ['to', to]] as const) {
    if (!DAY.test(v) || Number.isNaN(Date.parse(v + 'T00:00:00Z'))) throw invalid(field, 'must be a date YYYY-MM-DD');
  }
  if (from > to) throw invalid('from', 'must not be after to');
  return { from, to };
}

interface Totals { requests: number; errors: number; promptTokens: number; completionTokens: number; cost: number; costExact: string }

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
    const withCost = <T extends { costExact: string }>(r: T) => ({ ...r, cost: Number(r.costExact) });
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
    const t = await base.select(sums).executeTakeFirstOrThrow();
    return { from, to, groupBy, rows, totals: withCost(t) };
  }
}
