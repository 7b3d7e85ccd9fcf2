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
    const rows = await db.selectFrom('users').select(['id', 'username', 'email', 'max_budget', 'budget_period'])
      .where('id', 'in', t.userIds).where('max_budget', 'is not', null).execute();
    return rows.map((r) => ({
      scope: 'user' as const, id: r.id, name: r.username, budget: money(r.max_budget), softBudget: null,
      period: r.budget_period, recipients: [{ userId: r.id, email: r.email }],
    }));
  },
  spend: (db, scopes, now) => byPeriod(scopes, now, rollupSpend(db, 'user_id')),
};

/**
 * Teams (migration 009: teams, team_members, api_keys.team_id), written against that schema
 * and skipped while the `teams` table does not exist. A team's spend is its keys' (api_keys.team_id);
 * owners are told.
 */
export const teamScopes: ScopeResolver = {
  scope: 'team',
  async resolve(db, t) {
    if (t.keyIds.length === 0 || !(await hasTeams(db))) return [];
    const teams = await sql<{ id: string; name: string; max_budget: unknown; soft_budget: unknown; budget_period: BudgetPeriod }>`
      select t.id, t.name, t.max_budget, t.soft_budget, t.budget_period from teams t
      where t.id in (select team_id from api_keys where id in (${sql.join(t.keyIds)}) and team_id is not null)
        and (t.max_budget is not null or t.soft_budget is not null)`.execute(db);
    if (teams.rows.length === 0) return [];
    const owners = await sql<{ team_id: string; user_id: string; email: string | null }>`
      select m.team_id, m.user_id, u.email from team_members m join users u on u.id = m.user_id
      where m.role = 'owner' and m.team_id in (${sql.join(teams.rows.map((r) => r.id))})`.execute(db);
    return teams.rows.map((r) => ({
      scope: 'team' as const, id: r.id, name: r.name, budget: money(r.max_budget), softBudget: money(r.soft_budget), period: r.budget_period,
      recipients: owners.rows.filter((o) => o.team_id === r.id).map((o): Recipient => ({ userId: o.user_id, email: o.email })),
    }));
  },
  spend: (db, scopes, now) => byPeriod(scopes, now, async (ids, start) => (await sql<{ id: string; cost: unknown }>`
    select k.team_id as id, sum(d.cost) as cost from usage_daily d join api_keys k on k.id = d.key_id
    where k.team_id in (${sql.join(ids)}) ${start === null ? sql`` : sql`and d.day >= ${start}`}
    group by k.team_id`.execute(db)).rows),
};

/** Per database: true once the table exists (it stays), else when to ask again (a migration may add it). */
const teamsSeen = new WeakMap<object, true | number>();
async function hasTeams(db: Kysely<Database>): Promise<boolean> {
  const seen = teamsSeen.get(db);
  if (seen === true) return true;
  if (seen !== undefined && Date.now() < seen) return false;
  const r = await sql<{ ok: boolean }>`select to_regclass('teams') is not null as ok`.execute(db);
  teamsSeen.set(db, r.rows[0]?.ok === true ? true : Date.now() + 60_000);
  return teamsSeen.get(db) === true;
}

export const RESOLVERS: ScopeResolver[] = [keyScopes, userScopes, teamScopes];
