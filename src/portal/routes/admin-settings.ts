/**
 * @module Admin: platform settings (currency, key defaults and maximums).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireAdmin, requireAdminRead } from '../auth.js';
import type { PortalServices } from '../context.js';
import { SettingsBody } from '../schemas.js';
import { audit } from '../services/audit.js';

export const adminSettingsRoutes: FastifyPluginAsyncTypebox<{ s: PortalServices }> = async (app, { s }) => {
  const tags = ['admin'];
  app.get('/admin/settings', { onRequest: requireAdminRead, schema: { tags } }, async () => s.settings.get());
  app.put('/admin/settings', { onRequest: requireAdmin, schema: { body: SettingsBody, tags } }, async (req) => {
    const out = await s.settings.put(req.body);
    await audit(s.db, req.principal!.username, 'settings.update', null, req.body);
    return out;
  });
};
