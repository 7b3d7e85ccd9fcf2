/**
 * The portal API as people use it: sign-in, CSRF, catalog and subscriptions
 * (with approval), their own keys (reveal, rotate, revoke, limits), usage
 * reports and export, and the authorization matrix of every route for
 * anonymous, owner, other user, admin-readonly and admin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { sql } from 'kysely';
import { MODEL, PRICES, settle, startSystem, type System } from './helpers/system.js';
import { Session, anonymous } from './helpers/session.js';

const RESTRICTED = 'Restricted-70B';
const PW = 'correct horse battery';

let sys: System;
let alice: Session, bob: Session, ro: Session, adm: Session;
const ids: Record<string, string> = {};

async function user(username: string, roles: string[] = ['user']): Promise<Session> {
  const r = await sys.admin('POST', '/admin/users', { username, password: PW, roles });
  expect(r.status).toBe(201);
  ids[username] = r.body.id;
  return Session.signIn(sys.url, username, PW);
}

beforeAll(async () => {
  sys = await startSystem('postgres');
  const dep = [{ url: `${sys.sim.url}/v1`, upstreamModel: 'llama32-fp8' }];
  expect((await sys.admin('POST', '/admin/models', { id: MODEL, ...PRICES, contextLength: 8192, deployments: dep })).status).toBe(201);
  expect((await sys.admin('POST', '/admin/models', { id: RESTRICTED, ...PRICES, restricted: true, deployments: dep })).status).toBe(201);
  alice = await user('alice');
  bob = await user('bob');
  ro = await user('auditor', ['admin-readonly', 'user']);
  adm = await user('root', ['admin', 'user']);
});
afterAll(async () => { await sys?.close(); });

describe('sign-in', () => {
  it('sets an httpOnly session cookie and a readable CSRF cookie, and /auth/me says who', async () => {
    const s = new Session(sys.url);
    const r = await s.call('POST', '/api/auth/login', { username: 'alice', password: PW });
    expect(r.status).toBe(200);
    const cookies = r.headers.getSetCookie();
    const session = cookies.find((c) => c.startsWith('litemaas_session='))!;
    const csrf = cookies.find((c) => c.startsWith('litemaas_csrf='))!;
    expect(session).toMatch(/HttpOnly/i);
    expect(session).toMatch(/SameSite=Lax/i);
    expect(csrf).not.toMatch(/HttpOnly/i);
    const me = await s.call('GET', '/auth/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ username: 'alice', roles: ['user'], authMethod: 'password', budget: { spend: 0 } });
    expect(me.body).not.toHaveProperty('passwordHash');
  });

  it('refuses a wrong password with 401, then rate-limits the name after repeated failures', async () => {
    await user('carol');
    const s = anonymous(sys.url);
    const wrong = await s.call('POST', '/api/auth/login', { username: 'carol', password: 'nope-nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.message).toBe('Wrong username or password.');
    for (let i = 0; i < 4; i++) await s.call('POST', '/api/auth/login', { username: 'carol', password: 'nope-nope' });
    const locked = await s.call('POST', '/api/auth/login', { username: 'carol', password: PW });
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe('rate_limited');
    expect(locked.headers.get('retry-after')).toMatch(/^\d+$/);
    // An unknown name is refused exactly like a wrong password (no user enumeration).
    const unknown = await s.call('POST', '/api/auth/login', { username: 'nobody', password: PW });
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.message).toBe('Wrong username or password.');
  });

  it('logout ends the session on the server, not only in the browser', async () => {
    const s = await Session.signIn(sys.url, 'bob', PW);
    const token = s.cookie('litemaas_session')!;
    expect((await s.call('POST', '/api/auth/logout')).status).toBe(204);
    const replay = await fetch(`${sys.url}/api/v1/auth/me`, { headers: { cookie: `litemaas_session=${token}` } });
    expect(replay.status).toBe(401);
  });

  it('a disabled account is signed out at once and cannot sign in', async () => {
    const dave = await user('dave');
    expect((await dave.call('GET', '/auth/me')).status).toBe(200);
    expect((await sys.admin('PATCH', `/admin/users/${ids.dave}`, { disabled: true })).status).toBe(200);
    expect((await dave.call('GET', '/auth/me')).status).toBe(401);
    const again = await anonymous(sys.url).call('POST', '/api/auth/login', { username: 'dave', password: PW });
    expect(again.status).toBe(403);
    expect(again.body.error.message).toMatch(/disabled/);
  });

  it('state-changing calls with the session cookie need the CSRF header', async () => {
    const none = await alice.call('POST', '/subscriptions', { modelId: MODEL }, { csrf: null });
    expect(none.status).toBe(403);
    expect(none.body.error.code).toBe('csrf_failed');
    const wrong = await alice.call('POST', '/subscriptions', { modelId: MODEL }, { csrf: 'forged' });
    expect(wrong.status).toBe(403);
    // The admin token carries no ambient credential, so it needs none.
    expect((await sys.admin('GET', '/admin/settings')).status).toBe(200);
  });
});

describe('a person subscribes, creates a key, uses it and sees the usage', () => {
  it('lists the catalog with prices and the caller\'s subscription state', async () => {
    const r = await alice.call('GET', '/models');
    expect(r.status).toBe(200);
    const m = r.body.models.find((x: any) => x.id === MODEL);
    expect(m).toMatchObject({ inputPricePer1M: 0.15, outputPricePer1M: 0.6, contextLength: 8192, restricted: false, subscription: null });
    expect(m).not.toHaveProperty('deployments');
    expect(r.body.models.find((x: any) => x.id === RESTRICTED).restricted).toBe(true);
  });

  it('subscribes at once to an open model, and a restricted one waits for approval', async () => {
    const open = await alice.call('POST', '/subscriptions', { modelId: MODEL });
    expect(open.status).toBe(201);
    expect(open.body.status).toBe('active');
    ids.aliceSub = open.body.id;
    const again = await alice.call('POST', '/subscriptions', { modelId: MODEL });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(open.body.id);

    const restricted = await alice.call('POST', '/subscriptions', { modelId: RESTRICTED });
    expect(restricted.status).toBe(201);
    expect(restricted.body.status).toBe('pending');
    ids.aliceRestricted = restricted.body.id;
    const early = await alice.call('POST', '/api-keys', { name: 'too-early', models: [RESTRICTED] });
    expect(early.status).toBe(400);
    expect(early.body.error.field).toBe('models');

    const pending = await adm.call('GET', '/admin/subscriptions?status=pending');
    expect(pending.body.subscriptions.map((x: any) => [x.username, x.modelId])).toContainEqual(['alice', RESTRICTED]);
    const denied = await adm.call('POST', `/admin/subscriptions/${ids.aliceRestricted}/deny`, { reason: 'Only for the research team' });
    expect(denied.body).toMatchObject({ status: 'denied', reason: 'Only for the research team', decidedBy: 'root' });
    const again2 = await alice.call('POST', '/subscriptions', { modelId: RESTRICTED });
    expect(again2.body.status).toBe('pending');
    const approved = await adm.call('POST', `/admin/subscriptions/${ids.aliceRestricted}/approve`, {});
    expect(approved.body.status).toBe('active');
    const mine = await alice.call('GET', '/subscriptions');
    expect(mine.body.subscriptions.map((x: any) => x.status).sort()).toEqual(['active', 'active']);
  });

  it('creates canopy-experiments, reveals the same key, and the gateway accepts it', async () => {
    const created = await alice.call('POST', '/api-keys', { name: 'canopy-experiments', description: 'Canopy backend in my namespace', models: [MODEL] });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    expect(created.body.key).toMatch(/^sk-[A-Za-z0-9_-]{43}$/);
    expect(created.body.prefix).toBe(`${created.body.key.slice(0, 7)}…${created.body.key.slice(-4)}`);
    ids.key = created.body.id;
    const listed = await alice.call('GET', '/api-keys');
    expect(listed.body.apiKeys).toHaveLength(1);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.key);

    const revealed = await alice.call('POST', `/api-keys/${ids.key}/reveal`);
    expect(revealed.status).toBe(200);
    expect(revealed.body.key).toBe(created.body.key);
    expect(revealed.headers.get('cache-control')).toBe('no-store');

    const client = new OpenAI({ baseURL: `${sys.url}/v1`, apiKey: revealed.body.key });
    for (let i = 0; i < 3; i++) {
      const c = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: `Summarise request ${i}` }], max_tokens: 20 });
      expect(c.usage!.total_tokens).toBeGreaterThan(0);
    }
    await settle(sys);
    const today = new Date().toISOString().slice(0, 10);
    const sum = await alice.call('GET', `/usage/summary?groupBy=key&from=${today}&to=${today}`);
    expect(sum.status).toBe(200);
    expect(sum.body.rows).toHaveLength(1);
    expect(sum.body.rows[0]).toMatchObject({ keyId: ids.key, keyName: 'canopy-experiments', requests: 3, errors: 0 });
    expect(sum.body.totals.cost).toBeGreaterThan(0);
    expect(sum.body.totals.totalTokens).toBe(sum.body.totals.promptTokens + sum.body.totals.completionTokens);
    const events = await sys.server.store.db.selectFrom('usage_events').select(sql<string>`sum(cost)::numeric(28,12)::text`.as('c')).where('key_id', '=', ids.key).executeTakeFirstOrThrow();
    expect(sum.body.totals.costExact).toBe(events.c);
    const key = await alice.call('GET', `/api-keys/${ids.key}`);
    expect(key.body.spendExact).toBe(events.c);
    const list = await alice.call('GET', '/api-keys');
    expect(list.body.apiKeys.find((k: any) => k.id === ids.key).spendExact).toBe(events.c);
  });

  it('gives a zero-filled daily series and exports CSV and JSON', async () => {
    const today = new Date();
    const from = new Date(today.getTime() - 6 * 86_400_000).toISOString().slice(0, 10);
    const to = today.toISOString().slice(0, 10);
    const ts = await alice.call('GET', `/usage/timeseries?from=${from}&to=${to}`);
    expect(ts.body.points).toHaveLength(7);
    expect(ts.body.points[0]).toMatchObject({ day: from, requests: 0, cost: 0 });
    expect(ts.body.points[6]).toMatchObject({ day: to, requests: 3 });

    const csv = await alice.call('GET', `/usage/export?format=csv&groupBy=model&from=${from}&to=${to}`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(/attachment; filename="litemaas-usage-model-/);
    const lines = (csv.body as string).trim().split('\r\n');
    expect(lines[0]).toBe('modelId,requests,errors,promptTokens,completionTokens,totalTokens,cost');
    expect(lines[1]).toMatch(new RegExp(`^${MODEL},3,0,\\d+,\\d+,\\d+,0\\.\\d{12}$`));
    const json = await alice.call('GET', `/usage/export?format=json&groupBy=day&from=${from}&to=${to}`);
    expect(json.body.totals.requests).toBe(3);
  });

  it('rotates: same id and history, the old secret stops working, the new one works', async () => {
    const before = (await alice.call('POST', `/api-keys/${ids.key}/reveal`)).body.key;
    const rotated = await alice.call('POST', `/api-keys/${ids.key}/rotate`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.id).toBe(ids.key);
    expect(rotated.body.key).not.toBe(before);
    const old = await fetch(`${sys.url}/v1/models`, { headers: { authorization: `Bearer ${before}` } });
    expect(old.status).toBe(401);
    const fresh = await fetch(`${sys.url}/v1/models`, { headers: { authorization: `Bearer ${rotated.body.key}` } });
    expect(fresh.status).toBe(200);
    const sum = await alice.call('GET', `/usage/summary?groupBy=key`);
    expect(sum.body.rows.find((r: any) => r.keyId === ids.key).requests).toBe(3);
  });

  it('edits a key (limits, models) and refuses a model without an active subscription, naming the field', async () => {
    const ok = await alice.call('PATCH', `/api-keys/${ids.key}`, { rpm: 60, description: 'edited', models: [MODEL, RESTRICTED] });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ rpm: 60, description: 'edited', models: [MODEL, RESTRICTED] });
    const bad = await bob.call('POST', '/api-keys', { name: 'x', models: [MODEL] });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'validation_error', field: 'models' });
    const noName = await alice.call('POST', '/api-keys', { models: [MODEL] });
    expect(noName.status).toBe(400);
    expect(noName.body.error.field).toBe('name');
    const past = await alice.call('POST', '/api-keys', { name: 'old', models: [MODEL], expiresAt: '2020-01-01T00:00:00Z' });
    expect(past.body.error.field).toBe('expiresAt');
  });

  it('asks for a recent sign-in before showing a key', async () => {
    await sys.server.store.db.updateTable('sessions').set({ authenticated_at: new Date(Date.now() - 60 * 60_000) })
      .where('user_id', '=', ids.alice!).execute();
    const r = await alice.call('POST', `/api-keys/${ids.key}/reveal`);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('reauth_required');
    alice = await Session.signIn(sys.url, 'alice', PW);
    expect((await alice.call('POST', `/api-keys/${ids.key}/reveal`)).status).toBe(200);
  });

  it('holds a person\'s own keys to the admin\'s maximums and fills the defaults', async () => {
    const put = await adm.call('PUT', '/admin/settings', {
      currency: 'EUR',
      keyDefaults: { budgetPeriod: 'monthly', maxBudget: 5, rpm: null, tpm: null, expiresInDays: 30 },
      keyMaximums: { maxBudget: 10, rpm: 100, tpm: null, expiresInDays: 90 },
    });
    expect(put.status).toBe(200);
    const tooFast = await alice.call('POST', '/api-keys', { name: 'fast', models: [MODEL], rpm: 500 });
    expect(tooFast.status).toBe(400);
    expect(tooFast.body.error.field).toBe('rpm');
    const tooLong = await alice.call('POST', '/api-keys', { name: 'long', models: [MODEL], expiresAt: new Date(Date.now() + 200 * 86_400_000).toISOString() });
    expect(tooLong.body.error.field).toBe('expiresAt');
    const dflt = await alice.call('POST', '/api-keys', { name: 'defaults', models: [MODEL] });
    expect(dflt.status).toBe(201);
    expect(dflt.body).toMatchObject({ maxBudget: 5, budgetPeriod: 'monthly', rpm: 100 });
    const days = (Date.parse(dflt.body.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThan(30.1);
    expect((await anonymous(sys.url).call('GET', '/config')).body.currency).toBe('EUR');
    const bad = await adm.call('PUT', '/admin/settings', { ...put.body, currency: 'EURO' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('currency');
    await adm.call('PUT', '/admin/settings', { ...put.body, currency: 'USD', keyDefaults: { ...put.body.keyDefaults, maxBudget: null, expiresInDays: null }, keyMaximums: { maxBudget: null, rpm: null, tpm: null, expiresInDays: null } });
    await alice.call('DELETE', `/api-keys/${dflt.body.id}`);
  });
});

describe('admin', () => {
  it('tests an upstream configuration with a real call, and says what is wrong', async () => {
    const ok = await adm.call('POST', '/admin/models/test', { url: `${sys.sim.url}/v1`, upstreamModel: 'llama32-fp8' });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ ok: true, status: 200 });
    expect(ok.body.reply.length).toBeGreaterThan(0);
    const refused = await adm.call('POST', '/admin/models/test', { url: 'http://127.0.0.1:9/v1', upstreamModel: 'x' });
    expect(refused.body).toMatchObject({ ok: false, status: null });
    expect(refused.body.message).toMatch(/connection refused/);
    const bad = await adm.call('POST', '/admin/models/test', { url: 'not a url', upstreamModel: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('url');
  });

  it('sees everyone\'s usage by user, and the audit log records mutations without secrets', async () => {
    const byUser = await ro.call('GET', '/admin/usage/summary?groupBy=user');
    expect(byUser.status).toBe(200);
    expect(byUser.body.rows.find((r: any) => r.username === 'alice').requests).toBe(3);
    const series = await ro.call('GET', `/admin/usage/timeseries?userId=${ids.alice}`);
    expect(series.body.totals.requests).toBe(3);
    const log = await ro.call('GET', '/admin/audit?limit=500');
    const actions = log.body.entries.map((e: any) => e.action);
    for (const a of ['auth.login', 'api_key.create', 'api_key.reveal', 'api_key.rotate', 'subscription.approve', 'subscription.deny', 'settings.update', 'model.test']) expect(actions).toContain(a);
    const text = JSON.stringify(log.body);
    expect(text).not.toMatch(/sk-[A-Za-z0-9_-]{43}/);
    expect(text).not.toContain(PW);
    const page = await ro.call('GET', '/admin/audit?limit=2');
    expect(page.body.entries).toHaveLength(2);
    const next = await ro.call('GET', `/admin/audit?limit=2&before=${page.body.next}`);
    expect(Number(next.body.entries[0].id)).toBeLessThan(Number(page.body.entries[1].id) + 1);
  });
});

describe('authorization matrix', () => {
  type Who = 'anonymous' | 'owner' | 'other' | 'readonly' | 'admin';
  const who = (): Record<Who, Session> => ({ anonymous: anonymous(sys.url), owner: alice, other: bob, readonly: ro, admin: adm });
  // Expected status per caller. A person's own routes answer 404 for anyone else's resource (not 403: no existence leak).
  const cases: Array<[string, string, () => unknown, Record<Who, number>]> = [
    ['GET', '/api-keys/:key', () => undefined, { anonymous: 401, owner: 200, other: 404, readonly: 404, admin: 404 }],
    ['PATCH', '/api-keys/:key', () => ({ description: 'x' }), { anonymous: 401, owner: 200, other: 404, readonly: 404, admin: 404 }],
    ['POST', '/api-keys/:key/reveal', () => undefined, { anonymous: 401, owner: 200, other: 404, readonly: 404, admin: 404 }],
    ['POST', '/api-keys/:key/rotate', () => undefined, { anonymous: 401, owner: 200, other: 404, readonly: 404, admin: 404 }],
    ['POST', '/subscriptions/:sub/cancel', () => undefined, { anonymous: 401, owner: 200, other: 404, readonly: 404, admin: 404 }],
    ['GET', '/api-keys', () => undefined, { anonymous: 401, owner: 200, other: 200, readonly: 200, admin: 200 }],
    ['GET', '/models', () => undefined, { anonymous: 401, owner: 200, other: 200, readonly: 200, admin: 200 }],
    ['GET', '/usage/summary', () => undefined, { anonymous: 401, owner: 200, other: 200, readonly: 200, admin: 200 }],
    ['GET', '/usage/timeseries', () => undefined, { anonymous: 401, owner: 200, other: 200, readonly: 200, admin: 200 }],
    ['GET', '/usage/export', () => undefined, { anonymous: 401, owner: 200, other: 200, readonly: 200, admin: 200 }],
    ['GET', '/subscriptions', () => undefined, { anonymous: 401, owner: 200, other: 200, readonly: 200, admin: 200 }],
    ['GET', '/auth/me', () => undefined, { anonymous: 401, owner: 200, other: 200, readonly: 200, admin: 200 }],
    ['GET', '/config', () => undefined, { anonymous: 200, owner: 200, other: 200, readonly: 200, admin: 200 }],
    ['GET', '/admin/users', () => undefined, { anonymous: 401, owner: 403, other: 403, readonly: 200, admin: 200 }],
    ['GET', '/admin/users/:alice/api-keys', () => undefined, { anonymous: 401, owner: 403, other: 403, readonly: 200, admin: 200 }],
    ['GET', '/admin/api-keys/:key', () => undefined, { anonymous: 401, owner: 403, other: 403, readonly: 200, admin: 200 }],
    ['PATCH', '/admin/users/:bob', () => ({ rpm: 1000 }), { anonymous: 401, owner: 403, other: 403, readonly: 403, admin: 200 }],
    ['POST', '/admin/users', () => ({ username: `u${Math.random().toString(36).slice(2)}` }), { anonymous: 401, owner: 403, other: 403, readonly: 403, admin: 201 }],
    ['GET', '/admin/subscriptions', () => undefined, { anonymous: 401, owner: 403, other: 403, readonly: 200, admin: 200 }],
    ['POST', '/admin/subscriptions/:restricted/approve', () => ({}), { anonymous: 401, owner: 403, other: 403, readonly: 403, admin: 200 }],
    ['GET', '/admin/usage/summary', () => undefined, { anonymous: 401, owner: 403, other: 403, readonly: 200, admin: 200 }],
    ['GET', '/admin/usage/export', () => undefined, { anonymous: 401, owner: 403, other: 403, readonly: 200, admin: 200 }],
    ['GET', '/admin/audit', () => undefined, { anonymous: 401, owner: 403, other: 403, readonly: 200, admin: 200 }],
    ['GET', '/admin/settings', () => undefined, { anonymous: 401, owner: 403, other: 403, readonly: 200, admin: 200 }],
    ['PUT', '/admin/settings', () => ({ currency: 'USD', keyDefaults: { budgetPeriod: 'monthly', maxBudget: null, rpm: null, tpm: null, expiresInDays: null }, keyMaximums: { maxBudget: null, rpm: null, tpm: null, expiresInDays: null } }), { anonymous: 401, owner: 403, other: 403, readonly: 403, admin: 200 }],
    ['GET', '/admin/usage/timeseries', () => undefined, { anonymous: 401, owner: 403, other: 403, readonly: 200, admin: 200 }],
    ['GET', '/admin/users/:alice/subscriptions', () => undefined, { anonymous: 401, owner: 403, other: 403, readonly: 200, admin: 200 }],
    ['POST', '/admin/users/:bob/subscriptions', () => ({ modelId: MODEL }), { anonymous: 401, owner: 403, other: 403, readonly: 403, admin: 201 }],
    ['POST', '/admin/subscriptions/:restricted/deny', () => ({ reason: 'no' }), { anonymous: 401, owner: 403, other: 403, readonly: 403, admin: 200 }],
    ['PATCH', '/admin/api-keys/:key', () => ({ description: 'by admin' }), { anonymous: 401, owner: 403, other: 403, readonly: 403, admin: 200 }],
    ['GET', '/admin/models', () => undefined, { anonymous: 401, owner: 403, other: 403, readonly: 200, admin: 200 }],
    ['PUT', `/admin/models/${RESTRICTED}`, () => ({ ...PRICES, restricted: true, deployments: [{ url: `${sys.sim.url}/v1`, upstreamModel: 'llama32-fp8' }] }), { anonymous: 401, owner: 403, other: 403, readonly: 403, admin: 200 }],
    ['POST', '/admin/models/test', () => ({ url: `${sys.sim.url}/v1`, upstreamModel: 'llama32-fp8' }), { anonymous: 401, owner: 403, other: 403, readonly: 403, admin: 200 }],
    ['POST', '/admin/api-keys/:key/rotate', () => undefined, { anonymous: 401, owner: 403, other: 403, readonly: 403, admin: 200 }],
  ];

  it.each(cases)('%s %s', async (method, path, body, expected) => {
    const p = path.replace(':key', ids.key!).replace(':sub', ids.aliceSub!).replace(':alice', ids.alice!).replace(':bob', ids.bob!).replace(':restricted', ids.aliceRestricted!);
    const got: Record<string, number> = {};
    for (const [name, s] of Object.entries(who())) got[name] = (await s.call(method, p, body())).status;
    expect(got).toEqual(expected);
    if (p.includes('/cancel')) await adm.call('POST', `/admin/users/${ids.alice}/subscriptions`, { modelId: MODEL });
  });

  it('every route of the OpenAPI document refuses anonymous callers, and every admin route refuses a plain user', async () => {
    const spec = await (await fetch(`${sys.url}/docs/json`)).json() as { paths: Record<string, Record<string, unknown>> };
    // Public by design: signing in, the client config and the brand's images (the login page shows them).
    const open = new Set(['/api/v1/config', '/api/auth/login', '/api/auth/logout', '/api/auth/oidc/login', '/api/auth/oidc/callback',
      '/api/auth/openshift/login', '/api/auth/openshift/callback', '/api/v1/brand/logo', '/api/v1/brand/favicon']);
    let checked = 0;
    for (const [path, methods] of Object.entries(spec.paths)) {
      if (open.has(path) || !path.startsWith('/api/')) continue;
      const concrete = path.replace(/\{id\}/g, ids.key!).replace(/^\/api\/v1/, '');
      for (const method of Object.keys(methods).map((m) => m.toUpperCase())) {
        if (method === 'HEAD') continue;
        const body = method === 'GET' || method === 'DELETE' ? undefined : {};
        const anon = await anonymous(sys.url).call(method, concrete, body);
        expect(anon.status, `${method} ${path} anonymous`).toBe(401);
        if (path.startsWith('/api/v1/admin/')) {
          const u = await bob.call(method, concrete, body);
          expect(u.status, `${method} ${path} as a plain user`).toBe(403);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('a person never sees another person\'s usage, whatever filters they send', async () => {
    const r = await bob.call('GET', `/usage/summary?groupBy=key&keys=${ids.key}&userId=${ids.alice}`);
    expect(r.status).toBe(200);
    expect(r.body.totals.requests).toBe(0);
    const byUser = await bob.call('GET', '/usage/summary?groupBy=user');
    expect(byUser.status).toBe(400);
    expect(byUser.body.error.field).toBe('groupBy');
    const csv = await bob.call('GET', `/usage/export?format=csv&groupBy=key&userId=${ids.alice}`);
    expect(csv.body).not.toContain(ids.key);
  });

  it('the admin token acts as admin but for no user', async () => {
    expect((await sys.admin('GET', '/admin/users')).status).toBe(200);
    const mine = await sys.admin('GET', '/api-keys');
    expect(mine.status).toBe(403);
    expect(mine.body.error.message).toMatch(/admin\/users\/:id/);
  });

  it('revoking from the portal stops the key at the gateway', async () => {
    const key = (await alice.call('POST', `/api-keys/${ids.key}/reveal`)).body.key;
    expect((await bob.call('DELETE', `/api-keys/${ids.key}`)).status).toBe(404);
    const r = await alice.call('DELETE', `/api-keys/${ids.key}`);
    expect(r.body.status).toBe('revoked');
    const g = await fetch(`${sys.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    expect(g.status).toBe(401);
    expect((await alice.call('POST', `/api-keys/${ids.key}/reveal`)).status).toBe(400);
  });
});

describe('documentation and UI', () => {
  it('serves the OpenAPI document and its UI at /docs', async () => {
    const spec = await (await fetch(`${sys.url}/docs/json`)).json() as { paths: Record<string, unknown> };
    for (const p of ['/api/v1/api-keys', '/api/v1/api-keys/{id}/reveal', '/api/v1/usage/timeseries', '/api/v1/admin/settings', '/api/auth/login']) expect(spec.paths).toHaveProperty([p]);
    const html = await fetch(`${sys.url}/docs/`);
    expect(html.status).toBe(200);
    expect(await html.text()).toMatch(/swagger/i);
  });

  it('answers the UI for client-side routes and JSON 404s for unknown API paths', async () => {
    const root = await fetch(`${sys.url}/`);
    expect(root.status).toBe(200);
    expect(await root.text()).toContain('<div id="root">');
    const page = await fetch(`${sys.url}/usage`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('<div id="root">');
    const api = await fetch(`${sys.url}/api/v1/nope`);
    expect(api.status).toBe(404);
    expect((await api.json() as any).error.code).toBe('not_found');
  });
});
