/**
 * @module A person's own API keys: create (within the admin's maximums),
 * list, read, edit (admin-set limits only tightened), reveal (recent
 * sign-in, audited — refusals too — never cached), rotate, revoke. Another
 * user's key answers 404, as if it did not exist.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { me, requireUser } from '../auth.js';
import type { PortalServices } from '../context.js';
import { ApiError, invalid } from '../errors.js';
import { Id, KeyPatchBody, KeyRotateBody, MyKeyCreateBody } from '../schemas.js';
import { audit } from '../services/audit.js';
import { keyBudget } from '../services/key-budget.js';
import { applyKeyDefaults, checkOwnerPatch, enforceKeyMaximums } from '../services/key-policy.js';

export const apiKeyRoutes: FastifyPluginAsyncTypebox<{ s: PortalServices }> = async (app, { s }) => {
  const tags = ['api-keys'];
  // Also the keys this person created charged to one of their teams (which they manage while in the team).
  app.get('/api-keys', { onRequest: requireUser, schema: { tags } }, async (req) => ({ apiKeys: await s.keys.listForUser(me(req), { created: true }) }));
  app.get('/api-keys/:id', { onRequest: requireUser, schema: { params: Id, tags } }, async (req) => {
    const k = await s.keys.owned(req.params.id, me(req));
    return s.keys.get(k.id);
  });
  // The budget card: what is left and whether it covers one request of the size this key's application sends.
  app.get('/api-keys/:id/budget', { onRequest: requireUser, schema: { params: Id, tags } }, async (req) => keyBudget(s.db, await s.keys.owned(req.params.id, me(req))));
  app.post('/api-keys', { onRequest: requireUser, schema: { body: MyKeyCreateBody, tags } }, async (req, reply) => {
    const { teamId, ...body } = req.body;
    // Charged to a team: the team's key (its budget, limits and subscriptions apply); a member may do it.
    if (teamId && !(await s.teams.access(teamId, me(req), []))) throw invalid('teamId', 'you are not a member of this team');
    const settings = await s.settings.get();
    const input = enforceKeyMaximums(applyKeyDefaults(body, settings), settings, false);
    const k = teamId ? await s.keys.create(teamId, { ...body, ...input }, {}, me(req)) : await s.keys.create(me(req), { ...body, ...input });
    await audit(s.db, req.principal!.username, 'api_key.create', k.id, req.body);
    reply.header('cache-control', 'no-store');
    return reply.code(201).send(k);
  });
  app.patch('/api-keys/:id', { onRequest: requireUser, schema: { params: Id, body: KeyPatchBody, tags } }, async (req) => {
    const k = await s.keys.owned(req.params.id, me(req));
    const patch = checkOwnerPatch(req.body, s.keys.adminLimits(k), await s.settings.get());
    const out = await s.keys.update(k.id, patch, 'owner');
    await audit(s.db, req.principal!.username, 'api_key.update', k.id, req.body);
    return out;
  });
  app.post('/api-keys/:id/reveal', { onRequest: requireUser, schema: { params: Id, tags } }, async (req, reply) => {
    const actor = req.principal!.username;
    // A refused "show key" is as telling as a granted one: someone probing ids, or a stolen session past its sign-in age.
    const refused = async (reason: string, err: unknown) => {
      await audit(s.db, actor, 'api_key.reveal_refused', req.params.id, { reason });
      throw err;
    };
    const k = await s.keys.owned(req.params.id, me(req)).catch((err) => refused('not_found', err));
    const at = req.principal!.authenticatedAt;
    if (!at || Date.now() - at.getTime() > s.revealMaxAgeMs) {
      await refused('reauth_required', new ApiError('reauth_required', `Showing a key needs a sign-in from the last ${Math.round(s.revealMaxAgeMs / 60_000)} minutes: sign in again.`));
    }
    if (k.revoked_at) await refused('revoked', invalid('id', 'the key is revoked'));
    const key = await s.keys.reveal(k.id);
    await audit(s.db, actor, 'api_key.reveal', k.id, { name: k.name });
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    return { key };
  });
  app.post('/api-keys/:id/rotate', { onRequest: requireUser, schema: { params: Id, body: KeyRotateBody, tags } }, async (req, reply) => {
    const k = await s.keys.owned(req.params.id, me(req));
    const graceSeconds = req.body?.graceSeconds ?? 0;
    const out = await s.keys.rotate(k.id, graceSeconds);
    await audit(s.db, req.principal!.username, 'api_key.rotate', k.id, { name: k.name, graceSeconds });
    reply.header('cache-control', 'no-store');
    return out;
  });
  app.delete('/api-keys/:id', { onRequest: requireUser, schema: { params: Id, tags } }, async (req) => {
    const k = await s.keys.owned(req.params.id, me(req));
    const out = await s.keys.revoke(k.id);
    await audit(s.db, req.principal!.username, 'api_key.revoke', k.id, { name: k.name });
    return out;
  });
};
