/**
 * @module The model catalog and a person's own subscriptions: subscribe
 * (restricted models wait for an admin's approval), list, cancel.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { me, requireUser } from '../auth.js';
import type { PortalServices } from '../context.js';
import { Id, SubscriptionRequestBody } from '../schemas.js';
import { audit } from '../services/audit.js';
import { notFound } from '../errors.js';

export const catalogRoutes: FastifyPluginAsyncTypebox<{ s: PortalServices }> = async (app, { s }) => {
  const tags = ['catalog'];
  app.get('/models', { onRequest: requireUser, schema: { tags } }, async (req) => ({ models: await s.models.catalog(me(req)) }));
  app.get('/models/:id', { onRequest: requireUser, schema: { params: Id, tags } }, async (req) => {
    const m = (await s.models.catalog(me(req))).find((x) => x.id === req.params.id);
    if (!m) throw notFound(`Model '${req.params.id}'`);
    return m;
  });

  app.get('/subscriptions', { onRequest: requireUser, schema: { tags } }, async (req) => ({ subscriptions: await s.subscriptions.list({ userId: me(req) }) }));
  app.post('/subscriptions', {
    onRequest: requireUser,
    schema: { body: SubscriptionRequestBody, tags },
  }, async (req, reply) => {
    const r = await s.subscriptions.request(me(req), req.body.modelId, req.principal!.username);
    if (r.changed) await audit(s.db, req.principal!.username, 'subscription.request', r.subscription.id, { modelId: req.body.modelId, status: r.subscription.status });
    return reply.code(r.changed ? 201 : 200).send(r.subscription);
  });
  app.post('/subscriptions/:id/cancel', { onRequest: requireUser, schema: { params: Id, tags } }, async (req) => {
    const sub = await s.subscriptions.owned(req.params.id, me(req));
    const out = await s.subscriptions.update(sub.id, { status: 'cancelled' }, req.principal!.username);
    await audit(s.db, req.principal!.username, 'subscription.cancel', sub.id, { modelId: sub.model_id });
    return out;
  });
};
