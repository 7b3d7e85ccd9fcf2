/**
 * @module API keys. The full key is returned once at creation (and on
 * rotation); the store keeps sha256(key) for lookup and the AES-GCM-encrypted
 * key for the owner's "show key". Models must be among the owner's active
 * subscriptions.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { ApiKeyRow, BudgetPeriod, Database, ModelLimitJson } from '../../store/schema.js';
import { notifyKeysChanged } from '../../store/changes.js';
import { keyPrefix, newApiKey, sha256, type Cipher } from '../../shared/secrets.js';
import { periodStart } from '../../ledger/budgets.js';
import { fromPico } from '../../shared/money.js';
import { invalid, notFound } from '../errors.js';
import type { ApiKey } from '../../shared/api-types.js';
import { optionalMoney } from './money-input.js';
import { parseAdminLimits, recordAdminLimits, type AdminLimits } from './key-policy.js';
import { creditedSpend, NO_CREDIT, periodSpend } from './spend-reset.js';

export interface KeyInput {
  name: string; description?: string | null; models: string[]; maxBudget?: number | null; budgetPeriod?: BudgetPeriod;
  softBudget?: number | null; rpm?: number | null; tpm?: number | null; maxParallel?: number | null; expiresAt?: string | null;
  /** Limits on single models, checked besides the key's own (null or {}: none). */
  modelLimits?: Record<string, ModelLimitInput> | null;
}
export type KeyPatch = Partial<KeyInput>;
export interface ModelLimitInput { rpm?: number | null; tpm?: number | null; maxBudget?: number | null; budgetPeriod?: BudgetPeriod }

/** Per-model limits as stored: only models the key may use, money as decimal strings, empty limits left out. */
function modelLimitsJson(limits: Record<string, ModelLimitInput> | null | undefined, models: readonly string[]): Record<string, ModelLimitJson> {
  const out: Record<string, ModelLimitJson> = {};
  for (const [model, l] of Object.entries(limits ?? {})) {
    if (!models.includes(model)) throw invalid(`modelLimits.${model}`, `the key may not use '${model}': a per-model limit is for one of its models`);
    const maxBudget = optionalMoney(`modelLimits.${model}.maxBudget`, l.maxBudget) ?? null;
    if ((l.rpm ?? null) === null && (l.tpm ?? null) === null && maxBudget === null) continue;
    out[model] = { rpm: l.rpm ?? null, tpm: l.tpm ?? null, maxBudget: maxBudget === null ? null : String(maxBudget), budgetPeriod: l.budgetPeriod ?? 'monthly' };
  }
  return out;
}

function modelLimitsView(k: ApiKeyRow): NonNullable<ApiKey['modelLimits']> {
  const raw = (typeof k.model_limits === 'string' ? JSON.parse(k.model_limits) : k.model_limits ?? {}) as Record<string, ModelLimitJson>;
  return Object.fromEntries(Object.entries(raw).map(([m, l]) => [m, {
    rpm: l.rpm ?? null, tpm: l.tpm ?? null, maxBudget: l.maxBudget == null ? null : Number(l.maxBudget), budgetPeriod: l.budgetPeriod ?? 'monthly',
  }]));
}

export function keyView(k: ApiKeyRow, spend: string, teamName?: string | null): ApiKey {
  return {
    ...(teamName ? { teamId: k.user_id, teamName, createdBy: k.created_by } : {}),
    id: k.id, userId: k.user_id, name: k.name, description: k.description, prefix: k.prefix, models: k.models, modelLimits: modelLimitsView(k),
    maxBudget: k.max_budget === null ? null : Number(k.max_budget), budgetPeriod: k.budget_period,
    softBudget: k.soft_budget === null ? null : Number(k.soft_budget), rpm: k.rpm, tpm: k.tpm, maxParallel: k.max_parallel,
    expiresAt: k.expires_at ? new Date(k.expires_at).toISOString() : null,
    revokedAt: k.revoked_at ? new Date(k.revoked_at).toISOString() : null,
    lastUsedAt: k.last_used_at ? new Date(k.last_used_at).toISOString() : null,
    createdAt: new Date(k.created_at).toISOString(),
    status: k.revoked_at ? 'revoked' : k.expires_at && new Date(k.expires_at).getTime() <= Date.now() ? 'expired' : 'active',
    spend: Number(spend), spendExact: spend,
    previousValidUntil: k.previous_valid_until && new Date(k.previous_valid_until).getTime() > Date.now() && !k.revoked_at ? new Date(k.previous_valid_until).toISOString() : null,
    spendResetAt: k.spend_reset_at ? new Date(k.spend_reset_at).toISOString() : null,
  };
}

export class ApiKeyService {
  constructor(private readonly db: Kysely<Database>, private readonly cipher: Cipher) {}

  private async checkModels(userId: string, models: string[]): Promise<void> {
    if (models.length === 0) throw invalid('models', 'choose at least one model');
    const active = await this.db.selectFrom('subscriptions').select('model_id')
      .where('user_id', '=', userId).where('status', '=', 'active').execute();
    const ok = new Set(active.map((s) => s.model_id));
    const missing = models.filter((m) => !ok.has(m));
    if (missing.length > 0) throw invalid('models', `no active subscription to ${missing.map((m) => `'${m}'`).join(', ')}`);
  }

  private checkExpiry(expiresAt: string | null | undefined): Date | null {
    if (expiresAt === undefined || expiresAt === null) return null;
    const d = new Date(expiresAt);
    if (Number.isNaN(d.getTime())) throw invalid('expiresAt', 'must be an ISO-8601 date-time');
    if (d.getTime() <= Date.now()) throw invalid('expiresAt', 'must be in the future');
    return d;
  }

  /** `adminLimits`: the limits an administrator set in this request (none when the owner creates the key). */
  /** `createdBy`: who made a team key (`userId` is then the team's id). */
  async create(userId: string, input: KeyInput, adminLimits: AdminLimits = {}, createdBy: string | null = null) {
    const user = await this.db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
    if (!user) throw notFound(`User '${userId}'`);
    await this.checkModels(userId, input.models);
    const expires = this.checkExpiry(input.expiresAt);
    const maxBudget = optionalMoney('maxBudget', input.maxBudget), softBudget = optionalMoney('softBudget', input.softBudget);
    const key = newApiKey();
    const row = await this.db.insertInto('api_keys').values({
      id: randomUUID(), user_id: userId, name: input.name, description: input.description ?? null, prefix: keyPrefix(key),
      hash: sha256(key), secret_enc: this.cipher.encrypt(key), models: [...new Set(input.models)],
      max_budget: maxBudget ?? null, budget_period: input.budgetPeriod ?? 'none', soft_budget: softBudget ?? null,
      rpm: input.rpm ?? null, tpm: input.tpm ?? null, max_parallel: input.maxParallel ?? null, expires_at: expires,
      revoked_at: null, rotated_to: null, last_used_at: null, admin_limits: JSON.stringify(adminLimits), created_by: createdBy,
      model_limits: JSON.stringify(modelLimitsJson(input.modelLimits, input.models)),
    }).returningAll().executeTakeFirstOrThrow();
    return { ...keyView(row, fromPico(0n), await this.teamName(userId)), key };
  }

  async row(id: string): Promise<ApiKeyRow> {
    const k = await this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    if (!k) throw notFound(`API key '${id}'`);
    return k;
  }

  /**
   * A key this person may manage, else not found (another user's key id is not even confirmed to exist):
   * their own; a key of a team they own; a team key they created while they are still in the team.
   */
  async owned(id: string, userId: string): Promise<ApiKeyRow> {
    const k = await this.db.selectFrom('api_keys as k').selectAll('k').where('k.id', '=', id)
      .where((eb) => eb.or([
        eb('k.user_id', '=', userId),
        eb.exists(eb.selectFrom('team_members as m').select('m.user_id').whereRef('m.team_id', '=', 'k.user_id').where('m.user_id', '=', userId)
          .where((w) => w.or([w('m.role', '=', 'owner'), w('k.created_by', '=', userId)]))),
      ])).executeTakeFirst();
    if (!k) throw notFound(`API key '${id}'`);
    return k;
  }

  /** The team's name when `userId` is a team (its keys are team keys), else null. */
  private async teamName(userId: string): Promise<string | null> {
    return (await this.db.selectFrom('teams').select('name').where('id', '=', userId).executeTakeFirst())?.name ?? null;
  }

  /** Spend in the key's current budget period (all time when it has none), exact, from the daily rollups, less an admin's reset. */
  async spend(k: ApiKeyRow): Promise<string> {
    return creditedSpend(await periodSpend(this.db, 'key_id', k.id, k.budget_period), k);
  }

  async get(id: string) {
    const k = await this.row(id);
    return keyView(k, await this.spend(k), await this.teamName(k.user_id));
  }

  /**
   * A user's keys with each key's spend in its own period, from one grouped query (not one per key); with
   * `created`, also the team keys this person created in teams they are still in (charged to the team).
   * For a team's id: the team's keys.
   */
  async listForUser(userId: string, o: { created?: boolean } = {}) {
    let q = this.db.selectFrom('api_keys as k').leftJoin('teams as t', 't.id', 'k.user_id').selectAll('k').select('t.name as team_name');
    q = o.created
      ? q.where((eb) => eb.or([
        eb('k.user_id', '=', userId),
        eb('k.created_by', '=', userId).and(eb.exists(eb.selectFrom('team_members as m').select('m.user_id').whereRef('m.team_id', '=', 'k.user_id').where('m.user_id', '=', userId))),
      ]))
      : q.where('k.user_id', '=', userId);
    const rows = await q.orderBy('k.created_at').execute();
    if (rows.length === 0) return [];
    const now = new Date();
    const since = (p: BudgetPeriod) => sql.lit(periodStart(p, now)!);
    const owners = [...new Set(rows.map((r) => r.user_id))];
    const sums = await this.db.selectFrom('usage_daily').where('user_id', 'in', owners).groupBy('key_id').select([
      'key_id',
      sql<string>`coalesce(sum(cost), 0)::numeric(28,12)::text`.as('none'),
      sql<string>`coalesce(sum(cost) filter (where day >= ${since('daily')}::date), 0)::numeric(28,12)::text`.as('daily'),
      sql<string>`coalesce(sum(cost) filter (where day >= ${since('weekly')}::date), 0)::numeric(28,12)::text`.as('weekly'),
      sql<string>`coalesce(sum(cost) filter (where day >= ${since('monthly')}::date), 0)::numeric(28,12)::text`.as('monthly'),
    ]).execute();
    const byKey = new Map(sums.map((r) => [r.key_id, r]));
    return rows.map(({ team_name, ...k }) => keyView(k, creditedSpend(byKey.get(k.id)?.[k.budget_period] ?? fromPico(0n), k), team_name));
  }

  /** The limits an administrator set on this key (see key-policy.ts). */
  adminLimits(k: ApiKeyRow): AdminLimits { return parseAdminLimits(k.admin_limits); }

  /** `by: 'admin'` records the limits sent as set by an administrator, which the owner may then only tighten. */
  async update(id: string, p: KeyPatch, by: 'owner' | 'admin') {
    const k = await this.row(id);
    if (k.revoked_at) throw invalid('id', 'the key is revoked');
    const set: Record<string, unknown> = {};
    if (by === 'admin') set.admin_limits = JSON.stringify(recordAdminLimits(this.adminLimits(k), p, p.budgetPeriod ?? k.budget_period));
    if (p.models !== undefined) { await this.checkModels(k.user_id, p.models); set.models = [...new Set(p.models)]; }
    if (p.name !== undefined) set.name = p.name;
    if (p.description !== undefined) set.description = p.description;
    if (p.maxBudget !== undefined) set.max_budget = optionalMoney('maxBudget', p.maxBudget);
    if (p.budgetPeriod !== undefined) set.budget_period = p.budgetPeriod;
    if (p.budgetPeriod !== undefined && p.budgetPeriod !== k.budget_period) Object.assign(set, NO_CREDIT);
    if (p.softBudget !== undefined) set.soft_budget = optionalMoney('softBudget', p.softBudget);
    if (p.rpm !== undefined) set.rpm = p.rpm;
    if (p.tpm !== undefined) set.tpm = p.tpm;
    if (p.maxParallel !== undefined) set.max_parallel = p.maxParallel;
    if (p.expiresAt !== undefined) set.expires_at = this.checkExpiry(p.expiresAt);
    // Per-model limits follow the key's models: those given are checked against them, a model taken away loses its limit.
    const models = (set.models as string[] | undefined) ?? k.models;
    const current = (typeof k.model_limits === 'string' ? JSON.parse(k.model_limits) : k.model_limits ?? {}) as Record<string, ModelLimitJson>;
    let limits: string | null = null;
    if (p.modelLimits !== undefined) limits = JSON.stringify(modelLimitsJson(p.modelLimits, models));
    else if (Object.keys(current).some((m) => !models.includes(m))) limits = JSON.stringify(Object.fromEntries(Object.entries(current).filter(([m]) => models.includes(m))));
    if (limits !== null) set.model_limits = limits;
    if (Object.keys(set).length > 0) {
      await this.db.transaction().execute(async (trx) => {
        await trx.updateTable('api_keys').set(set).where('id', '=', id).execute();
        // The change triggers do not watch model_limits (migration 015): the gateways are told here.
        if (limits !== null && limits !== JSON.stringify(current)) await notifyKeysChanged(trx, [[k.id, k.hash]]);
      });
    }
    return this.get(id);
  }

  async revoke(id: string) {
    const k = await this.row(id);
    if (!k.revoked_at) await this.db.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', id).execute();
    return this.get(id);
  }

  /**
   * A new secret for the same key id (same usage history, budgets and limits). The old secret stops
   * at once, or keeps working for `graceSeconds` (the gateway holds its hash as the same key, expiring
   * then), so that the applications using it can be moved over. A secret an earlier grace kept alive
   * stops now: only the one just replaced gets the grace.
   */
  async rotate(id: string, graceSeconds = 0) {
    const k = await this.row(id);
    if (k.revoked_at) throw invalid('id', 'a revoked key cannot be rotated');
    const key = newApiKey();
    const grace = graceSeconds > 0;
    await this.db.updateTable('api_keys').set({
      hash: sha256(key), secret_enc: this.cipher.encrypt(key), prefix: keyPrefix(key),
      previous_hash: grace ? k.hash : null, previous_valid_until: grace ? new Date(Date.now() + graceSeconds * 1000) : null,
    }).where('id', '=', id).execute();
    return { ...(await this.get(id)), key };
  }

  async reveal(id: string): Promise<string> {
    const k = await this.row(id);
    if (k.revoked_at) throw invalid('id', 'the key is revoked');
    return this.cipher.decrypt(k.secret_enc);
  }
}
