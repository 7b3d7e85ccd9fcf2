/**
 * @module One resolver per budget scope: which scopes a written batch touched
 * that have a budget (or a soft budget), who is told, and what each has spent
 * in its current period, read from the rollups (usage_daily by day;
 * usage_monthly for budgets that never reset). Spend is read grouped by
 * period, one statement per period present, never per scope.
 */
import { sql, type Kysely } from 'kysely';
import type { BudgetPeriod, Database } from '../store/schema.js';
import { periodStart } from '../ledger/budgets.js';
import type { AlertScope, AlertScopeKind, Recipient } from './events.js';

/** The ids a written batch carries. */
export interface Touched { keyIds: string[]; userIds: string[] }

export interface ScopeResolver {
  scope: AlertScopeKind;
  /** The touched scopes of this kind that have a budget or a soft budget. */
  resolve(db: Kysely<Database>, t: Touched): Promise<AlertScope[]>;
  /** Spend (decimal string) of each scope in its period as of `now`. */
  spend(db: Kysely<Database>, scopes: AlertScope[], now: Date): Promise<Map<string, string>>;
}

const money = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** Runs `read` once per period present among `scopes` with that period's first day (null: all time). */
async function byPeriod(scopes: AlertScope[], now: Date, read: (ids: string[], start: string | null) => Promise<Array<{ id: string; cost: unknown }>>): Promise<Map<string, string>> {
  const groups = new Map<BudgetPeriod, string[]>();
  for (const s of scopes) groups.set(s.period, [...(groups.get(s.period) ?? []), s.id]);
  const out = new Map<string, string>();
  for (const [period, ids] of groups) {
    for (const r of await read(ids, periodStart(period, now))) out.set(r.id, String(r.cost ?? '0'));
  }
  return out;
}

/** Sums a rollup column's cost for `ids`: usage_daily from `start`, or usage_monthly over all time. */
function rollupSpend(db: Kysely<Database>, col: 'key_id' | 'user_id') {
  return async (ids: string[], start: string | null) => {
    if (start === null) {
      return db.selectFrom('usage_monthly').select([`${col} as id`, (eb) => eb.fn.sum<string>('cost').as('cost')]).where(col, 'in', ids).groupBy(col).execute();
    }
    return db.selectFrom('usage_daily').select([`${col} as id`, (eb) => eb.fn.sum<string>('cost').as('cost')]).where(col, 'in', ids).where('day', '>=', start).groupBy(col).execute();
  };
}

export const keyScopes: ScopeResolver = {
  scope: 'key',
  async resolve(db, t) {
    if (t.keyIds.length === 0) return [];
    const rows = await db.selectFrom('api_keys as k').innerJoin('users as u', 'u.id', 'k.user_id')
      .select(['k.id', 'k.name', 'k.max_budget', 'k.soft_budget', 'k.budget_period', 'k.user_id', 'u.email'])
      .where('k.id', 'in', t.keyIds).where('k.revoked_at', 'is', null)
      .where((eb) => eb.or([eb('k.max_budget', 'is not', null), eb('k.soft_budget', 'is not', null)]))
      .execute();
    return rows.map((r) => ({
      scope: 'key' as const, id: r.id, name: r.name, budget: money(r.max_budget), softBudget: money(r.soft_budget),
      period: r.budget_period, recipients: [{ userId: r.user_id, email: r.email }],
    }));
  },
  spend: (db, scopes, now) => byPeriod(scopes, now, rollupSpend(db, 'key_id')),
};

export const userScopes: ScopeResolver = {
  scope: 'user',
  async resolve(db, t) {
    if (t.userIds.length === 0) return [];
    // A team's row is the team scope's (below), not a person's.
    const rows = await db.selectFrom('users').select(['id', 'username', 'email', 'max_budget', 'budget_period'])
      .where('id', 'in', t.userIds).where('kind', '=', 'person').where('max_budget', 'is not', null).execute();
    return rows.map((r) => ({
      scope: 'user' as const, id: r.id, name: r.username, budget: money(r.max_budget), softBudget: null,
      period: r.budget_period, recipients: [{ userId: r.id, email: r.email }],
    }));
  },
  spend: (db, scopes, now) => byPeriod(scopes, now, rollupSpend(db, 'user_id')),
};

/**
 * Teams (migration 009): a team's budget is on its row in users (kind 'team', the team's id), so its
 * spend is that row's in the rollups, like a person's; its owners are told.
 */
export const teamScopes: ScopeResolver = {
  scope: 'team',
  async resolve(db, t) {
    if (t.userIds.length === 0) return [];
    const rows = await db.selectFrom('teams as t').innerJoin('users as u', 'u.id', 't.id')
      .select(['t.id', 't.name', 'u.max_budget', 'u.budget_period'])
      .where('t.id', 'in', t.userIds).where('u.max_budget', 'is not', null).execute();
    if (rows.length === 0) return [];
    const owners = await db.selectFrom('team_members as m').innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['m.team_id', 'm.user_id', 'u.email']).where('m.role', '=', 'owner').where('m.team_id', 'in', rows.map((r) => r.id)).execute();
    return rows.map((r) => ({
      scope: 'team' as const, id: r.id, name: r.name, budget: money(r.max_budget), softBudget: null, period: r.budget_period,
      recipients: owners.filter((o) => o.team_id === r.id).map((o): Recipient => ({ userId: o.user_id, email: o.email })),
    }));
  },
  spend: (db, scopes, now) => byPeriod(scopes, now, rollupSpend(db, 'user_id')),
};

export const RESOLVERS: ScopeResolver[] = [keyScopes, userScopes, teamScopes];
