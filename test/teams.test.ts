/**
 * Teams on PostgreSQL: the admin automation contract, who may do what, team keys that outlive
 * their creator's membership, a person's key charged to a team, usage by team — and a team
 * budget raced by two keys of the team through two replicas sharing one Redis: never overspent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startServer, type Running } from '../src/server.js';
import { loadConfig } from '../src/config.js';
import { fromPico, toPico } from '../src/shared/money.js';
import { startSimulator, type RunningSimulator } from '../src/simulator/server.js';
import { MODEL, provision, startSystem, type System } from './helpers/system.js';
import { Session } from './helpers/session.js';
import { OwnRedis } from './helpers/redis-instance.js';

const OUT = toPico('0.60') / 1_000_000n;

describe('teams', () => {
  let redis: OwnRedis;
  let sys: System;
  let other: Running;
  let slow: RunningSimulator;
  let dir: string;
  let db: pg.Client;

  beforeAll(async () => {
    redis = await OwnRedis.create();
    const cfg = { redisUrl: redis.url, redisFailureMode: 'closed' as const, replicas: 2 };
    sys = await startSystem('postgres', { ttftMs: 0 }, cfg);
    dir = mkdtempSync(join(tmpdir(), 'litemaas-replica-'));
    other = await startServer({ ...loadConfig({}), port: 0, host: '127.0.0.1', dataDir: dir, databaseUrl: sys.databaseUrl, adminToken: sys.adminToken, logLevel: 'silent', flushIntervalMs: 50, reconcileIntervalMs: 30_000, ...cfg });
    db = new pg.Client({ connectionString: sys.databaseUrl });
    await db.connect();
    slow = await startSimulator({ port: 0, host: '127.0.0.1', servedModelName: 'race', ttftMs: 200, quiet: true });
    expect((await sys.admin('POST', '/admin/models', { id: 'race-model', inputPricePer1M: '0', outputPricePer1M: '0.60', deployments: [{ url: `${slow.url}/v1`, upstreamModel: 'race' }] })).status).toBe(201);
    await provision(sys); // creates MODEL
  }, 60_000);
  afterAll(async () => {
    await db?.end();
    await other?.close();
    await sys?.close();
    await slow?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await redis?.stop();
  });

  const content = 'Every request in this race asks for the same long answer so that it always uses all of its tokens. '.repeat(3);
  async function post(url: string, key: string, model = 'race-model') {
    const res = await fetch(url + '/v1/chat/completions', {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content }], max_tokens: 20 }),
    });
    return { status: res.status, body: (await res.json()) as any };
  }
  async function person(name: string) {
    const u = await sys.admin('POST', '/admin/users', { username: name, password: 'correct-horse-9' });
    expect(u.status).toBe(201);
    return { id: u.body.id as string, session: await Session.signIn(sys.url, name, 'correct-horse-9') };
  }

  it('a team budget holds across two keys of the team on two replicas: never overspent, exactly what it covers', async () => {
    const perRequest = 20n * OUT;
    const budget = perRequest * 12n;
    const t = await sys.admin('POST', '/admin/teams', { name: 'race-team', maxBudget: Number(fromPico(budget)), budgetPeriod: 'monthly', rpm: 10_000 });
    expect(t.status).toBe(201);
    expect(t.body).toMatchObject({ id: expect.any(String), name: 'race-team', maxBudget: Number(fromPico(budget)), budgetPeriod: 'monthly', spend: 0 });
    expect((await sys.admin('POST', `/admin/teams/${t.body.id}/subscriptions`, { modelId: 'race-model' })).status).toBe(201);
    const k1 = await sys.admin('POST', `/admin/teams/${t.body.id}/api-keys`, { name: 'app-one', models: ['race-model'] });
    const k2 = await sys.admin('POST', `/admin/teams/${t.body.id}/api-keys`, { name: 'app-two', models: ['race-model'] });
    expect(k1.status).toBe(201);
    expect(k1.body).toMatchObject({ id: expect.any(String), key: expect.stringMatching(/^sk-/), teamId: t.body.id, teamName: 'race-team' });
    await other.gateway.reload();
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => post(i % 2 ? sys.url : other.url, i % 4 < 2 ? k1.body.key : k2.body.key)));
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(12);
    const refused = results.filter((r) => r.status === 429);
    expect(refused).toHaveLength(48);
    expect(refused[0]!.body.error.code).toBe('budget_exceeded');
    expect(refused.every((r) => r.body.error.message.startsWith('The team budget (monthly)'))).toBe(true);
    await Promise.all([sys.server, other].map((s) => s.ledger.drain()));
    const spent = await db.query('select coalesce(sum(cost),0)::text as c, count(distinct key_id)::int as keys from usage_events where key_id = any($1) and status = 200', [[k1.body.id, k2.body.id]]);
    expect(toPico(spent.rows[0].c)).toBe(budget);
    expect(spent.rows[0].keys).toBe(2);
    // The team's spend reads back exact, and the admin usage by team names it.
    const team = await sys.admin('GET', `/admin/teams/${t.body.id}`);
    expect(toPico(team.body.spendExact)).toBe(budget);
    const byTeam = await sys.admin('GET', '/admin/usage/summary?groupBy=team');
    expect(byTeam.status).toBe(200);
    const row = byTeam.body.rows.find((r: any) => r.teamId === t.body.id);
    expect(row).toMatchObject({ teamId: t.body.id, teamName: 'race-team', requests: 12 });
    expect(toPico(row.costExact)).toBe(budget);
    // Elsewhere in the admin reports the team reads as its name, not its internal account.
    const byUser = await sys.admin('GET', '/admin/usage/summary?groupBy=user');
    expect(byUser.body.rows.find((r: any) => r.userId === t.body.id)?.username).toBe('team race-team');
    const subs = await sys.admin('GET', '/admin/subscriptions');
    expect(subs.body.subscriptions.find((s: any) => s.userId === t.body.id)?.username).toBe('team race-team');
    // An admin resets the team's spend: the period counts from zero again, history stays.
    const reset = await sys.admin('POST', `/admin/teams/${t.body.id}/reset-spend`);
    expect(reset.status).toBe(200);
    expect(reset.body.spend).toBe(0);
    await Promise.all([sys.server.gateway.reload(), other.gateway.reload()]);
    expect((await post(other.url, k2.body.key)).status).toBe(200);
    expect((await sys.admin('GET', '/admin/audit?action=team.reset_spend')).body.entries[0]).toMatchObject({ target: t.body.id });
  }, 60_000);

  it('members and owners: outsiders see nothing, members cannot manage, owners can; team keys outlive their creator', async () => {
    const owner = await person('tina-owner');
    const member = await person('mo-member');
    const outsider = await person('oscar-outsider');
    const t = await sys.admin('POST', '/admin/teams', { name: 'Support Bots', maxBudget: 5, budgetPeriod: 'monthly' });
    expect((await sys.admin('POST', `/admin/teams/${t.body.id}/members`, { userId: owner.id, role: 'owner' })).status).toBe(201);
    expect((await sys.admin('POST', `/admin/teams/${t.body.id}/members`, { userId: member.id, role: 'member' })).status).toBe(201);

    // Each sees their own teams with their role; an outsider gets 404, as if it did not exist.
    expect((await owner.session.call('GET', '/api/v1/teams')).body.teams).toEqual([expect.objectContaining({ id: t.body.id, role: 'owner' })]);
    expect((await member.session.call('GET', `/api/v1/teams/${t.body.id}`)).body).toMatchObject({ role: 'member', members: 2 });
    expect((await outsider.session.call('GET', `/api/v1/teams/${t.body.id}`)).status).toBe(404);
    expect((await outsider.session.call('GET', `/api/v1/teams/${t.body.id}/api-keys`)).status).toBe(404);

    // Owners subscribe the team; members may not.
    expect((await member.session.call('POST', `/api/v1/teams/${t.body.id}/subscriptions`, { modelId: MODEL })).status).toBe(403);
    const sub = await owner.session.call('POST', `/api/v1/teams/${t.body.id}/subscriptions`, { modelId: MODEL });
    expect(sub.status).toBe(201);
    expect(sub.body.status).toBe('active');

    // A member creates a key charged to the team (through their own keys page) and sees it listed with the team.
    const mk = await member.session.call('POST', '/api/v1/api-keys', { name: 'member-app', models: [MODEL], teamId: t.body.id });
    expect(mk.status).toBe(201);
    expect(mk.body).toMatchObject({ teamId: t.body.id, teamName: 'Support Bots', createdBy: member.id });
    const mine = (await member.session.call('GET', '/api/v1/api-keys')).body.apiKeys;
    expect(mine.map((k: any) => k.id)).toContain(mk.body.id);
    // An outsider cannot charge a key to the team.
    const ok = await outsider.session.call('POST', '/api/v1/api-keys', { name: 'sneaky', models: [MODEL], teamId: t.body.id });
    expect(ok.status).toBe(400);
    expect(ok.body.error.field ?? ok.body.error.message).toMatch(/teamId/);

    await Promise.all([other.gateway.reload(), sys.server.gateway.reload()]);
    expect((await post(sys.url, mk.body.key, MODEL)).status).toBe(200);

    // The owner manages every team key; another member's key is not the member's to see unless they created it.
    expect((await owner.session.call('GET', `/api/v1/api-keys/${mk.body.id}`)).status).toBe(200);
    expect((await outsider.session.call('GET', `/api/v1/api-keys/${mk.body.id}`)).status).toBe(404);

    // The member leaves: the key is the team's, it keeps working; the ex-member no longer manages it.
    expect((await member.session.call('DELETE', `/api/v1/teams/${t.body.id}/members/${member.id}`)).status).toBe(200);
    expect((await member.session.call('GET', `/api/v1/api-keys/${mk.body.id}`)).status).toBe(404);
    expect((await post(sys.url, mk.body.key, MODEL)).status).toBe(200);
    // An admin disables the team: its keys stop (403), and work again when it is enabled.
    expect((await sys.admin('PATCH', `/admin/teams/${t.body.id}`, { disabled: true })).body.disabled).toBe(true);
    await sys.server.gateway.reload();
    const off = await post(sys.url, mk.body.key, MODEL);
    expect(off.status).toBe(403);
    expect(off.body.error.message).toBe("The key's team is disabled.");
    await sys.admin('PATCH', `/admin/teams/${t.body.id}`, { disabled: false });
    await sys.server.gateway.reload();
    expect((await post(sys.url, mk.body.key, MODEL)).status).toBe(200);
    // The last owner cannot leave a team ownerless.
    const last = await owner.session.call('DELETE', `/api/v1/teams/${t.body.id}/members/${owner.id}`);
    expect(last.status).toBe(400);

    // Usage: the team's keys' usage is the team's, for its owners; not the member's own.
    await sys.server.ledger.drain();
    const usage = await owner.session.call('GET', `/api/v1/teams/${t.body.id}/usage/summary?groupBy=key`);
    expect(usage.status).toBe(200);
    expect(usage.body.rows).toEqual([expect.objectContaining({ keyId: mk.body.id, requests: 3 })]);
    expect((await member.session.call('GET', `/api/v1/teams/${t.body.id}/usage/summary`)).status).toBe(404);
    const memberUsage = await member.session.call('GET', '/api/v1/usage/summary?groupBy=key');
    expect(memberUsage.body.rows).toEqual([]);
  }, 60_000);

  it('an admin API token scoped to a team manages that team only', async () => {
    const a = await sys.admin('POST', '/admin/teams', { name: 'Token Team A' });
    const b = await sys.admin('POST', '/admin/teams', { name: 'Token Team B' });
    expect((await sys.admin('POST', '/admin/tokens', { name: 'team-a-ci', scope: 'team', teamId: 'no-such-team' })).status).toBe(400);
    const tok = await sys.admin('POST', '/admin/tokens', { name: 'team-a-ci', scope: 'team', teamId: a.body.id });
    expect(tok.status).toBe(201);
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(sys.url + '/api/v1' + path, { method, headers: { authorization: `Bearer ${tok.body.token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
      return { status: res.status, body: (await res.json()) as any };
    };
    expect((await call('POST', `/admin/teams/${a.body.id}/subscriptions`, { modelId: MODEL })).status).toBe(201);
    const k = await call('POST', `/admin/teams/${a.body.id}/api-keys`, { name: 'ci-key', models: [MODEL] });
    expect(k.status).toBe(201);
    expect(k.body.teamId).toBe(a.body.id);
    expect((await call('GET', `/admin/teams/${a.body.id}/api-keys`)).body.apiKeys).toHaveLength(1);
    // Not another team, not the team's own budget, not the rest of the admin API.
    expect((await call('GET', `/admin/teams/${b.body.id}/api-keys`)).status).toBe(403);
    expect((await call('PATCH', `/admin/teams/${a.body.id}`, { maxBudget: 1000 })).status).toBe(403);
    expect((await call('GET', '/admin/users')).status).toBe(403);
    expect((await call('GET', '/admin/teams')).status).toBe(403);
    // The audit log names the token.
    const log = await sys.admin('GET', `/admin/audit?target=${k.body.id}`);
    expect(log.body.entries[0]).toMatchObject({ actor: 'token:team-a-ci', action: 'api_key.create' });
  });

  it('a team is not a person: not listed, cannot sign in, and only admins set its limits', async () => {
    const t = await sys.admin('POST', '/admin/teams', { name: 'Platform' });
    const users = (await sys.admin('GET', '/admin/users')).body.users;
    expect(users.find((u: any) => u.id === t.body.id)).toBeUndefined();
    expect((await sys.admin('GET', `/admin/users/${t.body.id}`)).status).toBe(404);
    const login = await fetch(sys.url + '/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: `team:${t.body.id}`, password: 'anything-at-all' }) });
    expect(login.status).toBe(401);

    const owner = await person('pat-owner');
    await sys.admin('POST', `/admin/teams/${t.body.id}/members`, { userId: owner.id, role: 'owner' });
    const raise = await owner.session.call('PATCH', `/api/v1/teams/${t.body.id}`, { maxBudget: 1_000_000 });
    expect(raise.status).toBe(403);
    expect((await owner.session.call('PATCH', `/api/v1/teams/${t.body.id}`, { description: 'Our platform apps' })).body.description).toBe('Our platform apps');

    // People create teams only when settings allow it.
    expect((await owner.session.call('POST', '/api/v1/teams', { name: 'Skunkworks' })).status).toBe(403);
    expect((await sys.admin('PUT', '/admin/settings', { teams: { selfService: true } })).body.teams).toEqual({ selfService: true });
    const own = await owner.session.call('POST', '/api/v1/teams', { name: 'Skunkworks', maxBudget: 99 });
    expect(own.status).toBe(201);
    expect(own.body).toMatchObject({ role: 'owner', maxBudget: null });

    // Clear 400s naming the field; names are unique regardless of case.
    const dup = await sys.admin('POST', '/admin/teams', { name: 'platform' });
    expect(dup.status).toBe(409);
    const bad = await sys.admin('POST', '/admin/teams', { name: 'x', rpm: -1 });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/rpm/);
    const badMember = await sys.admin('POST', `/admin/teams/${t.body.id}/members`, { userId: 'nobody', role: 'owner' });
    expect(badMember.status).toBe(400);
    expect(badMember.body.error.field ?? '').toBe('userId');
  }, 60_000);
});
