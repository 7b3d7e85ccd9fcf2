/**
 * @module Admin: models and their deployments.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireAdmin, requireAdminRead } from '../auth.js';
import type { PortalServices } from '../context.js';
import { Id, ModelCreateBody, ModelUpdateBody } from '../schemas.js';
import { audit } from '../services/audit.js';

const safe = (b: { deployments: Array<{ url: string; upstreamModel: string; token?: string | null }> } & Record<string, unknown>) =>
  ({ ...b, deployments: b.deployments.map((d) => ({ url: d.url, upstreamModel: d.upstreamModel, hasToken: !!d.token })) });

export const adminModelRoutes: FastifyPluginAsyncTypebox<{ s: PortalServices }> = async (app, { s }) => {
  app.get('/admin/models', { preHandler: requireAdminRead }, async () => ({ models: await s.models.list() }));
  app.get('/admin/models/:id', { preHandler: requireAdminRead, schema: { params: Id } }, async (req) => s.models.get(req.params.id));
  app.post('/admin/models', { preHandler: requireAdmin, schema: { body: ModelCreateBody } }, async (req, reply) => {
    const m = await s.models.create(req.body);
    await audit(s.db, req.principal!.username, 'model.create', m.id, safe(req.body));
    return reply.code(201).send(m);
  });
  app.put('/admin/models/:id', { preHandler: requireAdmin, schema: { params: Id, body: ModelUpdateBody } }, async (req) => {
    const m = await s.models.update(req.params.id, req.body);
    await audit(s.db, req.principal!.username, 'model.update', m.id, safe(req.body));
    return m;
  });
  app.delete('/admin/models/:id', { preHandler: requireAdmin, schema: { params: Id } }, async (req, reply) => {
    await s.models.remove(req.params.id);
    await audit(s.db, req.principal!.username, 'model.delete', req.params.id);
    return reply.code(204).send();
  });
};
