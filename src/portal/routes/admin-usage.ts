/**
 * @module Admin: the audit log (newest first, filtered, paged by id) and
 * platform settings.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { requireAdmin, requireAdminRead } from '../auth.js';
import type { PortalServices } from '../context.js';
import { BudgetPeriod } from '../schemas.js';
import { audit } from '../services/audit.js';

const AuditQuery = Type.Object({
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$' })),
  before: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$' })),
  action: Type.Optional(Type.String({ maxLength: 100 })),
  actor: Type.Optional(Type.String({ maxLength: 200 })),
  target: Type.Optional(Type.String({ maxLength: 200 })),
}, { additionalProperties: false });

const intOrNull = Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]);
const moneyOrNull = Type.Union([Type.Number({ minimum: 0 }), Type.Null()]);
const SettingsBody = Type.Object({
  currency: Type.String({ minLength: 3, maxLength: 3 }),
  keyDefaults: Type.Object({ budgetPeriod: BudgetPeriod, maxBudget: moneyOrNull, rpm: intOrNull, tpm: intOrNull, expiresInDays: intOrNull }, { additionalProperties: false }),
  keyMaximums: Type.Object({ maxBudget: moneyOrNull, rpm: intOrNull, tpm: intOrNull, expiresInDays: intOrNull }, { additionalProperties: false }),
}, { additionalProperties: false });

export const adminAuditRoutes: FastifyPluginAsyncTypebox<{ s: PortalServices }> = async (app, { s }) => {
  const tags = ['admin'];
  app.get('/admin/audit', { preHandler: requireAdminRead, schema: { querystring: AuditQuery, tags } }, async (req) => {
    const q = req.query;
    const limit = Math.min(Math.max(Number(q.limit ?? 100), 1), 1000);
    let sel = s.db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(limit);
    if (q.before) sel = sel.where('id', '<', q.before);
    if (q.action) sel = sel.where('action', '=', q.action);
    if (q.actor) sel = sel.where('actor', '=', q.actor);
    if (q.target) sel = sel.where('target', '=', q.target);
    const rows = await sel.execute();
    return {
      entries: rows.map((r) => ({ id: String(r.id), at: new Date(r.at).toISOString(), actor: r.actor, action: r.action, target: r.target, details: r.details })),
      next: rows.length === limit ? String(rows[rows.length - 1]!.id) : null,
    };
  });
  app.get('/admin/settings', { preHandler: requireAdminRead, schema: { tags } }, async () => s.settings.get());
  app.put('/admin/settings', { preHandler: requireAdmin, schema: { body: SettingsBody, tags } }, async (req) => {
    const out = await s.settings.put(req.body);
    await audit(s.db, req.principal!.username, 'settings.update', null, req.body);
    return out;
  });
};
