/**
 * @module Admin: platform settings (currency, key defaults and maximums).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { requireAdmin, requireAdminRead } from '../auth.js';
import type { PortalServices } from '../context.js';
import { BudgetPeriod } from '../schemas.js';
import { audit } from '../services/audit.js';

const intOrNull = Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]);
const moneyOrNull = Type.Union([Type.Number({ minimum: 0 }), Type.Null()]);
const SettingsBody = Type.Object({
  currency: Type.String({ minLength: 3, maxLength: 3 }),
  keyDefaults: Type.Object({ budgetPeriod: BudgetPeriod, maxBudget: moneyOrNull, rpm: intOrNull, tpm: intOrNull, expiresInDays: intOrNull }, { additionalProperties: false }),
  keyMaximums: Type.Object({ maxBudget: moneyOrNull, rpm: intOrNull, tpm: intOrNull, expiresInDays: intOrNull }, { additionalProperties: false }),
}, { additionalProperties: false });

export const adminSettingsRoutes: FastifyPluginAsyncTypebox<{ s: PortalServices }> = async (app, { s }) => {
  const tags = ['admin'];
  app.get('/admin/settings', { preValidation: requireAdminRead, schema: { tags } }, async () => s.settings.get());
  app.put('/admin/settings', { preValidation: requireAdmin, schema: { body: SettingsBody, tags } }, async (req) => {
    const out = await s.settings.put(req.body);
    await audit(s.db, req.principal!.username, 'settings.update', null, req.body);
    return out;
  });
};
