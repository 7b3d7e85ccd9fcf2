/**
 * Rotation with a grace period, through the real gateway on PostgreSQL: the
 * new secret works at once, the old one until the grace ends (then 401, with
 * no other change to tell the gateway), and what the old one spends meanwhile
 * is the same key's.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL, provision, settle, startSystem, type System } from './helpers/system.js';
import { Session } from './helpers/session.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('key rotation with a grace period', () => {
  let sys: System;
  beforeAll(async () => { sys = await startSystem('postgres'); });
  afterAll(async () => { await sys?.close(); });

  const chat = (key: string) => fetch(`${sys.url}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], max_tokens: 8 }),
  });

  it('the old secret works during the grace and is refused after it; its usage is the same key\'s', async () => {
    const p = await provision(sys);
    const r = await sys.admin('POST', `/admin/api-keys/${p.keyId}/rotate`, { graceSeconds: 2 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const until = Date.parse(r.body.previousValidUntil);
    expect(until).toBeGreaterThan(Date.now() + 1000);
    expect(until).toBeLessThanOrEqual(Date.now() + 2100);
    expect(r.body.id).toBe(p.keyId);

    const [oldRes, newRes] = await Promise.all([chat(p.key), chat(r.body.key)]);
    expect(oldRes.status).toBe(200);
    expect(newRes.status).toBe(200);
    const oldId = oldRes.headers.get('x-request-id');

    // View key shows when the previous secret stops.
    const shown = await sys.admin('GET', `/admin/api-keys/${p.keyId}`);
    expect(shown.body.previousValidUntil).toBe(r.body.previousValidUntil);

    await sleep(Math.max(0, until - Date.now()) + 200);
    const after = await chat(p.key);
    expect(after.status).toBe(401);
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
    expect((await chat(r.body.key)).status).toBe(200);
    expect((await sys.admin('GET', `/admin/api-keys/${p.keyId}`)).body.previousValidUntil).toBeNull();

    // Billed to the same key and owner.
    await settle(sys);
    const db = new pg.Client({ connectionString: sys.databaseUrl });
    await db.connect();
    try {
      const e = await db.query('select key_id, user_id, status from usage_events where id = $1', [oldId]);
      expect(e.rows[0]).toMatchObject({ key_id: p.keyId, user_id: p.userId, status: 200 });
    } finally { await db.end(); }
    const usage = await sys.admin('GET', `/admin/usage/summary?groupBy=key&userId=${p.userId}`);
    expect(usage.body.rows.find((x: { keyId: string }) => x.keyId === p.keyId)?.requests).toBe(3);
  });

  it('with no grace the old secret is refused at once; revoking during a grace stops both', async () => {
    const p = await provision(sys);
    const r = await sys.admin('POST', `/admin/api-keys/${p.keyId}/rotate`, { graceSeconds: 0 });
    expect(r.status).toBe(200);
    expect(r.body.previousValidUntil).toBeNull();
    expect((await chat(p.key)).status).toBe(401);
    expect((await chat(r.body.key)).status).toBe(200);

    const g = await sys.admin('POST', `/admin/api-keys/${p.keyId}/rotate`, { graceSeconds: 3600 });
    expect((await chat(r.body.key)).status).toBe(200);
    // A second rotation: only the secret just replaced keeps a grace.
    const g2 = await sys.admin('POST', `/admin/api-keys/${p.keyId}/rotate`, { graceSeconds: 3600 });
    expect((await chat(r.body.key)).status).toBe(401);
    expect((await chat(g.body.key)).status).toBe(200);
    expect((await chat(g2.body.key)).status).toBe(200);
    await sys.admin('DELETE', `/admin/api-keys/${p.keyId}`);
    expect((await chat(g.body.key)).status).toBe(401);
    expect((await chat(g2.body.key)).status).toBe(401);
  });

  it('refuses a grace outside 0 … 7 days, naming graceSeconds', async () => {
    const p = await provision(sys);
    for (const graceSeconds of [-1, 7 * 24 * 3600 + 1, 'soon', 1.5]) {
      const r = await sys.admin('POST', `/admin/api-keys/${p.keyId}/rotate`, { graceSeconds });
      expect(r.status, String(graceSeconds)).toBe(400);
      expect(r.body.error.field).toBe('graceSeconds');
      expect(r.body.error.message).toContain('graceSeconds');
    }
    // No body at all: rotated, no grace.
    const res = await fetch(`${sys.url}/api/v1/admin/api-keys/${p.keyId}/rotate`, { method: 'POST', headers: { authorization: `Bearer ${sys.adminToken}` } });
    expect(res.status).toBe(200);
    expect((await chat(p.key)).status).toBe(401);
  });

  it('the owner rotates their own key with a grace from the portal', async () => {
    const username = `owner${Date.now()}`;
    const p = await provision(sys, { username });
    expect((await sys.admin('PATCH', `/admin/users/${p.userId}`, { password: 'correct horse battery' })).status).toBe(200);
    const me = await Session.signIn(sys.url, username, 'correct horse battery');
    const bad = await me.call('POST', `/api-keys/${p.keyId}/rotate`, { graceSeconds: 8 * 24 * 3600 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('graceSeconds');
    const r = await me.call('POST', `/api-keys/${p.keyId}/rotate`, { graceSeconds: 600 });
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect((await chat(p.key)).status).toBe(200);
    expect((await chat(r.body.key)).status).toBe(200);
    const listed = await me.call('GET', '/api-keys');
    expect(Date.parse(listed.body.apiKeys[0].previousValidUntil)).toBeGreaterThan(Date.now() + 590_000);
    const a = await sys.admin('GET', `/admin/audit?action=api_key.rotate&target=${p.keyId}`);
    expect(a.body.entries[0]).toMatchObject({ actor: username, details: { graceSeconds: 600 } });
  });
});
