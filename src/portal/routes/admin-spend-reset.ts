/**
 * @module Admin: reset the spend a key's or a user's budget counts (the
 * current period starts from zero again; usage history is kept). Audited
 * with the amount forgiven.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireAdmin } from '../auth.js';
import type { PortalServices } from '../context.js';
import { Id } from '../schemas.js';
import { audit } from '../services/audit.js';
import { resetKeySpend, resetUserSpend } from '../services/spend-reset.js';

export const adminSpendResetRoutes: FastifyPluginAsyncTypebox<{ s: PortalServices }> = async (app, { s }) => {
  const TAGS = ['admin'];
  app.post('/admin/api-keys/:id/reset-spend', { onRequest: requireAdmin, schema: { tags: TAGS, params: Id } }, async (req) => {
    const r = await resetKeySpend(s.db, req.params.id);
    await audit(s.db, req.principal!.username, 'api_key.reset_spend', req.params.id, { forgiven: r.forgiven });
    return s.keys.get(req.params.id);
  });
  app.post('/admin/users/:id/reset-spend', { onRequest: requireAdmin, schema: { tags: TAGS, params: Id } }, async (req) => {
    const r = await resetUserSpend(s.db, req.params.id);
    await audit(s.db, req.principal!.username, 'user.reset_spend', req.params.id, { forgiven: r.forgiven });
    return { userId: req.params.id, ...r };
  });
  // A team's budget lives on its row in users: the same reset.
  app.post('/admin/teams/:id/reset-spend', { onRequest: requireAdmin, schema: { tags: TAGS, params: Id } }, async (req) => {
    await s.teams.get(req.params.id);
    const r = await resetUserSpend(s.db, req.params.id);
    await audit(s.db, req.principal!.username, 'team.reset_spend', req.params.id, { forgiven: r.forgiven });
    return s.teams.get(req.params.id);
  });
};
