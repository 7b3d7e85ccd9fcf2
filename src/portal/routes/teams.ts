/**
 * @module Teams, for admins (`/admin/teams…`, the automation contract) and
 * for people (`/teams…`: the teams they are in). Owners manage members,
 * subscriptions and every team key; members see the team and create keys
 * charged to it (which they then manage); owners and admins see its usage.
 * Someone outside a team gets 404 for it, as if it did not exist.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { requireAdmin, requireAdminRead, requireUser } from '../auth.js';
import type { PortalServices } from '../context.js';
import { ApiError, notFound } from '../errors.js';
import { Id, KeyCreateBody, SubscriptionBody, SubscriptionRequestBody, TeamCreateBody, TeamMemberBody, TeamMemberParams, TeamPatchBody } from '../schemas.js';
import { audit } from '../services/audit.js';
import { applyKeyDefaults, enforceKeyMaximums, recordAdminLimits } from '../services/key-policy.js';
import type { TeamAccess } from '../services/teams.js';
import { reports } from './usage.js';

const actor = (req: FastifyRequest) => req.principal!.username;

/**
 * The admin team routes: admins (read-only admins for reads), or an admin API token scoped to this very
 * team — automation for one team (its members, subscriptions, keys and usage) and nothing else.
 */
const teamAdmin = (write: boolean) => async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
  const p = req.principal;
  const id = (req.params as { id?: string }).id;
  if (p?.teamId) {
    if (id === p.teamId) return;
    throw new ApiError('forbidden', `This admin API token is scoped to team '${p.teamId}': it can manage only that team.`);
  }
  await (write ? requireAdmin : requireAdminRead)(req, reply);
};

/** The caller's standing in team `id`, at least `need`; else 404 (outsiders) or 403 (members asking for an owner's action). */
async function standing(s: PortalServices, req: FastifyRequest, id: string, need: 'member' | 'owner'): Promise<Exclude<TeamAccess, null>> {
  const p = req.principal!;
  const a = await s.teams.access(id, p.userId, p.roles);
  if (!a) {
    // Read-only admins see every team but change none.
    if (need === 'member' && p.roles.includes('admin-readonly') && await s.teams.isTeam(id)) return 'member';
    throw notFound(`Team '${id}'`);
  }
  if (need === 'owner' && a === 'member') throw new ApiError('forbidden', 'Only an owner of this team may do this.');
  return a;
}

export const teamRoutes: FastifyPluginAsyncTypebox<{ s: PortalServices }> = async (app, { s }) => {
  const tags = ['teams'];
  const TAGS = ['admin'];

  // ---- Admins: the automation contract.
  app.get('/admin/teams', { onRequest: requireAdminRead, schema: { tags: TAGS } }, async () => ({ teams: await s.teams.list() }));
  app.post('/admin/teams', { onRequest: requireAdmin, schema: { tags: TAGS, body: TeamCreateBody } }, async (req, reply) => {
    const t = await s.teams.create(req.body, actor(req));
    await audit(s.db, actor(req), 'team.create', t.id, req.body);
    return reply.code(201).send(t);
  });
  app.get('/admin/teams/:id', { onRequest: teamAdmin(false), schema: { tags: TAGS, params: Id } }, async (req) => s.teams.get(req.params.id));
  app.patch('/admin/teams/:id', { onRequest: requireAdmin, schema: { tags: TAGS, params: Id, body: TeamPatchBody } }, async (req) => {
    const t = await s.teams.update(req.params.id, req.body);
    await audit(s.db, actor(req), 'team.update', t.id, req.body);
    return t;
  });
  app.get('/admin/teams/:id/members', { onRequest: teamAdmin(false), schema: { tags: TAGS, params: Id } }, async (req) => ({ members: await s.teams.members(req.params.id) }));
  app.post('/admin/teams/:id/members', { onRequest: teamAdmin(true), schema: { tags: TAGS, params: Id, body: TeamMemberBody } }, async (req, reply) => {
    const userId = await s.teams.personId(req.body);
    const members = await s.teams.setMember(req.params.id, userId, req.body.role ?? 'member');
    await audit(s.db, actor(req), 'team.member_set', req.params.id, { userId, role: req.body.role ?? 'member' });
    return reply.code(201).send({ members });
  });
  app.delete('/admin/teams/:id/members/:userId', { onRequest: teamAdmin(true), schema: { tags: TAGS, params: TeamMemberParams } }, async (req) => {
    const members = await s.teams.removeMember(req.params.id, req.params.userId);
    await audit(s.db, actor(req), 'team.member_remove', req.params.id, { userId: req.params.userId });
    return { members };
  });
  app.get('/admin/teams/:id/subscriptions', { onRequest: teamAdmin(false), schema: { tags: TAGS, params: Id } }, async (req) => {
    await s.teams.get(req.params.id);
    return { subscriptions: await s.subscriptions.list({ userId: req.params.id }) };
  });
  app.post('/admin/teams/:id/subscriptions', { onRequest: teamAdmin(true), schema: { tags: TAGS, params: Id, body: SubscriptionBody } }, async (req, reply) => {
    await s.teams.get(req.params.id);
    const r = await s.subscriptions.subscribe(req.params.id, req.body, 'active', actor(req));
    await audit(s.db, actor(req), 'subscription.create', r.subscription.id, { teamId: req.params.id, ...req.body });
    return reply.code(r.created ? 201 : 200).send(r.subscription);
  });
  app.get('/admin/teams/:id/api-keys', { onRequest: teamAdmin(false), schema: { tags: TAGS, params: Id } }, async (req) => {
    await s.teams.get(req.params.id);
    return { apiKeys: await s.keys.listForUser(req.params.id) };
  });
  app.post('/admin/teams/:id/api-keys', { onRequest: teamAdmin(true), schema: { tags: TAGS, params: Id, body: KeyCreateBody } }, async (req, reply) => {
    await s.teams.get(req.params.id);
    const input = applyKeyDefaults(req.body, await s.settings.get());
    const k = await s.keys.create(req.params.id, input, recordAdminLimits({}, req.body, input.budgetPeriod ?? 'none'), req.principal!.userId);
    await audit(s.db, actor(req), 'api_key.create', k.id, { teamId: req.params.id, ...req.body });
    reply.header('cache-control', 'no-store');
    return reply.code(201).send(k);
  });

  // ---- People: the teams they are in.
  app.get('/teams', { onRequest: requireUser, schema: { tags } }, async (req) => ({
    teams: await s.teams.listFor(req.principal!.userId!),
    canCreate: req.principal!.roles.includes('admin') || Boolean((await s.settings.get()).teams?.selfService),
  }));
  app.post('/teams', { onRequest: requireUser, schema: { tags, body: TeamCreateBody } }, async (req, reply) => {
    const p = req.principal!;
    if (!p.roles.includes('admin') && !(await s.settings.get()).teams?.selfService) {
      throw new ApiError('forbidden', 'Only administrators create teams here; ask one, or ask them to let people create teams (Settings → Teams).');
    }
    // A person setting their own team's budget would be no budget at all: only admins set limits.
    const body = p.roles.includes('admin') ? req.body : { name: req.body.name, description: req.body.description };
    const t = await s.teams.create(body, p.username, p.userId!);
    await audit(s.db, p.username, 'team.create', t.id, body);
    return reply.code(201).send(t);
  });
  app.get('/teams/:id', { onRequest: requireUser, schema: { tags, params: Id } }, async (req) => {
    const a = await standing(s, req, req.params.id, 'member');
    return s.teams.get(req.params.id, a === 'admin' ? null : a);
  });
  app.patch('/teams/:id', { onRequest: requireUser, schema: { tags, params: Id, body: TeamPatchBody } }, async (req) => {
    const a = await standing(s, req, req.params.id, 'owner');
    const { name, description, ...limits } = req.body;
    if (a !== 'admin' && Object.keys(limits).length > 0) throw new ApiError('forbidden', "Only an administrator changes a team's budget, limits or status; owners change its name and description.");
    const t = await s.teams.update(req.params.id, req.body);
    await audit(s.db, actor(req), 'team.update', t.id, req.body);
    return t;
  });
  app.get('/teams/:id/members', { onRequest: requireUser, schema: { tags, params: Id } }, async (req) => {
    await standing(s, req, req.params.id, 'member');
    return { members: await s.teams.members(req.params.id) };
  });
  app.post('/teams/:id/members', { onRequest: requireUser, schema: { tags, params: Id, body: TeamMemberBody } }, async (req, reply) => {
    await standing(s, req, req.params.id, 'owner');
    const userId = await s.teams.personId(req.body);
    const members = await s.teams.setMember(req.params.id, userId, req.body.role ?? 'member');
    await audit(s.db, actor(req), 'team.member_set', req.params.id, { userId, role: req.body.role ?? 'member' });
    return reply.code(201).send({ members });
  });
  app.delete('/teams/:id/members/:userId', { onRequest: requireUser, schema: { tags, params: TeamMemberParams } }, async (req) => {
    // Anyone may leave; only owners remove others.
    await standing(s, req, req.params.id, req.params.userId === req.principal!.userId ? 'member' : 'owner');
    const members = await s.teams.removeMember(req.params.id, req.params.userId);
    await audit(s.db, actor(req), 'team.member_remove', req.params.id, { userId: req.params.userId });
    return { members };
  });
  app.get('/teams/:id/subscriptions', { onRequest: requireUser, schema: { tags, params: Id } }, async (req) => {
    await standing(s, req, req.params.id, 'member');
    return { subscriptions: await s.subscriptions.list({ userId: req.params.id }) };
  });
  app.post('/teams/:id/subscriptions', { onRequest: requireUser, schema: { tags, params: Id, body: SubscriptionRequestBody } }, async (req, reply) => {
    await standing(s, req, req.params.id, 'owner');
    // As for a person: active at once, or pending an admin's approval for a restricted model.
    const r = await s.subscriptions.request(req.params.id, req.body.modelId, actor(req));
    if (r.changed) await audit(s.db, actor(req), 'subscription.request', r.subscription.id, { teamId: req.params.id, modelId: req.body.modelId, status: r.subscription.status });
    return reply.code(r.changed ? 201 : 200).send(r.subscription);
  });
  app.get('/teams/:id/api-keys', { onRequest: requireUser, schema: { tags, params: Id } }, async (req) => {
    await standing(s, req, req.params.id, 'member');
    return { apiKeys: await s.keys.listForUser(req.params.id) };
  });
  app.post('/teams/:id/api-keys', { onRequest: requireUser, schema: { tags, params: Id, body: KeyCreateBody } }, async (req, reply) => {
    await standing(s, req, req.params.id, 'member');
    const settings = await s.settings.get();
    const input = enforceKeyMaximums(applyKeyDefaults(req.body, settings), settings, false);
    const k = await s.keys.create(req.params.id, { ...req.body, ...input }, {}, req.principal!.userId);
    await audit(s.db, actor(req), 'api_key.create', k.id, { teamId: req.params.id, ...req.body });
    reply.header('cache-control', 'no-store');
    return reply.code(201).send(k);
  });
};

/** A team's usage (its keys'), for its owners and admins: the same reports as a person's. */
export const teamUsageRoutes = reports('/teams/:id', (s) => async (req) => {
  await requireUser(req, undefined as never);
  await standing(s, req, (req.params as { id: string }).id, 'owner');
}, (req) => (req.params as { id: string }).id);
