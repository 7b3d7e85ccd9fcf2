/**
 * @module Users: accounts, roles, budgets and limits.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { BudgetPeriod, Database, Role, UserRow } from '../../store/schema.js';
import { ApiError, invalid, notFound } from '../errors.js';
import { hashPassword } from './passwords.js';

export interface UserInput {
  username: string; password?: string; email?: string | null; displayName?: string | null; roles?: Role[];
  maxBudget?: number | null; budgetPeriod?: BudgetPeriod; rpm?: number | null; tpm?: number | null;
}
export type UserPatch = Partial<Omit<UserInput, 'username'>> & { disabled?: boolean };

export function userView(u: UserRow) {
  return {
    id: u.id, username: u.username, email: u.email, displayName: u.display_name, roles: u.roles,
    maxBudget: u.max_budget === null ? null : Number(u.max_budget), budgetPeriod: u.budget_period, rpm: u.rpm, tpm: u.tpm,
    disabled: u.disabled_at !== null, createdAt: new Date(u.created_at).toISOString(),
    lastLoginAt: u.last_login_at ? new Date(u.last_login_at).toISOString() : null,
  };
}

function checkPassword(pw: string | undefined): void {
  if (pw !== undefined && pw.length < 8) throw invalid('password', 'must be at least 8 characters');
}

export class UserService {
  constructor(private readonly db: Kysely<Database>) {}

  async list() {
    return (await this.db.selectFrom('users').selectAll().orderBy('username').execute()).map(userView);
  }

  async row(id: string): Promise<UserRow> {
    const u = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    if (!u) throw notFound(`User '${id}'`);
    return u;
  }

  async get(id: string) { return userView(await this.row(id)); }

  async create(input: UserInput) {
    checkPassword(input.password);
    const taken = await this.db.selectFrom('users').select('id').where('username', '=', input.username).executeTakeFirst();
    if (taken) throw new ApiError('conflict', `username '${input.username}' is taken`, 'username');
    const id = randomUUID();
    await this.db.insertInto('users').values({
      id, username: input.username, email: input.email ?? null, display_name: input.displayName ?? null,
      password_hash: input.password ? await hashPassword(input.password) : null, oidc_issuer: null, oidc_subject: null,
      roles: input.roles ?? ['user'], max_budget: input.maxBudget ?? null, budget_period: input.budgetPeriod ?? 'none',
      rpm: input.rpm ?? null, tpm: input.tpm ?? null, disabled_at: null, last_login_at: null,
    }).execute();
    return this.get(id);
  }

  async update(id: string, p: UserPatch) {
    await this.row(id);
    checkPassword(p.password);
    const set: Record<string, unknown> = {};
    if (p.email !== undefined) set.email = p.email;
    if (p.displayName !== undefined) set.display_name = p.displayName;
    if (p.roles !== undefined) set.roles = p.roles;
    if (p.maxBudget !== undefined) set.max_budget = p.maxBudget;
    if (p.budgetPeriod !== undefined) set.budget_period = p.budgetPeriod;
    if (p.rpm !== undefined) set.rpm = p.rpm;
    if (p.tpm !== undefined) set.tpm = p.tpm;
    if (p.disabled !== undefined) set.disabled_at = p.disabled ? new Date() : null;
    if (p.password !== undefined) set.password_hash = await hashPassword(p.password);
    if (Object.keys(set).length > 0) await this.db.updateTable('users').set(set).where('id', '=', id).execute();
    return this.get(id);
  }
}
