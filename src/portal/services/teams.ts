/**
 * @module Teams: a name, members with roles (owner, member), and a budget
 * with rpm/tpm, model subscriptions and keys that are the team's own. The
 * budget, limits, subscriptions and keys hang off the team's row in `users`
 * (kind 'team', same id; see migration 009), so the gateway enforces them —
 * across replicas — exactly as it does a person's.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { BudgetPeriod, Database, TeamRole } from '../../store/schema.js';
import { ApiError, invalid, notFound } from '../errors.js';
import { optionalMoney } from './money-input.js';
import { periodStart } from '../../ledger/budgets.js';
import { creditedSpend } from './spend-reset.js';
import type { Team, TeamMember } from '../../shared/api-types.js';

export interface TeamInput {
  name: string; description?: string | null;
  maxBudget?: number | null; budgetPeriod?: BudgetPeriod; rpm?: number | null; tpm?: number | null;
}
export type TeamPatch = Partial<TeamInput> & { disabled?: boolean };

/** What a caller may do with a team: `admin` (platform admin), `owner`, `member`, or nothing. */
export type TeamAccess = 'admin' | TeamRole | null;

export class TeamService {
  constructor(private readonly db: Kysely<Database>) {}

  private base() {
    return this.db.selectFrom('teams as t').innerJoin('users as u', 'u.id', 't.id')
      .select(['t.id', 't.name', 't.description', 't.created_by', 't.created_at', 'u.max_budget', 'u.budget_period', 'u.rpm', 'u.tpm', 'u.disabled_at', 'u.spend_credit', 'u.spend_credit_until'])
      .select((eb) => [
        eb.selectFrom('team_members as m').whereRef('m.team_id', '=', 't.id').select(sql<number>`count(*)::int4`.as('n')).as('members'),
      ]);
  }

  private async view(r: Awaited<ReturnType<ReturnType<TeamService['base']>['executeTakeFirstOrThrow']>>, role: TeamRole | null): Promise<Team> {
    // Less what an admin's spend reset forgave in this period.
    const spend = creditedSpend(await this.spend(r.id, r.budget_period), r);
    return {
      id: r.id, name: r.name, description: r.description, createdBy: r.created_by, createdAt: new Date(r.created_at).toISOString(),
      maxBudget: r.max_budget === null ? null : Number(r.max_budget), budgetPeriod: r.budget_period, rpm: r.rpm, tpm: r.tpm,
      disabled: r.disabled_at !== null, members: Number(r.members), spend: Number(spend), spendExact: spend, role,
    };
  }

  /** Exact spend of the team's keys in its current budget period (all time without one). */
  async spend(teamId: string, period: BudgetPeriod): Promise<string> {
    const since = periodStart(period, new Date());
    let q = this.db.selectFrom('usage_daily').select(sql<string>`coalesce(sum(cost), 0)::numeric(28,12)::text`.as('spend')).where('user_id', '=', teamId);
    if (since) q = q.where('day', '>=', since);
    return (await q.executeTakeFirstOrThrow()).spend;
  }

  async list(): Promise<Team[]> {
    const rows = await this.base().orderBy('t.name').execute();
    return Promise.all(rows.map((r) => this.view(r, null)));
  }

  /** The teams a person belongs to, with their role in each. */
  async listFor(userId: string): Promise<Team[]> {
    const rows = await this.base().innerJoin('team_members as me', (j) => j.onRef('me.team_id', '=', 't.id').on('me.user_id', '=', userId))
      .select('me.role').orderBy('t.name').execute();
    return Promise.all(rows.map((r) => this.view(r, r.role)));
  }

  async get(id: string, role: TeamRole | null = null): Promise<Team> {
    const r = await this.base().where('t.id', '=', id).executeTakeFirst();
    if (!r) throw notFound(`Team '${id}'`);
    return this.view(r, role);
  }

  async create(input: TeamInput, createdBy: string | null, owner?: string): Promise<Team> {
    const name = input.name.trim();
    if (!name) throw invalid('name', 'must not be blank');
    const taken = await this.db.selectFrom('teams').select('id').where(sql`lower(name)`, '=', name.toLowerCase()).executeTakeFirst();
    if (taken) throw new ApiError('conflict', `a team named '${name}' exists`, 'name');
    const id = randomUUID();
    const maxBudget = optionalMoney('maxBudget', input.maxBudget);
    await this.db.transaction().execute(async (tx) => {
      // The row that carries the team's limits; no password and no identity, so it can never sign in.
      await tx.insertInto('users').values({
        id, username: `team:${id}`, email: null, display_name: name, password_hash: null, oidc_issuer: null, oidc_subject: null,
        roles: [], max_budget: maxBudget ?? null, budget_period: input.budgetPeriod ?? 'monthly',
        rpm: input.rpm ?? null, tpm: input.tpm ?? null, disabled_at: null, last_login_at: null, kind: 'team',
      }).execute();
      await tx.insertInto('teams').values({ id, name, description: input.description ?? null, created_by: createdBy }).execute();
      if (owner) await tx.insertInto('team_members').values({ team_id: id, user_id: owner, role: 'owner' }).execute();
    });
    return this.get(id, owner ? 'owner' : null);
  }

  async update(id: string, p: TeamPatch): Promise<Team> {
    await this.get(id);
    const t: Record<string, unknown> = {}, u: Record<string, unknown> = {};
    if (p.name !== undefined) {
      const name = p.name.trim();
      if (!name) throw invalid('name', 'must not be blank');
      const taken = await this.db.selectFrom('teams').select('id').where(sql`lower(name)`, '=', name.toLowerCase()).where('id', '!=', id).executeTakeFirst();
      if (taken) throw new ApiError('conflict', `a team named '${name}' exists`, 'name');
      t.name = name; u.display_name = name;
    }
    if (p.description !== undefined) t.description = p.description;
    if (p.maxBudget !== undefined) u.max_budget = optionalMoney('maxBudget', p.maxBudget);
    if (p.budgetPeriod !== undefined) u.budget_period = p.budgetPeriod;
    if (p.rpm !== undefined) u.rpm = p.rpm;
    if (p.tpm !== undefined) u.tpm = p.tpm;
    // A disabled team's keys stop working, as a disabled person's do.
    if (p.disabled !== undefined) u.disabled_at = p.disabled ? new Date() : null;
    await this.db.transaction().execute(async (tx) => {
      if (Object.keys(t).length) await tx.updateTable('teams').set(t).where('id', '=', id).execute();
      if (Object.keys(u).length) await tx.updateTable('users').set(u).where('id', '=', id).execute();
    });
    return this.get(id);
  }

  async members(id: string): Promise<TeamMember[]> {
    await this.get(id);
    const rows = await this.db.selectFrom('team_members as m').innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['m.user_id', 'm.role', 'm.added_at', 'u.username', 'u.display_name', 'u.email']).where('m.team_id', '=', id).orderBy('u.username').execute();
    return rows.map((r) => ({ userId: r.user_id, username: r.username, displayName: r.display_name, email: r.email, role: r.role, addedAt: new Date(r.added_at).toISOString() }));
  }

  /** Adds a person or changes their role. A team keeps at least one owner once it has one. */
  async setMember(id: string, userId: string, role: TeamRole): Promise<TeamMember[]> {
    await this.get(id);
    const u = await this.db.selectFrom('users').select(['id', 'kind']).where('id', '=', userId).executeTakeFirst();
    if (!u || u.kind !== 'person') throw invalid('userId', `no user '${userId}'`);
    const cur = await this.db.selectFrom('team_members').select('role').where('team_id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    if (cur?.role === 'owner' && role !== 'owner') await this.keepAnOwner(id, userId, 'role');
    await this.db.insertInto('team_members').values({ team_id: id, user_id: userId, role })
      .onConflict((oc) => oc.columns(['team_id', 'user_id']).doUpdateSet({ role })).execute();
    return this.members(id);
  }

  async removeMember(id: string, userId: string): Promise<TeamMember[]> {
    const cur = await this.db.selectFrom('team_members').select('role').where('team_id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    if (!cur) throw notFound(`Member '${userId}' of team '${id}'`);
    if (cur.role === 'owner') await this.keepAnOwner(id, userId, 'userId');
    // The team's keys stay: they are the team's, not the person's (created_by keeps who made them).
    await this.db.deleteFrom('team_members').where('team_id', '=', id).where('user_id', '=', userId).execute();
    return this.members(id);
  }

  private async keepAnOwner(id: string, leaving: string, field: string): Promise<void> {
    const others = await this.db.selectFrom('team_members').select('user_id').where('team_id', '=', id).where('role', '=', 'owner').where('user_id', '!=', leaving).executeTakeFirst();
    if (!others) throw invalid(field, 'a team needs an owner: make someone else owner first');
  }

  /** The caller's standing in a team (platform admins may do everything an owner may). */
  async access(id: string, userId: string | null, roles: string[]): Promise<TeamAccess> {
    if (roles.includes('admin')) return 'admin';
    if (!userId) return null;
    const m = await this.db.selectFrom('team_members').select('role').where('team_id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    return m?.role ?? null;
  }

  /** The id of the person a member body names (by id or username), or a 400 naming the field. */
  async personId(b: { userId?: string; username?: string }): Promise<string> {
    if (b.userId) return b.userId;
    if (!b.username) throw invalid('userId', 'give userId or username');
    const u = await this.db.selectFrom('users').select('id').where('username', '=', b.username).where('kind', '=', 'person').executeTakeFirst();
    if (!u) throw invalid('username', `no user '${b.username}'`);
    return u.id;
  }

  /** Whether `id` is a team (its row in users has kind 'team'). */
  async isTeam(id: string): Promise<boolean> {
    return Boolean(await this.db.selectFrom('teams').select('id').where('id', '=', id).executeTakeFirst());
  }
}
