/**
 * @module Admin: usage of everyone, grouped by key, model, user or day.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireAdminRead } from '../auth.js';
import type { PortalServices } from '../context.js';
import { UsageQuerystring } from '../schemas.js';

const list = (v: string | undefined) => (v ? v.split(',').map((x) => x.trim()).filter(Boolean) : undefined);

export const adminUsageRoutes: FastifyPluginAsyncTypebox<{ s: PortalServices }> = async (app, { s }) => {
  app.get('/admin/usage/summary', { preHandler: requireAdminRead, schema: { querystring: UsageQuerystring } }, async (req) => {
    const q = req.query;
    return s.usage.summary({ from: q.from, to: q.to, groupBy: q.groupBy, userId: q.userId, models: list(q.models), keys: list(q.keys) });
  });
  app.get('/admin/audit', { preHandler: requireAdminRead }, async () => {
    const rows = await s.db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(500).execute();
    return { entries: rows.map((r) => ({ id: String(r.id), at: new Date(r.at).toISOString(), actor: r.actor, action: r.action, target: r.target, details: r.details })) };
  });
};
