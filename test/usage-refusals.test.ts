/**
 * Refusals explained and the key's budget card, as a person and an admin see
 * them after real requests through the gateway: each refused request counted
 * under its reason and its key; the budget card warning, with advice, once
 * what is left cannot cover the requests the application sends (the
 * reservation the gateway records on each event, refused ones included).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provision, settle, startSystem, MODEL, type Provisioned, type System } from './helpers/system.js';
import { sql } from 'kysely';
import { refusalReason, refusalsQuery } from '../src/portal/services/usage-refusals.js';
import { cleanEvent } from '../src/ledger/event.js';
import { Session } from './helpers/session.js';

let sys: System;
let budgetKey: Provisioned;
let rpmKey: Provisioned;

const chat = async (key: string, body: Record<string, unknown>) => {
  const r = await fetch(`${sys.url}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Summarise this.' }], ...body }),
  });
  const j = await r.json() as { error?: { code: string } };
  return { status: r.status, code: j.error?.code ?? null };
};

beforeAll(async () => {
  sys = await startSystem('postgres');
  // 0.60 per 1M output tokens: max_tokens 1000 reserves about 0.0006, 2000 about 0.0012; the budget is 0.001.
  budgetKey = await provision(sys, { username: 'dana', key: { name: 'summariser', maxBudget: 0.001, budgetPeriod: 'monthly' } });
  rpmKey = await provision(sys, { username: 'eli', key: { name: 'tutor', rpm: 1 } });
}, 60_000);
afterAll(async () => { await sys?.close(); });

describe('budget card and refusals explained', () => {
  it('records what each request reserved and warns when the largest no longer fits', async () => {
    expect((await chat(budgetKey.key, { max_tokens: 1000 })).status).toBe(200);
    expect(await chat(budgetKey.key, { max_tokens: 2000 })).toEqual({ status: 429, code: 'budget_exceeded' });
    await settle(sys);
    const b = await sys.admin('GET', `/admin/api-keys/${budgetKey.keyId}/budget`);
    expect(b.status).toBe(200);
    expect(b.body.key.maxBudget).toBe('0.001000000000');
    expect(b.body.limitedBy).toBe('key');
    expect(Number(b.body.remaining)).toBeGreaterThan(0.0009);
    expect(b.body.recent).toMatchObject({ requests: 2, withReservation: 2, refusedForBudget: 1 });
    expect(Number(b.body.recent.largestReservation)).toBeGreaterThan(0.0012);
    expect(Number(b.body.recent.typicalReservation)).toBeLessThan(0.001);
    expect(b.body).toMatchObject({ cannotCoverTypical: false, cannotCoverLargest: true });
    expect(b.body.advice).toMatch(/lower max_tokens/i);
    // The model's whole context (8192 tokens at 0.60 per 1M) would not fit either: a request without max_tokens is refused.
    expect(b.body.contextReservation).toMatchObject({ modelId: MODEL, contextLength: 8192 });
    expect(b.body.cannotCoverContext).toBe(true);
  });

  it('says the typical request cannot be covered once the application keeps sending large ones', async () => {
    for (let i = 0; i < 2; i++) expect((await chat(budgetKey.key, { max_tokens: 2000 })).code).toBe('budget_exceeded');
    await settle(sys);
    const b = await sys.admin('GET', `/admin/api-keys/${budgetKey.keyId}/budget`);
    expect(b.body.cannotCoverTypical).toBe(true);
    expect(b.body.advice).toMatch(/cannot cover one typical request.*Lower max_tokens.*raise the key's budget/s);
    // The owner sees the same card on their own key.
    expect((await sys.admin('PATCH', `/admin/users/${budgetKey.userId}`, { password: 'correct horse battery' })).status).toBe(200);
    const dana = await Session.signIn(sys.url, 'dana', 'correct horse battery');
    const mine = await dana.call('GET', `/api-keys/${budgetKey.keyId}/budget`);
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ keyId: budgetKey.keyId, cannotCoverTypical: true, owner: { name: 'dana', team: false } });
    expect((await dana.call('GET', `/api-keys/${rpmKey.keyId}/budget`)).status).toBe(404);
    expect((await sys.admin('GET', `/admin/api-keys/nope/budget`)).status).toBe(404);
  });

  it('counts refusals by reason and by key, for admins, people and filters', async () => {
    expect((await chat(rpmKey.key, { max_tokens: 5 })).status).toBe(200);
    expect((await chat(rpmKey.key, { max_tokens: 5 })).code).toBe('rate_limit_exceeded');
    expect((await chat(rpmKey.key, { model: 'no-such-model', max_tokens: 5 })).code).toBe('model_not_found');
    await settle(sys);
    const r = await sys.admin('GET', '/admin/usage/refusals');
    expect(r.status).toBe(200);
    const count = Object.fromEntries(r.body.reasons.map((x: { reason: string; count: number }) => [x.reason, x.count]));
    expect(count).toEqual({ budget: 3, quota: 0, rate_limit: 1, model_not_allowed: 1, upstream_error: 0, other: 0 });
    expect(r.body.total).toBe(5);
    expect(r.body.reasons.find((x: { reason: string }) => x.reason === 'budget').hint).toMatch(/max_tokens/);
    expect(r.body.codes).toEqual({ budget_exceeded: 3, rate_limit_exceeded: 1, model_not_found: 1 });
    const byKey = Object.fromEntries(r.body.keys.map((k: { keyId: string }) => [k.keyId, k]));
    expect(byKey[budgetKey.keyId]).toMatchObject({ keyName: 'summariser', username: 'dana', total: 3, counts: { budget: 3 } });
    expect(byKey[rpmKey.keyId]).toMatchObject({ keyName: 'tutor', username: 'eli', total: 2, counts: { rate_limit: 1, model_not_allowed: 1 } });
    const filtered = await sys.admin('GET', `/admin/usage/refusals?keys=${rpmKey.keyId}`);
    expect(filtered.body.total).toBe(2);
    const one = await sys.admin('GET', `/admin/usage/refusals?userId=${budgetKey.userId}`);
    expect(one.body.total).toBe(3);
    // A person sees only their own keys' refusals, whatever userId they send.
    const dana = await Session.signIn(sys.url, 'dana', 'correct horse battery');
    const own = await dana.call('GET', `/usage/refusals?userId=${rpmKey.userId}`);
    expect(own.body.total).toBe(3);
    expect(own.body.keys.map((k: { keyId: string }) => k.keyId)).toEqual([budgetKey.keyId]);
    const past = await sys.admin('GET', '/admin/usage/refusals?from=2026-01-01&to=2026-01-31');
    expect(past.body.total).toBe(0);
    expect(past.body.reasons).toHaveLength(6);
    for (const [q, field] of [['from=yesterday', 'from'], ['from=2026-02-01&to=2026-01-01', 'from'], ['groupBy=key', 'groupBy']]) {
      const bad = await sys.admin('GET', `/admin/usage/refusals?${q}`);
      expect(bad.status, q).toBe(400);
      expect(JSON.stringify(bad.body.error), q).toContain(field);
    }
  });

  it('reads only failed events, through the partial indexes', async () => {
    const db = sys.server.store.db;
    await db.transaction().execute(async (trx) => {
      // A tiny table is scanned whole whatever the indexes; forbid that to see which index the query can use.
      await sql`set local enable_seqscan = off`.execute(trx);
      const plan = async (q: Parameters<typeof refusalsQuery>[0]) => (await sql<{ 'QUERY PLAN': string }>`explain ${refusalsQuery(q)}`.execute(trx)).rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(await plan({ from: '2026-01-01', to: '2026-12-31' })).toMatch(/usage_events_refused_at/);
      expect(await plan({ from: '2026-01-01', to: '2026-12-31', userId: 'u' })).toMatch(/usage_events_refused_user_at/);
    });
  });

  it('maps every recorded code to a reason and keeps a garbled reservation from a damaged journal out of the event', () => {
    expect(['budget_exceeded', 'quota_exceeded', 'rate_limit_exceeded', 'model_not_allowed', 'upstream_timeout', 'client_disconnected', null].map(refusalReason))
      .toEqual(['budget', 'quota', 'rate_limit', 'model_not_allowed', 'upstream_error', 'other', 'other']);
    const e = { id: 'x', at: new Date().toISOString(), keyId: 'k', userId: 'u', modelId: 'm', deploymentId: null, status: 429, promptTokens: 0, completionTokens: 0, cost: '0', latencyMs: 1, ttftMs: null, stream: false, estimated: false, errorCode: 'budget_exceeded' };
    expect(cleanEvent({ ...e, reservedCost: '0.0012' }).reservedCost).toBe('0.0012');
    expect(cleanEvent({ ...e, reservedCost: 'NaN' }).reservedCost).toBeNull();
  });
});
