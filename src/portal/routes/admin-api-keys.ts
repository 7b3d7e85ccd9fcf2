/**
 * @module Admin: any key by id — read, edit, rotate, revoke. The limits an
 * admin sets here are recorded on the key, so that its owner may only
 * tighten them.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireAdmin, requireAdminRead } from '../auth.js';
import type { PortalServices } from '../context.js';
import { Id, KeyPatchBody, KeyRotateBody } from '../schemas.js';
import { notFound } from '../errors.js';
import { audit } from '../services/audit.js';
import { keyBudget } from '../services/key-budget.js';

export const adminKeyRoutes: FastifyPluginAsyncTypebox<{ s: PortalServices }> = async (app, { s }) => {
  const TAGS = ['admin'];
  app.get('/admin/api-keys/:id', { onRequest: requireAdminRead, schema: { tags: TAGS, params: Id } }, async (req) => s.keys.get(req.params.id));
  app.get('/admin/api-keys/:id/budget', { onRequest: requireAdminRead, schema: { tags: TAGS, params: Id } }, async (req) => {
    const k = await s.db.selectFrom('api_keys').selectAll().where('id', '=', req.params.id).executeTakeFirst();
    if (!k) throw notFound(`API key '${req.params.id}'`);
    return keyBudget(s.db, k);
  });
  app.patch('/admin/api-keys/:id', { onRequest: requireAdmin, schema: { tags: TAGS, params: Id, body: KeyPatchBody } }, async (req) => {
    const k = await s.keys.update(req.params.id, req.body, 'admin');
    await audit(s.db, req.principal!.username, 'api_key.update', k.id, req.body);
    return k;
  });
  app.post('/admin/api-keys/:id/rotate', { onRequest: requireAdmin, schema: { tags: TAGS, params: Id, body: KeyRotateBody } }, async (req, reply) => {
    const graceSeconds = req.body?.graceSeconds ?? 0;
    const k = await s.keys.rotate(req.params.id, graceSeconds);
    await audit(s.db, req.principal!.username, 'api_key.rotate', k.id, { graceSeconds });
    reply.header('cache-control', 'no-store');
    return k;
  });
  app.delete('/admin/api-keys/:id', { onRequest: requireAdmin, schema: { tags: TAGS, params: Id } }, async (req) => {
    const k = await s.keys.revoke(req.params.id);
    await audit(s.db, req.principal!.username, 'api_key.revoke', k.id);
    return k;
  });
};
