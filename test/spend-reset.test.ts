/**
 * An admin's spend reset, on PostgreSQL through the real gateway: a key (or
 * a user) at its budget is refused; after the reset it is admitted again;
 * the usage history still shows what was spent before; the reset is audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL, provision, settle, startSystem, type System } from './helpers/system.js';
import { OwnRedis } from './helpers/redis-instance.js';
import { withCredit } from '../src/gateway/snapshot.js';
import { periodEnd } from '../src/ledger/budgets.js';

// Budgets are enforced in-process, or in Redis (shared by replicas, with leases): the reset must hold in both.
describe.each(['in-process', 'redis'] as const)('admin spend reset (%s budgets)', (mode) => {
  let sys: System;
  let redis: OwnRedis | null = null;
  beforeAll(async () => {
    if (mode === 'redis') redis = await OwnRedis.create();
    sys = await startSystem('postgres', {}, redis ? { redisUrl: redis.url, redisFailureMode: 'closed' } : {});
  }, 60_000);
  afterAll(async () => { await sys?.close(); await redis?.stop(); });

  const chat = async (key: string) => {
    const r = await fetch(`${sys.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], max_tokens: 8 }),
    });
    const body = (await r.json()) as { error?: { code: string } };
    return { status: r.status, code: body.error?.code };
  };
  /** Requests until the budget refuses one; how many were answered. */
  const spendAll = async (key: string) => {
    for (let n = 0; n < 40; n++) {
      const r = await chat(key);
      if (r.status === 429) { expect(r.code).toBe('budget_exceeded'); return n; }
      expect(r.status).toBe(200);
      await settle(sys);
    }
    throw new Error('the budget never refused');
  };
  const cost = async (userId: string) => {
    await settle(sys);
    return (await sys.admin('GET', `/admin/usage/summary?groupBy=key&userId=${userId}`)).body.totals.cost as number;
  };

  it('a key at its budget is admitted again after a reset; history keeps the earlier cost', async () => {
    const p = await provision(sys, { key: { maxBudget: 0.00003, budgetPeriod: 'monthly' } });
    const before = await spendAll(p.key);
    expect(before).toBeGreaterThan(0);
    const spentBefore = await cost(p.userId);
    expect(spentBefore).toBeGreaterThan(0);
    expect((await sys.admin('GET', `/admin/api-keys/${p.keyId}`)).body.spend).toBeCloseTo(spentBefore, 12);

    const r = await sys.admin('POST', `/admin/api-keys/${p.keyId}/reset-spend`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.spend).toBe(0);
    expect(r.body.spendResetAt).toBeTruthy();
    expect((await chat(p.key)).status).toBe(200);
    await settle(sys);
    // The budget counts from the reset: it refuses again once that is spent too.
    const after = await spendAll(p.key);
    expect(after + 1).toBe(before);
    expect(await cost(p.userId)).toBeGreaterThan(spentBefore * 1.5);

    const a = await sys.admin('GET', `/admin/audit?action=api_key.reset_spend&target=${p.keyId}`);
    expect(a.body.entries[0]).toMatchObject({ actor: 'admin-token' });
    expect(Number(a.body.entries[0].details.forgiven)).toBeCloseTo(spentBefore, 12);
  });

  it('a user at their budget is admitted again after a reset of the user', async () => {
    const p = await provision(sys);
    expect((await sys.admin('PATCH', `/admin/users/${p.userId}`, { maxBudget: 0.00003 })).status).toBe(200);
    expect(await spendAll(p.key)).toBeGreaterThan(0);
    const r = await sys.admin('POST', `/admin/users/${p.userId}/reset-spend`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(Number(r.body.forgiven)).toBeGreaterThan(0);
    expect((await chat(p.key)).status).toBe(200);
    const a = await sys.admin('GET', `/admin/audit?action=user.reset_spend&target=${p.userId}`);
    expect(a.body.entries).toHaveLength(1);
  });

  it('only an admin resets; an unknown id is 404', async () => {
    const p = await provision(sys);
    const ro = await sys.admin('POST', '/admin/tokens', { name: 'ro', scope: 'admin-readonly' });
    const res = await fetch(`${sys.url}/api/v1/admin/api-keys/${p.keyId}/reset-spend`, { method: 'POST', headers: { authorization: `Bearer ${ro.body.token}` } });
    expect(res.status).toBe(403);
    expect((await fetch(`${sys.url}/api/v1/admin/api-keys/${p.keyId}/reset-spend`, { method: 'POST' })).status).toBe(401);
    expect((await sys.admin('POST', '/admin/api-keys/nope/reset-spend')).status).toBe(404);
    expect((await sys.admin('POST', '/admin/users/nope/reset-spend')).status).toBe(404);
  });
});

describe('a spend credit in the gateway (withCredit)', () => {
  const user = { id: 'u', username: 'u', disabled: false, maxBudget: 100n, budgetPeriod: 'daily' as const, rpm: null, tpm: null, credit: 0n, creditUntil: 0 };
  const key = { id: 'k', user, models: new Set<string>(), maxBudget: 10n, budgetPeriod: 'monthly' as const, rpm: null, tpm: null, maxParallel: null, expiresAt: null, credit: 7n, creditUntil: 1_000, modelLimits: null };

  it('raises the budget by the credit until the period it was made in ends, then not', () => {
    expect(withCredit(key, 999).maxBudget).toBe(17n);
    expect(withCredit(key, 999)).toBe(withCredit(key, 500)); // made once per entry
    expect(withCredit(key, 1_000)).toBe(key);
    const both = { ...key, user: { ...user, credit: 50n, creditUntil: 2_000 } };
    expect([withCredit(both, 999).maxBudget, withCredit(both, 999).user.maxBudget]).toEqual([17n, 150n]);
    expect([withCredit(both, 1_500).maxBudget, withCredit(both, 1_500).user.maxBudget]).toEqual([10n, 150n]);
    expect(withCredit({ ...key, maxBudget: null }, 0).maxBudget).toBeNull(); // no budget: nothing to forgive
  });

  it('a credit lasts until the end of the period it was made in', () => {
    const at = new Date('2026-12-01T22:00:00Z'); // a Tuesday
    expect(periodEnd('daily', at)?.toISOString()).toBe('2026-12-02T00:00:00.000Z');
    expect(periodEnd('weekly', at)?.toISOString()).toBe('2026-12-07T00:00:00.000Z');
    expect(periodEnd('monthly', at)?.toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(periodEnd('none', at)).toBeNull();
  });
});
