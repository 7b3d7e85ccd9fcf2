/**
 * @module Admin: users, and subscriptions and API keys on a user's behalf
 * (the automation paths labs and pipelines use to provision per-user keys).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { requireAdmin, requireAdminRead } from '../auth.js';
import type { PortalServices } from '../context.js';
import { ApproveBody, DenyBody, Id, KeyCreateBody, SubscriptionBody, SubscriptionPatchBody, SubscriptionsQuery, UserCreateBody, UserPatchBody } from '../schemas.js';
import { audit } from '../services/audit.js';
import { applyKeyDefaults, recordAdminLimits } from '../services/key-policy.js';

const withoutPassword = <T extends { password?: string }>(b: T) => { const { password, ...rest } = b; return { ...rest, passwordSet: password !== undefined }; };

export const adminUserRoutes: FastifyPluginAsyncTypebox<{ s: PortalServices }> = async (app, { s }) => {
  const TAGS = ['admin'];
  app.get('/admin/users', { onRequest: requireAdminRead, schema: { tags: TAGS } }, async () => ({ users: await s.users.list() }));
  app.get('/admin/users/:id', { onRequest: requireAdminRead, schema: { tags: TAGS, params: Id } }, async (req) => s.users.get(req.params.id));
  app.post('/admin/users', { onRequest: requireAdmin, schema: { tags: TAGS, body: UserCreateBody } }, async (req, reply) => {
    const u = await s.users.create(req.body);
    await audit(s.db, req.principal!.username, 'user.create', u.id, withoutPassword(req.body));
    return reply.code(201).send(u);
  });
  app.patch('/admin/users/:id', { onRequest: requireAdmin, schema: { tags: TAGS, params: Id, body: UserPatchBody } }, async (req) => {
    const u = await s.users.update(req.params.id, req.body);
    if (req.body.disabled || req.body.password !== undefined) await s.sessions.destroyForUser(u.id);
    await audit(s.db, req.principal!.username, 'user.update', u.id, withoutPassword(req.body));
    return u;
  });

  app.get('/admin/users/:id/subscriptions', { onRequest: requireAdminRead, schema: { tags: TAGS, params: Id } }, async (req) => {
    await s.users.row(req.params.id);
    return { subscriptions: await s.subscriptions.list({ userId: req.params.id }) };
  });
  app.post('/admin/users/:id/subscriptions', { onRequest: requireAdmin, schema: { tags: TAGS, params: Id, body: SubscriptionBody } }, async (req, reply) => {
    await s.users.row(req.params.id);
    const r = await s.subscriptions.subscribe(req.params.id, req.body, 'active', req.principal!.username);
    await audit(s.db, req.principal!.username, 'subscription.create', r.subscription.id, { userId: req.params.id, ...req.body });
    return reply.code(r.created ? 201 : 200).send(r.subscription);
  });
  app.get('/admin/subscriptions', {
    onRequest: requireAdminRead,
    schema: { tags: TAGS, querystring: SubscriptionsQuery },
  }, async (req) => ({ subscriptions: await s.subscriptions.list({ status: req.query.status as never }) }));
  app.patch('/admin/subscriptions/:id', { onRequest: requireAdmin, schema: { tags: TAGS, params: Id, body: SubscriptionPatchBody } }, async (req) => {
    const sub = await s.subscriptions.update(req.params.id, req.body as never, req.principal!.username);
    await audit(s.db, req.principal!.username, 'subscription.update', sub.id, req.body);
    return sub;
  });

  app.post('/admin/subscriptions/:id/approve', { onRequest: requireAdmin, schema: { tags: TAGS, params: Id, body: Type.Optional(ApproveBody) } }, async (req) => {
    const sub = await s.subscriptions.decide(req.params.id, true, req.body?.reason ?? null, req.principal!.username);
    await audit(s.db, req.principal!.username, 'subscription.approve', sub.id, { userId: sub.userId, modelId: sub.modelId, reason: req.body?.reason ?? null });
    return sub;
  });
  app.post('/admin/subscriptions/:id/deny', {
    onRequest: requireAdmin,
    schema: { tags: TAGS, params: Id, body: DenyBody },
  }, async (req) => {
    const sub = await s.subscriptions.decide(req.params.id, false, req.body.reason, req.principal!.username);
    await audit(s.db, req.principal!.username, 'subscription.deny', sub.id, { userId: sub.userId, modelId: sub.modelId, reason: req.body.reason });
    return sub;
  });

  app.get('/admin/users/:id/api-keys', { onRequest: requireAdminRead, schema: { tags: TAGS, params: Id } }, async (req) => {
    await s.users.row(req.params.id);
    return { apiKeys: await s.keys.listForUser(req.params.id) };
  });
  app.post('/admin/users/:id/api-keys', { onRequest: requireAdmin, schema: { tags: TAGS, params: Id, body: KeyCreateBody } }, async (req, reply) => {
    // The limits in the body are the admin's (the owner may only tighten them); the defaults filled in are not.
    const input = applyKeyDefaults(req.body, await s.settings.get());
    const k = await s.keys.create(req.params.id, input, recordAdminLimits({}, req.body, input.budgetPeriod ?? 'none'));
    await audit(s.db, req.principal!.username, 'api_key.create', k.id, { userId: req.params.id, ...req.body });
    reply.header('cache-control', 'no-store');
    return reply.code(201).send(k);
  });
};
