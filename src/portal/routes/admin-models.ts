/**
 * @module Admin: models and their deployments.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireAdmin, requireAdminRead } from '../auth.js';
import type { PortalServices } from '../context.js';
import { Id, ModelCreateBody, ModelTestBody, ModelUpdateBody } from '../schemas.js';
import { audit } from '../services/audit.js';
import { testDeployment } from '../services/model-test.js';
import { invalid } from '../errors.js';

const safe = (b: { deployments: Array<{ url: string; upstreamModel: string; token?: string | null }> } & Record<string, unknown>) =>
  ({ ...b, deployments: b.deployments.map((d) => ({ url: d.url, upstreamModel: d.upstreamModel, hasToken: !!d.token })) });

export const adminModelRoutes: FastifyPluginAsyncTypebox<{ s: PortalServices }> = async (app, { s }) => {
  const TAGS = ['admin'];
  app.get('/admin/models', { onRequest: requireAdminRead, schema: { tags: TAGS } }, async () => ({ models: await s.models.list() }));
  app.get('/admin/models/:id', { onRequest: requireAdminRead, schema: { tags: TAGS, params: Id } }, async (req) => s.models.get(req.params.id));
  app.post('/admin/models', { onRequest: requireAdmin, schema: { tags: TAGS, body: ModelCreateBody } }, async (req, reply) => {
    const m = await s.models.create(req.body);
    await audit(s.db, req.principal!.username, 'model.create', m.id, safe(req.body));
    return reply.code(201).send(m);
  });
  app.put('/admin/models/:id', { onRequest: requireAdmin, schema: { tags: TAGS, params: Id, body: ModelUpdateBody } }, async (req) => {
    const m = await s.models.update(req.params.id, req.body);
    await audit(s.db, req.principal!.username, 'model.update', m.id, safe(req.body));
    return m;
  });
  app.post('/admin/models/test', {
    onRequest: requireAdmin,
    schema: { tags: TAGS, body: ModelTestBody },
  }, async (req) => {
    const b = req.body;
    try { const u = new URL(b.url); if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(); } catch { throw invalid('url', 'must be an absolute http(s) URL such as http://host:8000/v1'); }
    // A blank token on an existing model means "the one stored", as in the edit form.
    const token = b.token ? b.token : b.token === undefined && b.modelId ? await s.models.storedToken(b.modelId, b.url, b.upstreamModel) : null;
    const r = await testDeployment({ url: b.url, upstreamModel: b.upstreamModel, token, kind: b.kind ?? 'chat' });
    await audit(s.db, req.principal!.username, 'model.test', b.modelId ?? null, { url: b.url, upstreamModel: b.upstreamModel, ok: r.ok, status: r.status });
    return r;
  });
  app.delete('/admin/models/:id', { onRequest: requireAdmin, schema: { tags: TAGS, params: Id } }, async (req, reply) => {
    await s.models.remove(req.params.id);
    await audit(s.db, req.principal!.username, 'model.delete', req.params.id);
    return reply.code(204).send();
  });
};
