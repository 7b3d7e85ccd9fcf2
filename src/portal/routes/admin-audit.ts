/**
 * @module Admin: the audit log, newest first, filtered, paged by id.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireAdminRead } from '../auth.js';
import type { PortalServices } from '../context.js';
import { AuditQuery } from '../schemas.js';
import type { AuditEntry } from '../../shared/api-types.js';

export const adminAuditRoutes: FastifyPluginAsyncTypebox<{ s: PortalServices }> = async (app, { s }) => {
  const tags = ['admin'];
  app.get('/admin/audit', { onRequest: requireAdminRead, schema: { querystring: AuditQuery, tags } }, async (req) => {
    const q = req.query;
    const limit = Math.min(Math.max(Number(q.limit ?? 100), 1), 1000);
    let sel = s.db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(limit);
    if (q.before) sel = sel.where('id', '<', q.before);
    if (q.action) sel = sel.where('action', '=', q.action);
    if (q.actor) sel = sel.where('actor', '=', q.actor);
    if (q.target) sel = sel.where('target', '=', q.target);
    const rows = await sel.execute();
    return {
      entries: rows.map((r): AuditEntry => ({ id: String(r.id), at: new Date(r.at).toISOString(), actor: r.actor, action: r.action, target: r.target, details: r.details })),
      next: rows.length === limit ? String(rows[rows.length - 1]!.id) : null,
    };
  });
};
