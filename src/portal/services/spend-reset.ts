/**
 * @module An admin's spend reset on a key or a user: the spend counted toward
 * the budget starts from zero again, usage history untouched. The period's
 * spend so far becomes a credit, forgiven until the period ends (a budget
 * with no period: for good), which the gateway adds to the budget
 * (snapshot.ts withCredit) and the portal subtracts from the spend it shows.
 * A later change of the budget's period drops the credit (it was the old
 * period's spend).
 */
import { sql, type Kysely } from 'kysely';
import type { BudgetPeriod, Database } from '../../store/schema.js';
import { periodEnd, periodStart } from '../../ledger/budgets.js';
import { fromPico, toPico } from '../../shared/money.js';
import { notifyKeysChanged } from '../../store/changes.js';
import { notFound } from '../errors.js';

/** A budget with no period is forgiven for good: a date every comparison is before. */
const FOREVER = new Date('9999-12-31T00:00:00Z');

/** The scope's spend in the period `now` is in, from the daily rollups (credit not subtracted). */
export async function periodSpend(db: Kysely<Database>, scope: 'key_id' | 'user_id', id: string, period: BudgetPeriod, now = new Date()): Promise<string> {
  const start = periodStart(period, now);
  let q = db.selectFrom('usage_daily').select(sql<string>`coalesce(sum(cost), 0)::numeric(28,12)::text`.as('spend')).where(scope, '=', id);
  if (start) q = q.where('day', '>=', start);
  return (await q.executeTakeFirstOrThrow()).spend;
}

/** `spend` less a credit that still holds (never below zero). */
export function creditedSpend(spend: string, r: { spend_credit: string | null; spend_credit_until: Date | null }, now = Date.now()): string {
  if (r.spend_credit === null || !r.spend_credit_until || new Date(r.spend_credit_until).getTime() <= now) return spend;
  const left = toPico(spend) - toPico(r.spend_credit);
  return fromPico(left > 0n ? left : 0n);
}

const until = (period: BudgetPeriod, now: Date) => periodEnd(period, now) ?? FOREVER;

export interface ResetResult { spendResetAt: string; forgiven: string }

export async function resetKeySpend(db: Kysely<Database>, id: string): Promise<ResetResult> {
  return db.transaction().execute(async (trx) => {
    const k = await trx.selectFrom('api_keys').select(['id', 'hash', 'budget_period']).where('id', '=', id).forUpdate().executeTakeFirst();
    if (!k) throw notFound(`API key '${id}'`);
    const now = new Date();
    const forgiven = await periodSpend(trx, 'key_id', id, k.budget_period, now);
    await trx.updateTable('api_keys').set({ spend_reset_at: now, spend_credit: forgiven, spend_credit_until: until(k.budget_period, now) }).where('id', '=', id).execute();
    // The key trigger watches only what gateways read of a key's own settings: tell them of this one.
    await notifyKeysChanged(trx, [[k.id, k.hash]]);
    return { spendResetAt: now.toISOString(), forgiven };
  });
}

export async function resetUserSpend(db: Kysely<Database>, id: string): Promise<ResetResult> {
  return db.transaction().execute(async (trx) => {
    const u = await trx.selectFrom('users').select(['id', 'budget_period']).where('id', '=', id).forUpdate().executeTakeFirst();
    if (!u) throw notFound(`User '${id}'`);
    const now = new Date();
    const forgiven = await periodSpend(trx, 'user_id', id, u.budget_period, now);
    // The users trigger announces any update.
    await trx.updateTable('users').set({ spend_reset_at: now, spend_credit: forgiven, spend_credit_until: until(u.budget_period, now) }).where('id', '=', id).execute();
    return { spendResetAt: now.toISOString(), forgiven };
  });
}

/** The columns that drop a credit, for an update that changes the budget's period. */
export const NO_CREDIT = { spend_credit: null, spend_credit_until: null } as const;
