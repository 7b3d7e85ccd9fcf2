/**
 * @module Subscriptions of users to models. Quotas (requests, tokens per
 * calendar month, UTC) are enforced by the gateway, not just stored.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database, SubscriptionRow, SubscriptionStatus } from '../../store/schema.js';
import { invalid, notFound } from '../errors.js';
import type { Subscription } from '../../shared/api-types.js';
import { notifySubscriptionDecided } from '../../notify/subscriptions.js';

export function subscriptionView(s: SubscriptionRow & { username?: string | null }): Subscription {
  return {
    id: s.id, userId: s.user_id, ...(s.username !== undefined ? { username: s.username } : {}), modelId: s.model_id, status: s.status, quotaRequests: s.quota_requests,
    quotaTokens: s.quota_tokens, reason: s.reason, decidedBy: s.decided_by,
    createdAt: new Date(s.created_at).toISOString(), updatedAt: new Date(s.updated_at).toISOString(),
  };
}

export interface SubscriptionInput { modelId: string; quotaRequests?: number | null; quotaTokens?: number | null }

export class SubscriptionService {
  constructor(private readonly db: Kysely<Database>) {}

  async list(filter: { userId?: string; status?: SubscriptionStatus } = {}) {
    // A team's subscription reads as the team's name (its row in users has an internal username).
    let q = this.db.selectFrom('subscriptions as s').leftJoin('users as u', 'u.id', 's.user_id').leftJoin('teams as t', 't.id', 's.user_id')
      .selectAll('s').select(sql<string | null>`coalesce('team ' || t.name, u.username)`.as('username')).orderBy('s.created_at');
    if (filter.userId) q = q.where('s.user_id', '=', filter.userId);
    if (filter.status) q = q.where('s.status', '=', filter.status);
    return (await q.execute()).map(subscriptionView);
  }

  /** A subscription of this user, else not found (another user's id is not even confirmed to exist). */
  async owned(id: string, userId: string): Promise<SubscriptionRow> {
    const row = await this.db.selectFrom('subscriptions').selectAll().where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    if (!row) throw notFound(`Subscription '${id}'`);
    return row;
  }

  /**
   * A person asks for a model: active at once, or pending an admin's approval when the model is restricted.
   * Asking again keeps an active or pending subscription as it is; a denied, cancelled or suspended one asks anew
   * (suspended stays suspended: only an admin lifts it).
   */
  async request(userId: string, modelId: string, actor: string) {
    const model = await this.db.selectFrom('models').select(['id', 'status', 'restricted']).where('id', '=', modelId).executeTakeFirst();
    if (!model) throw invalid('modelId', `model '${modelId}' does not exist`);
    const existing = await this.db.selectFrom('subscriptions').selectAll().where('user_id', '=', userId).where('model_id', '=', modelId).executeTakeFirst();
    if (existing && (existing.status === 'active' || existing.status === 'pending' || existing.status === 'suspended')) {
      return { changed: false, subscription: subscriptionView(existing) };
    }
    if (model.status !== 'active') throw invalid('modelId', `model '${modelId}' is deprecated`);
    const status: SubscriptionStatus = model.restricted ? 'pending' : 'active';
    const r = await this.subscribe(userId, { modelId }, status, actor);
    if (!r.created) await this.db.updateTable('subscriptions').set({ reason: null }).where('id', '=', r.subscription.id).execute();
    return { changed: true, subscription: { ...r.subscription, reason: r.created ? r.subscription.reason : null } };
  }

  async decide(id: string, approve: boolean, reason: string | null, actor: string) {
    // One transaction, the row locked: the decision and its notification commit together, and two admins deciding at once notify once.
    return this.db.transaction().execute(async (tx) => {
      const row = await tx.selectFrom('subscriptions').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
      if (!row) throw notFound(`Subscription '${id}'`);
      if (row.status === 'cancelled') throw invalid('id', 'the subscription was cancelled by its user');
      const status: SubscriptionStatus = approve ? 'active' : 'denied';
      const updated = await tx.updateTable('subscriptions').set({ status, reason, decided_by: actor, updated_at: new Date() })
        .where('id', '=', id).returningAll().executeTakeFirstOrThrow();
      const sub = subscriptionView(updated);
      // Only a change is news: approving an active subscription again tells nobody.
      if (row.status !== status) await notifySubscriptionDecided(tx, sub);
      return sub;
    });
  }

  /** Subscribes a user; `status` is what the caller may grant (admins: active; users: pending for restricted models). */
  async subscribe(userId: string, input: SubscriptionInput, status: SubscriptionStatus, actor: string): Promise<{ created: boolean; subscription: ReturnType<typeof subscriptionView> }> {
    const model = await this.db.selectFrom('models').select(['id', 'status']).where('id', '=', input.modelId).executeTakeFirst();
    if (!model) throw invalid('modelId', `model '${input.modelId}' does not exist`);
    if (model.status !== 'active') throw invalid('modelId', `model '${input.modelId}' is deprecated`);
    const existing = await this.db.selectFrom('subscriptions').selectAll().where('user_id', '=', userId).where('model_id', '=', input.modelId).executeTakeFirst();
    const now = new Date();
    if (existing) {
      const row = await this.db.updateTable('subscriptions').set({
        status, updated_at: now, decided_by: status === 'active' ? actor : existing.decided_by,
        ...(input.quotaRequests !== undefined ? { quota_requests: input.quotaRequests } : {}),
        ...(input.quotaTokens !== undefined ? { quota_tokens: input.quotaTokens } : {}),
      }).where('id', '=', existing.id).returningAll().executeTakeFirstOrThrow();
      return { created: false, subscription: subscriptionView(row) };
    }
    const row = await this.db.insertInto('subscriptions').values({
      id: randomUUID(), user_id: userId, model_id: input.modelId, status, quota_requests: input.quotaRequests ?? null,
      quota_tokens: input.quotaTokens ?? null, reason: null, decided_by: status === 'active' ? actor : null,
    }).returningAll().executeTakeFirstOrThrow();
    return { created: true, subscription: subscriptionView(row) };
  }

  async update(id: string, p: { status?: SubscriptionStatus; quotaRequests?: number | null; quotaTokens?: number | null; reason?: string | null }, actor: string) {
    const set: Record<string, unknown> = { updated_at: new Date() };
    if (p.status !== undefined) { set.status = p.status; set.decided_by = actor; }
    if (p.quotaRequests !== undefined) set.quota_requests = p.quotaRequests;
    if (p.quotaTokens !== undefined) set.quota_tokens = p.quotaTokens;
    if (p.reason !== undefined) set.reason = p.reason;
    const row = await this.db.updateTable('subscriptions').set(set).where('id', '=', id).returningAll().executeTakeFirst();
    if (!row) throw notFound(`Subscription '${id}'`);
    return subscriptionView(row);
  }
}
