/**
 * @module Admin: platform settings (currency, key defaults and maximums,
 * budget alerts, brand). Alert secrets are write-only: the audit entry and GET show
 * only whether one is set.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireAdmin, requireAdminRead } from '../auth.js';
import type { PortalServices } from '../context.js';
import { SettingsBody } from '../schemas.js';
import { audit } from '../services/audit.js';
import type { SettingsInput } from '../services/settings.js';
import { auditBrand } from '../services/brand.js';

export const adminSettingsRoutes: FastifyPluginAsyncTypebox<{ s: PortalServices }> = async (app, { s }) => {
  const tags = ['admin'];
  app.get('/admin/settings', { onRequest: requireAdminRead, schema: { tags } }, async () => s.settings.getWithAlerts());
  app.put('/admin/settings', { onRequest: requireAdmin, schema: { body: SettingsBody, tags } }, async (req) => {
    const out = await s.settings.put(req.body);
    await audit(s.db, req.principal!.username, 'settings.update', null, withoutSecrets(req.body));
    return out;
  });
};

/** The body as audited: secrets replaced by whether they were set. */
function withoutSecrets(input: SettingsInput): Record<string, unknown> {
  // Images are audited as their type and size, not their bytes.
  const b = input.brand ? { ...input, brand: auditBrand(input.brand) } as SettingsInput : input;
  if (!b.alerts) return b;
  const { webhookSecret, email, ...alerts } = b.alerts;
  const mail = email ? (({ password, ...m }) => ({ ...m, ...(password !== undefined ? { passwordSet: password !== null } : {}) }))(email) : email;
  return { ...b, alerts: { ...alerts, ...(webhookSecret !== undefined ? { webhookSecretSet: webhookSecret !== null } : {}), ...(email !== undefined ? { email: mail } : {}) } };
}
