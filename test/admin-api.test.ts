/**
 * The provisioning API: bearer-token admin auth, precise 400s naming the
 * field, secrets never echoed or audited, rotation and revocation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL, provision, startSystem, type System } from './helpers/system.js';

describe('admin API', () => {
  let sys: System;
  beforeAll(async () => { sys = await startSystem('postgres'); await provision(sys); });
  afterAll(async () => { await sys?.close(); });

  it('requires the admin token', async () => {
    const anon = await fetch(`${sys.url}/api/v1/admin/users`);
    expect(anon.status).toBe(401);
    const wrong = await fetch(`${sys.url}/api/v1/admin/users`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
  });

  it('names the field in every validation error', async () => {
    const cases: Array<[string, string, unknown, string]> = [
      ['POST', '/admin/models', { id: 'm1', outputPricePer1M: 1, deployments: [{ url: 'http://x/v1', upstreamModel: 'u' }] }, 'inputPricePer1M'],
      ['POST', '/admin/models', { id: 'm1', inputPricePer1M: 1, outputPricePer1M: 1, deployments: [{ url: 'not a url', upstreamModel: 'u' }] }, 'deployments[0].url'],
      ['POST', '/admin/models', { id: 'm1', inputPricePer1M: '0.0000001', outputPricePer1M: 1, deployments: [{ url: 'http://x/v1', upstreamModel: 'u' }] }, 'inputPricePer1M'],
      ['POST', '/admin/models', { id: 'm1', inputPricePer1M: 1, outputPricePer1M: 1, deployments: [] }, 'deployments'],
      ['POST', '/admin/users', { username: 'has space' }, 'username'],
      ['POST', '/admin/users', { username: 'ok', password: 'short' }, 'password'],
      ['POST', '/admin/users', { username: 'ok', rpm: 0 }, 'rpm'],
    ];
    for (const [method, path, body, field] of cases) {
      const r = await sys.admin(method, path, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.field).toBe(field);
      expect(r.body.error.message).toContain(field.split('.')[0]!.split('[')[0]);
    }
    const u = await sys.admin('POST', '/admin/users', { username: `v${Date.now()}` });
    const noSub = await sys.admin('POST', `/admin/users/${u.body.id}/api-keys`, { name: 'k', models: [MODEL] });
    expect(noSub.status).toBe(400);
    expect(noSub.body.error.field).toBe('models');
    expect(noSub.body.error.message).toContain('no active subscription');
    const badModel = await sys.admin('POST', `/admin/users/${u.body.id}/subscriptions`, { modelId: 'nope' });
    expect(badModel.status).toBe(400);
    expect(badModel.body.error.field).toBe('modelId');
    const past = await sys.admin('POST', `/admin/users/${u.body.id}/subscriptions`, { modelId: MODEL });
    expect(past.status).toBe(201);
    const expired = await sys.admin('POST', `/admin/users/${u.body.id}/api-keys`, { name: 'k', models: [MODEL], expiresAt: '2020-01-01T00:00:00Z' });
    expect(expired.status).toBe(400);
    expect(expired.body.error.field).toBe('expiresAt');
    const bad = await fetch(`${sys.url}/api/v1/admin/users`, { method: 'POST', headers: { authorization: `Bearer ${sys.adminToken}`, 'content-type': 'application/json' }, body: '{oops' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/JSON/);
    expect((await sys.admin('GET', '/admin/users/does-not-exist')).status).toBe(404);
    expect((await sys.admin('POST', '/admin/models', { id: MODEL, inputPricePer1M: 1, outputPricePer1M: 1, deployments: [{ url: 'http://x/v1', upstreamModel: 'u' }] })).status).toBe(409);
  });

  it('never returns or audits an upstream token or a key after creation', async () => {
    const m = await sys.admin('POST', '/admin/models', { id: 'secret-model', inputPricePer1M: 1, outputPricePer1M: 2, deployments: [{ url: `${sys.sim.url}/v1`, upstreamModel: 'llama32-fp8', token: 'upstream-token-xyz' }] });
    expect(m.status).toBe(201);
    expect(JSON.stringify(m.body)).not.toContain('upstream-token-xyz');
    expect(m.body.deployments[0].hasToken).toBe(true);
    const edited = await sys.admin('PUT', '/admin/models/secret-model', { inputPricePer1M: 2, outputPricePer1M: 3, deployments: [{ url: `${sys.sim.url}/v1/`, upstreamModel: 'llama32-fp8' }] });
    expect(edited.status).toBe(200);
    expect(edited.body.inputPricePer1M).toBe(2);
    expect(edited.body.deployments[0].hasToken).toBe(true); // an edit without the token keeps it
    const p = await provision(sys);
    const audit = await sys.admin('GET', '/admin/audit');
    const text = JSON.stringify(audit.body);
    expect(text).not.toContain('upstream-token-xyz');
    expect(text).not.toContain(p.key);
    expect(audit.body.entries.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['model.create', 'user.create', 'subscription.create', 'api_key.create']));
    const list = await sys.admin('GET', `/admin/users/${p.userId}/api-keys`);
    expect(JSON.stringify(list.body)).not.toContain(p.key);
  });

  it('rotates a key: same id and history, the old secret stops working at once', async () => {
    const p = await provision(sys);
    const call = (key: string) => fetch(`${sys.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);
    expect(await call(p.key)).toBe(200);
    const r = await sys.admin('POST', `/admin/api-keys/${p.keyId}/rotate`);
    expect(r.status).toBe(200);
    expect(r.body.id).toBe(p.keyId);
    expect(r.body.key).not.toBe(p.key);
    expect(await call(p.key)).toBe(401);
    expect(await call(r.body.key)).toBe(200);
    const revoked = await sys.admin('DELETE', `/admin/api-keys/${p.keyId}`);
    expect(revoked.body.status).toBe('revoked');
    expect(await call(r.body.key)).toBe(401);
  });
});
