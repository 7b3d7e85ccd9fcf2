/**
 * @module A person's own API keys: create (within the admin's maximums),
 * list, read, edit, reveal (recent sign-in, audited, never cached), rotate,
 * revoke. Another user's key answers 404, as if it did not exist.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { me, requireUser } from '../auth.js';
import type { PortalServices } from '../context.js';
import { ApiError } from '../errors.js';
import { Id, KeyCreateBody, KeyPatchBody } from '../schemas.js';
import { audit } from '../services/audit.js';
import { applyKeyDefaults, enforceKeyMaximums } from '../services/key-policy.js';

export const apiKeyRoutes: FastifyPluginAsyncTypebox<{ s: PortalServices }> = async (app, { s }) => {
  const tags = ['api-keys'];
  app.get('/api-keys', { preValidation: requireUser, schema: { tags } }, async (req) => ({ apiKeys: await s.keys.listForUser(me(req)) }));
  app.get('/api-keys/:id', { preValidation: requireUser, schema: { params: Id, tags } }, async (req) => {
    const k = await s.keys.owned(req.params.id, me(req));
    return s.keys.get(k.id);
  });
  app.post('/api-keys', { preValidation: requireUser, schema: { body: KeyCreateBody, tags } }, async (req, reply) => {
    const settings = await s.settings.get();
    const input = enforceKeyMaximums(applyKeyDefaults(req.body, settings), settings, false);
    const k = await s.keys.create(me(req), { ...req.body, ...input });
    await audit(s.db, req.principal!.username, 'api_key.create', k.id, req.body);
    reply.header('cache-control', 'no-store');
    return reply.code(201).send(k);
  });
  app.patch('/api-keys/:id', { preValidation: requireUser, schema: { params: Id, body: KeyPatchBody, tags } }, async (req) => {
    const k = await s.keys.owned(req.params.id, me(req));
    const patch = enforceKeyMaximums(req.body, await s.settings.get(), true);
    const out = await s.keys.update(k.id, patch);
    await audit(s.db, req.principal!.username, 'api_key.update', k.id, req.body);
    return out;
  });
  app.post('/api-keys/:id/reveal', { preValidation: requireUser, schema: { params: Id, tags } }, async (req, reply) => {
    const k = await s.keys.owned(req.params.id, me(req));
    const at = req.principal!.authenticatedAt;
    if (!at || Date.now() - at.getTime() > s.revealMaxAgeMs) {
      throw new ApiError('reauth_required', `Showing a key needs a sign-in from the last ${Math.round(s.revealMaxAgeMs / 60_000)} minutes: sign in again.`);
    }
    const key = await s.keys.reveal(k.id);
    await audit(s.db, req.principal!.username, 'api_key.reveal', k.id, { name: k.name });
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    return { key };
  });
  app.post('/api-keys/:id/rotate', { preValidation: requireUser, schema: { params: Id, tags } }, async (req, reply) => {
    const k = await s.keys.owned(req.params.id, me(req));
    const out = await s.keys.rotate(k.id);
    await audit(s.db, req.principal!.username, 'api_key.rotate', k.id, { name: k.name });
    reply.header('cache-control', 'no-store');
    return out;
  });
  app.delete('/api-keys/:id', { preValidation: requireUser, schema: { params: Id, tags } }, async (req) => {
    const k = await s.keys.owned(req.params.id, me(req));
    const out = await s.keys.revoke(k.id);
    await audit(s.db, req.principal!.username, 'api_key.revoke', k.id, { name: k.name });
    return out;
  });
};
