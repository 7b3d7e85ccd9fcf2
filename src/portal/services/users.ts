/**
 * @module Users: accounts, roles, budgets and limits.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { BudgetPeriod, Database, Role, UserRow } from '../../store/schema.js';
import { ApiError, invalid, notFound } from '../errors.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { optionalMoney } from './money-input.js';
import { NO_CREDIT } from './spend-reset.js';
import type { OidcIdentity } from '../oidc.js';
import type { User } from '../../shared/api-types.js';

export interface UserInput {
  username: string; password?: string; email?: string | null; displayName?: string | null; roles?: Role[];
  maxBudget?: number | null; budgetPeriod?: BudgetPeriod; rpm?: number | null; tpm?: number | null;
}
export type UserPatch = Partial<Omit<UserInput, 'username'>> & { disabled?: boolean };

export function userView(u: UserRow): User {
  return {
    id: u.id, username: u.username, email: u.email, displayName: u.display_name, roles: u.roles as Role[],
    maxBudget: u.max_budget === null ? null : Number(u.max_budget), budgetPeriod: u.budget_period, rpm: u.rpm, tpm: u.tpm,
    disabled: u.disabled_at !== null, createdAt: new Date(u.created_at).toISOString(),
    lastLoginAt: u.last_login_at ? new Date(u.last_login_at).toISOString() : null,
  };
}

// A valid hash of a random password: verifying against it takes as long as a real check.
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

function checkPassword(pw: string | undefined): void {
  if (pw !== undefined && pw.length < 8) throw invalid('password', 'must be at least 8 characters');
}

export class UserService {
  constructor(private readonly db: Kysely<Database>) {}

  // A team's row in users (kind 'team') holds its limits; it is not a person and is never listed, edited or signed in as one.
  async list() {
    return (await this.db.selectFrom('users').selectAll().where('kind', '=', 'person').orderBy('username').execute()).map(userView);
  }

  async row(id: string): Promise<UserRow> {
    const u = await this.db.selectFrom('users').selectAll().where('id', '=', id).where('kind', '=', 'person').executeTakeFirst();
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
      roles: input.roles ?? ['user'], max_budget: optionalMoney('maxBudget', input.maxBudget) ?? null, budget_period: input.budgetPeriod ?? 'none',
      rpm: input.rpm ?? null, tpm: input.tpm ?? null, disabled_at: null, last_login_at: null,
    }).execute();
    return this.get(id);
  }

  /** The user whose password this is, or null. Unknown names cost a hash too, so timing does not reveal them. */
  async verifyLogin(username: string, password: string): Promise<UserRow | null> {
    const u = await this.db.selectFrom('users').selectAll().where('username', '=', username).where('kind', '=', 'person').executeTakeFirst();
    const ok = await verifyPassword(password, u?.password_hash ?? DUMMY_HASH);
    return u && u.password_hash && ok ? u : null;
  }

  /**
   * The account of an OIDC identity: found by (issuer, subject), else created. A local account of the same
   * name is linked only when it has neither a password nor another identity (pre-provisioned by an admin);
   * otherwise the new account gets a distinct name, so an issuer cannot take over a local account.
   */
  async fromOidc(id: OidcIdentity, roles: Role[]): Promise<UserRow> {
    const found = await this.db.selectFrom('users').selectAll().where('oidc_issuer', '=', id.issuer).where('oidc_subject', '=', id.subject).where('kind', '=', 'person').executeTakeFirst();
    // A provider without emails (email undefined) leaves the account's own.
    const common = { ...(id.email !== undefined ? { email: id.email } : {}), display_name: id.displayName, roles };
    if (found) {
      return this.db.updateTable('users').set(common).where('id', '=', found.id).returningAll().executeTakeFirstOrThrow();
    }
    const same = await this.db.selectFrom('users').selectAll().where('username', '=', id.username).executeTakeFirst();
    if (same && same.kind === 'person' && !same.password_hash && !same.oidc_subject) {
      return this.db.updateTable('users').set({ ...common, oidc_issuer: id.issuer, oidc_subject: id.subject }).where('id', '=', same.id).returningAll().executeTakeFirstOrThrow();
    }
    const username = same ? `${id.username}@${new URL(id.issuer).host}` : id.username;
    return this.db.insertInto('users').values({
      id: randomUUID(), username, password_hash: null, oidc_issuer: id.issuer, oidc_subject: id.subject, email: null, ...common,
      max_budget: null, budget_period: 'none', rpm: null, tpm: null, disabled_at: null, last_login_at: null,
    }).returningAll().executeTakeFirstOrThrow();
  }

  /**
   * Adds the admin role to a listed initial admin at sign-in. `names` are what this sign-in proved: a local
   * account's username and its admin-set email; for OIDC, see oidcAdminNames (never an unverified email).
   */
  async promoteIfInitialAdmin(u: UserRow, initialAdmins: string[], names: Array<string | null>): Promise<UserRow> {
    const listed = names.some((n) => n !== null && initialAdmins.includes(n));
    if (!listed || u.roles.includes('admin')) return u;
    return this.db.updateTable('users').set({ roles: [...new Set(['admin', ...u.roles])] }).where('id', '=', u.id).returningAll().executeTakeFirstOrThrow();
  }

  /** The `admin` account of a fresh install; returns the password when this call created it. */
  async ensureAdmin(password: string | undefined, generate: () => string): Promise<{ created: boolean; password?: string }> {
    const u = await this.db.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirst();
    if (u) return { created: false };
    const pw = password ?? generate();
    try {
      await this.create({ username: 'admin', password: pw, roles: ['admin', 'user'], displayName: 'Administrator' });
    } catch (err) {
      // Replicas starting together on a fresh database: another one created it between our check and insert.
      if ((err as { code?: string }).code === '23505' || (err instanceof ApiError && err.code === 'conflict')) return { created: false };
      throw err;
    }
    return { created: true, password: password ? undefined : pw };
  }

  async update(id: string, p: UserPatch) {
    const u = await this.row(id);
    checkPassword(p.password);
    const set: Record<string, unknown> = {};
    if (p.email !== undefined) set.email = p.email;
    if (p.displayName !== undefined) set.display_name = p.displayName;
    if (p.roles !== undefined) set.roles = p.roles;
    if (p.maxBudget !== undefined) set.max_budget = optionalMoney('maxBudget', p.maxBudget);
    if (p.budgetPeriod !== undefined) set.budget_period = p.budgetPeriod;
    if (p.budgetPeriod !== undefined && p.budgetPeriod !== u.budget_period) Object.assign(set, NO_CREDIT); // an admin's spend reset was of the old period
    if (p.rpm !== undefined) set.rpm = p.rpm;
    if (p.tpm !== undefined) set.tpm = p.tpm;
    if (p.disabled !== undefined) set.disabled_at = p.disabled ? new Date() : null;
    if (p.password !== undefined) set.password_hash = await hashPassword(p.password);
    if (Object.keys(set).length > 0) await this.db.updateTable('users').set(set).where('id', '=', id).execute();
    return this.get(id);
  }
}
