/**
 * Admin API tokens on PostgreSQL: created by an admin, shown once, stored
 * hashed, scoped (admin, admin-readonly, a team), expiring, revocable, and
 * named as the actor in the audit log.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provision, startSystem, type System } from './helpers/system.js';

describe('admin API tokens', () => {
  let sys: System;
  let db: pg.Client;
  beforeAll(async () => {
    sys = await startSystem('postgres');
    await provision(sys);
    db = new pg.Client({ connectionString: sys.databaseUrl });
    await db.connect();
  });
  afterAll(async () => { await db?.end(); await sys?.close(); });

  const as = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${sys.url}/api/v1${path}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const create = async (body: Record<string, unknown>) => {
    const r = await sys.admin('POST', '/admin/tokens', body);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { id: string; token: string; name: string; scope: string; prefix: string };
  };

  it('an admin token works on admin reads and writes, and is stored only as a hash', async () => {
    const t = await create({ name: 'ci-pipeline', scope: 'admin' });
    expect(t.token).toMatch(/^lmt_[A-Za-z0-9_-]{43}$/);
    expect(t.scope).toBe('admin');
    expect((await as(t.token, 'GET', '/admin/users')).status).toBe(200);
    const u = await as(t.token, 'POST', '/admin/users', { username: `made-by-token-${Date.now()}` });
    expect(u.status).toBe(201);

    const rows = await db.query('select * from admin_tokens where id = $1', [t.id]);
    expect(rows.rows).toHaveLength(1);
    expect(JSON.stringify(rows.rows[0])).not.toContain(t.token.slice(4));
    expect(rows.rows[0].last_used_at).not.toBeNull();

    // The audit log says which token did it.
    const a = await sys.admin('GET', `/admin/audit?action=user.create&target=${u.body.id}`);
    expect(a.body.entries[0]?.actor).toBe('token:ci-pipeline');
    const made = await sys.admin('GET', `/admin/audit?action=admin_token.create&target=${t.id}`);
    expect(made.body.entries[0]).toMatchObject({ actor: 'admin-token', details: { name: 'ci-pipeline', scope: 'admin' } });
    expect(JSON.stringify(made.body.entries[0])).not.toContain(t.token);

    // A full admin token may itself create tokens.
    expect((await as(t.token, 'POST', '/admin/tokens', { name: 'child', scope: 'admin-readonly' })).status).toBe(201);
  });

  it('listing never shows the token, only its prefix and last use', async () => {
    const t = await create({ name: 'lister', scope: 'admin-readonly' });
    await as(t.token, 'GET', '/admin/models');
    const r = await sys.admin('GET', '/admin/tokens');
    expect(r.status).toBe(200);
    expect(JSON.stringify(r.body)).not.toContain(t.token);
    expect(JSON.stringify(r.body)).not.toMatch(/"token"/);
    const mine = r.body.tokens.find((x: { id: string }) => x.id === t.id);
    expect(mine).toMatchObject({ name: 'lister', scope: 'admin-readonly', status: 'active', prefix: t.prefix });
    expect(mine.prefix).toMatch(/^lmt_.{4}….{4}$/);
    expect(mine.lastUsedAt).not.toBeNull();
  });

  it('an admin-readonly token reads but changes nothing', async () => {
    const t = await create({ name: 'dashboards', scope: 'admin-readonly' });
    for (const p of ['/admin/users', '/admin/models', '/admin/audit', '/admin/settings', '/admin/tokens', '/admin/usage/summary']) {
      expect((await as(t.token, 'GET', p)).status, p).toBe(200);
    }
    const users = await sys.admin('GET', '/admin/users');
    const someone = users.body.users?.[0]?.id ?? users.body[0]?.id;
    const writes: Array<[string, string, unknown]> = [
      ['POST', '/admin/users', { username: 'nope-readonly' }],
      ['PUT', '/admin/settings', {}],
      ['PATCH', `/admin/users/${someone}`, { rpm: 5 }],
      ['DELETE', '/admin/models/whatever', undefined],
      ['POST', '/admin/tokens', { name: 'escalate', scope: 'admin' }],
      ['DELETE', `/admin/tokens/${t.id}`, undefined],
    ];
    for (const [m, p, b] of writes) {
      const r = await as(t.token, m, p, b);
      expect(r.status, `${m} ${p}`).toBe(403);
      expect(r.body.error.code).toBe('forbidden');
    }
  });

  it('a team-scoped token is refused on every admin route but its team\'s, saying so', async () => {
    const team = (await sys.admin('POST', '/admin/teams', { name: 'team-42' })).body.id as string;
    const t = await create({ name: 'team-bot', scope: 'team', teamId: team });
    for (const [m, p] of [['GET', '/admin/users'], ['GET', '/admin/audit'], ['POST', '/admin/users'], ['GET', '/admin/tokens']] as const) {
      const r = await as(t.token, m, p, m === 'POST' ? { username: 'x' } : undefined);
      expect(r.status, `${m} ${p}`).toBe(403);
      expect(r.body.error.message).toContain(`scoped to team '${team}'`);
    }
    // It acts for no user either.
    expect((await as(t.token, 'GET', '/api-keys')).status).toBe(403);
  });

  it('an expired token and a revoked token answer 401', async () => {
    const t = await create({ name: 'short-lived', scope: 'admin', expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect((await as(t.token, 'GET', '/admin/users')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1600));
    const expired = await as(t.token, 'GET', '/admin/users');
    expect(expired.status).toBe(401);
    expect(expired.body.error.message).toMatch(/expired/);

    const v = await create({ name: 'to-revoke', scope: 'admin' });
    expect((await as(v.token, 'GET', '/admin/users')).status).toBe(200);
    const del = await sys.admin('DELETE', `/admin/tokens/${v.id}`);
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ status: 'revoked', name: 'to-revoke' });
    const revoked = await as(v.token, 'GET', '/admin/users');
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.message).toMatch(/revoked/);
    const a = await sys.admin('GET', `/admin/audit?action=admin_token.revoke&target=${v.id}`);
    expect(a.body.entries).toHaveLength(1);
    // An unknown lmt_ token is just not signed in; the bootstrap token still works.
    expect((await as('lmt_' + 'x'.repeat(43), 'GET', '/admin/users')).status).toBe(401);
    expect((await sys.admin('GET', '/admin/users')).status).toBe(200);
    expect((await sys.admin('DELETE', '/admin/tokens/nope')).status).toBe(404);
  });

  it('bad input is a 400 naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ name: 'x', scope: 'root' }, 'scope'],
      [{ name: '', scope: 'admin' }, 'name'],
      [{ name: '   ', scope: 'admin' }, 'name'],
      [{ scope: 'admin' }, 'name'],
      [{ name: 'x', scope: 'admin', expiresAt: '2020-01-01T00:00:00Z' }, 'expiresAt'],
      [{ name: 'x', scope: 'admin', expiresAt: 'tomorrow' }, 'expiresAt'],
      [{ name: 'x', scope: 'team' }, 'teamId'],
      [{ name: 'x', scope: 'admin', teamId: 't1' }, 'teamId'],
    ];
    for (const [body, field] of cases) {
      const r = await sys.admin('POST', '/admin/tokens', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.field, JSON.stringify(body)).toBe(field);
      expect(r.body.error.message).toContain(field);
    }
  });
});
