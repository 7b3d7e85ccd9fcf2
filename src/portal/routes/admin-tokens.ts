/**
 * @module Admin: admin API tokens — create (the token shown once, never
 * cached), list (never the token), revoke. Only an administrator creates or
 * revokes them; an admin-readonly caller may list. Every change is audited.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireAdmin, requireAdminRead } from '../auth.js';
import type { PortalServices } from '../context.js';
import { Id, Line } from '../schemas.js';
import { audit } from '../services/audit.js';

export const AdminTokenCreateBody = Type.Object({
  name: Line({ minLength: 1, maxLength: 200 }),
  scope: Type.Union([Type.Literal('admin'), Type.Literal('admin-readonly'), Type.Literal('team')]),
  teamId: Type.Optional(Type.Union([Line({ minLength: 1, maxLength: 200 }), Type.Null()])),
  expiresAt: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
}, { additionalProperties: false });

export const adminTokenRoutes: FastifyPluginAsyncTypebox<{ s: PortalServices }> = async (app, { s }) => {
  const TAGS = ['admin'];
  app.get('/admin/tokens', { onRequest: requireAdminRead, schema: { tags: TAGS } }, async () => ({ tokens: await s.tokens.list() }));
  app.post('/admin/tokens', { onRequest: requireAdmin, schema: { tags: TAGS, body: AdminTokenCreateBody } }, async (req, reply) => {
    const t = await s.tokens.create(req.body, req.principal!.username);
    await audit(s.db, req.principal!.username, 'admin_token.create', t.id, { name: t.name, scope: t.scope, teamId: t.teamId, expiresAt: t.expiresAt });
    reply.header('cache-control', 'no-store');
    return reply.code(201).send(t);
  });
  app.delete('/admin/tokens/:id', { onRequest: requireAdmin, schema: { tags: TAGS, params: Id } }, async (req) => {
    const t = await s.tokens.revoke(req.params.id);
    await audit(s.db, req.principal!.username, 'admin_token.revoke', t.id, { name: t.name });
    return t;
  });
};
