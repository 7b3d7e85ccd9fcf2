/**
 * @module Refusals explained: the requests of a range that were refused or
 * failed, counted by reason (budget, quota, rate limit, model not allowed,
 * upstream error, other) and by key, from usage_events' status and
 * error_code (the codes of src/gateway/errors.ts the gateway records, plus the
 * proxy's upstream_* and client_disconnected). Reads only the failed events,
 * through the partial indexes of migration 013, and groups in PostgreSQL: the
 * answer is a few rows whatever the range.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../../store/schema.js';
import type { RefusalCounts, RefusalReason, UsageRefusals } from '../../shared/api-types.js';
import { dateRange, type UsageQuery } from './usage.js';

/** Which reason each recorded error code counts under; codes not listed are `other`. */
export const REFUSAL_CODES: Record<Exclude<RefusalReason, 'other'>, readonly string[]> = {
  budget: ['budget_exceeded'],
  quota: ['quota_exceeded'],
  rate_limit: ['rate_limit_exceeded'],
  model_not_allowed: ['model_not_allowed', 'model_not_found'],
  upstream_error: ['upstream_error', 'upstream_timeout', 'upstream_stream_error', 'upstream_client_error', 'no_deployment_available'],
};

export const REFUSAL_REASONS: ReadonlyArray<{ reason: RefusalReason; label: string; hint: string }> = [
  { reason: 'budget', label: 'Budget exhausted', hint: "The key's or its owner's budget for the period could not cover the request: raise the budget, or lower max_tokens so each request reserves less." },
  { reason: 'quota', label: 'Subscription quota reached', hint: "The subscription's request or token quota is used up: ask an administrator to raise it." },
  { reason: 'rate_limit', label: 'Rate limit', hint: 'Too many requests or tokens per minute, or too many at once: slow down, retry after the Retry-After header, or ask for higher limits.' },
  { reason: 'model_not_allowed', label: 'Model not allowed', hint: "The key is not allowed that model, there is no active subscription to it, or it does not exist: add the model to the key or subscribe." },
  { reason: 'upstream_error', label: 'Model server error', hint: 'The model server failed, timed out or was unavailable: retry; if it persists, tell an administrator.' },
  { reason: 'other', label: 'Other', hint: 'Invalid requests, cancelled requests (the client left) and budget checks while the database was unreachable.' },
];

export function refusalReason(code: string | null): RefusalReason {
  for (const [reason, codes] of Object.entries(REFUSAL_CODES)) if (code && codes.includes(code)) return reason as RefusalReason;
  return 'other';
}

const zero = (): RefusalCounts => ({ budget: 0, quota: 0, rate_limit: 0, model_not_allowed: 0, upstream_error: 0, other: 0 });
const nextDay = (d: string) => new Date(Date.parse(d + 'T00:00:00Z') + 86_400_000).toISOString().slice(0, 10);

/** The counting query, by key and error code. Exported so a test can EXPLAIN it: it reads the partial indexes of migration 013. */
export function refusalsQuery(q: Omit<UsageQuery, 'groupBy'>, { from, to } = dateRange(q)) {
  // The same predicate as the partial indexes, so the planner can use them.
  const where: RawBuilder<unknown>[] = [
    sql`e.status not between 200 and 299`,
    sql`e.at >= ${from + 'T00:00:00Z'}::timestamptz`, sql`e.at < ${nextDay(to) + 'T00:00:00Z'}::timestamptz`,
  ];
  if (q.userId) where.push(sql`e.user_id = ${q.userId}`);
  if (q.models?.length) where.push(sql`e.model_id in (${sql.join(q.models)})`);
  if (q.keys?.length) where.push(sql`e.key_id in (${sql.join(q.keys)})`);
  return sql<{ key_id: string; code: string | null; n: number }>`
    select e.key_id, e.error_code as code, count(*)::int as n from usage_events e
    where ${sql.join(where, sql` and `)} group by 1, 2`;
}

export async function usageRefusals(db: Kysely<Database>, q: Omit<UsageQuery, 'groupBy'>): Promise<UsageRefusals> {
  const { from, to } = dateRange(q);
  const rows = (await refusalsQuery(q, { from, to }).execute(db)).rows;

  const counts = zero();
  const codes: Record<string, number> = {};
  const perKey = new Map<string, RefusalCounts>();
  for (const r of rows) {
    const reason = refusalReason(r.code);
    counts[reason] += r.n;
    codes[r.code ?? 'none'] = (codes[r.code ?? 'none'] ?? 0) + r.n;
    const k = perKey.get(r.key_id) ?? zero();
    k[reason] += r.n;
    perKey.set(r.key_id, k);
  }
  const ids = [...perKey.keys()];
  const names = ids.length ? await db.selectFrom('api_keys as k').leftJoin('users as u', 'u.id', 'k.user_id').leftJoin('teams as t', 't.id', 'k.user_id')
    .select(['k.id', 'k.name', 'k.prefix', 'k.user_id', sql<string | null>`coalesce('team ' || t.name, u.username)`.as('username')])
    .where('k.id', 'in', ids).execute() : [];
  const byId = new Map(names.map((n) => [n.id, n]));
  const total = Object.values(counts).reduce((a, n) => a + n, 0);
  const keys = ids.map((id) => {
    const n = byId.get(id);
    const c = perKey.get(id)!;
    return { keyId: id, keyName: n?.name ?? null, keyPrefix: n?.prefix ?? null, userId: n?.user_id ?? null, username: n?.username ?? null, total: Object.values(c).reduce((a, x) => a + x, 0), counts: c };
  }).sort((a, b) => b.total - a.total || a.keyId.localeCompare(b.keyId));
  return {
    from, to, total,
    reasons: REFUSAL_REASONS.map((r) => ({ ...r, count: counts[r.reason] })),
    codes,
    keys,
  };
}
