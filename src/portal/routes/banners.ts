/**
 * @module Banners: admins announce (create, edit, remove — audited), every
 * signed-in person reads the ones active now that they have not dismissed,
 * and dismisses those that allow it (remembered per person; like marking a
 * notification read, a dismissal is the person's own view and not audited).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { me, requireAdmin, requireAdminRead, requireUser } from '../auth.js';
import type { PortalServices } from '../context.js';
import { BannerBody, BannerPatchBody, Id } from '../schemas.js';
import { audit } from '../services/audit.js';
import { BannerService, bannerView } from '../services/banners.js';

export const bannerRoutes: FastifyPluginAsyncTypebox<{ s: PortalServices }> = async (app, { s }) => {
  const banners = new BannerService(s.db);
  const tags = ['banners'];
  app.get('/banners', { onRequest: requireUser, schema: { tags } }, async (req) => ({ banners: await banners.activeFor(me(req)) }));
  app.post('/banners/:id/dismiss', { onRequest: requireUser, schema: { tags, params: Id } }, async (req, reply) => {
    await banners.dismiss(req.params.id, me(req));
    return reply.code(204).send();
  });
  app.get('/admin/banners', { onRequest: requireAdminRead, schema: { tags: ['admin', ...tags] } }, async () => ({ banners: await banners.list() }));
  app.get('/admin/banners/:id', { onRequest: requireAdminRead, schema: { tags: ['admin', ...tags], params: Id } }, async (req) => bannerView(await banners.get(req.params.id)));
  app.post('/admin/banners', { onRequest: requireAdmin, schema: { tags: ['admin', ...tags], body: BannerBody } }, async (req, reply) => {
    const b = await banners.create(req.body, req.principal!.username);
    await audit(s.db, req.principal!.username, 'banner.create', b.id, req.body);
    return reply.code(201).send(b);
  });
  app.patch('/admin/banners/:id', { onRequest: requireAdmin, schema: { tags: ['admin', ...tags], params: Id, body: BannerPatchBody } }, async (req) => {
    const b = await banners.update(req.params.id, req.body);
    await audit(s.db, req.principal!.username, 'banner.update', b.id, req.body);
    return b;
  });
  app.delete('/admin/banners/:id', { onRequest: requireAdmin, schema: { tags: ['admin', ...tags], params: Id } }, async (req, reply) => {
    await banners.remove(req.params.id);
    await audit(s.db, req.principal!.username, 'banner.delete', req.params.id);
    return reply.code(204).send();
  });
};
