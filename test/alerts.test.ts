/**
 * Budget alerts, end to end on PostgreSQL with two LiteMaaS servers on one
 * database: a key's 50 / 80 / 100 % thresholds crossed by real /v1 requests
 * sent through both at once are each notified exactly once, and more usage in
 * the same period notifies nothing more. Two detectors racing over the same
 * crossings still record each once. A new period re-arms the thresholds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startServer, type Running } from '../src/server.js';
import { loadConfig } from '../src/config.js';
import { fromPico, toPico } from '../src/shared/money.js';
import { CrossingDetector, crossings } from '../src/notify/detector.js';
import { Dispatcher } from '../src/notify/dispatcher.js';
import { slackText } from '../src/notify/enqueue.js';
import { Cipher } from '../src/shared/secrets.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { provision, startSystem, type System } from './helpers/system.js';
import { until } from './helpers/process.js';

const OUT = toPico('0.60') / 1_000_000n;
const SECRET = 'alerts-test-secret';

describe('budget alerts across two replicas', () => {
  let sys: System;
  let other: Running;
  let dir: string;
  let db: pg.Client;

  beforeAll(async () => {
    sys = await startSystem('postgres', { ttftMs: 0 }, { secret: SECRET });
    dir = mkdtempSync(join(tmpdir(), 'litemaas-alerts-'));
    other = await startServer({ ...loadConfig({}), port: 0, host: '127.0.0.1', dataDir: dir, databaseUrl: sys.databaseUrl, adminToken: sys.adminToken, secret: SECRET, logLevel: 'silent', flushIntervalMs: 50, reconcileIntervalMs: 30_000 });
    db = new pg.Client({ connectionString: sys.databaseUrl });
    await db.connect();
    // Input is free and every answer uses all of its max_tokens: each request costs exactly 20 output tokens.
    expect((await sys.admin('POST', '/admin/models', { id: 'alert-model', inputPricePer1M: '0', outputPricePer1M: '0.60', deployments: [{ url: `${sys.sim.url}/v1`, upstreamModel: 'llama32-fp8' }] })).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await db?.end();
    await other?.close();
    await sys?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const content = 'Every request asks for the same long answer so that it always uses all of its tokens. '.repeat(3);
  async function post(url: string, key: string) {
    const res = await fetch(url + '/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'alert-model', messages: [{ role: 'user', content }], max_tokens: 20 }) });
    await res.arrayBuffer();
    return res.status;
  }
  async function settleBoth() {
    for (const s of [sys.server, other]) await s.ledger.drain();
    for (const s of [sys.server, other]) await s.notifier.detector.idle();
  }
  async function thresholdsNotified(userId: string, scope = 'key'): Promise<unknown[]> {
    const r = await db.query(`select data->'threshold' as t from notifications where user_id = $1 and type = 'budget.threshold' and data->>'scope' = $2 order by (data->>'threshold')::int`, [userId, scope]);
    return r.rows.map((x) => x.t);
  }

  it('notifies 50, 80 and 100 % of a key budget once each, with both servers writing usage at once', async () => {
    const perRequest = 20n * OUT;
    const p = await provision(sys, { key: { maxBudget: Number(fromPico(perRequest * 10n)), budgetPeriod: 'monthly' } });
    expect((await sys.admin('POST', `/admin/users/${p.userId}/subscriptions`, { modelId: 'alert-model' })).status).toBe(201);
    expect((await sys.admin('PATCH', `/admin/api-keys/${p.keyId}`, { models: ['alert-model'] })).status).toBe(200);
    // The owner's own budget is twice the key's: the key's spend reaches at least half of it.
    expect((await sys.admin('PATCH', `/admin/users/${p.userId}`, { maxBudget: Number(fromPico(perRequest * 20n)), budgetPeriod: 'monthly' })).status).toBe(200);
    await other.gateway.reload();

    // Each server admits against what it has read and counted itself: together they spend past the budget.
    const urls = [sys.url, other.url];
    const statuses = await Promise.all(Array.from({ length: 30 }, (_, i) => post(urls[i % 2]!, p.key)));
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(10);
    await settleBoth();

    expect(await thresholdsNotified(p.userId)).toEqual([50, 80, 100]);
    const n = await db.query(`select title, body, data from notifications where user_id = $1 and data->>'threshold' = '80'`, [p.userId]);
    expect(n.rows[0].title).toBe(`Key 'test' reached 80% of its monthly budget`);
    expect(n.rows[0].data).toMatchObject({ scope: 'key', id: p.keyId, name: 'test', period: 'monthly', budget: Number(fromPico(perRequest * 10n)) });
    const userThresholds = await thresholdsNotified(p.userId, 'user');
    expect(userThresholds[0]).toBe(50);
    expect(new Set(userThresholds).size).toBe(userThresholds.length);

    // More usage in the same period (refused requests are recorded too): nothing new.
    await Promise.all(Array.from({ length: 6 }, (_, i) => post(urls[i % 2]!, p.key)));
    await settleBoth();
    expect(await thresholdsNotified(p.userId)).toEqual([50, 80, 100]);
    const c = await db.query(`select threshold from alert_crossings where scope = 'key' and scope_id = $1 order by threshold::int`, [p.keyId]);
    expect(c.rows.map((r) => r.threshold)).toEqual(['50', '80', '100']);

    // Forget the crossings and let two detectors (one per server's database pool) race over them ten times: still once each.
    await db.query(`delete from alert_crossings where scope_id = $1`, [p.keyId]);
    await db.query(`delete from notifications where user_id = $1`, [p.userId]);
    const racers = [sys.server, other].flatMap((s) => Array.from({ length: 5 }, () => new CrossingDetector(s.store.db)));
    const won = await Promise.all(racers.map((d) => d.check({ keyIds: [p.keyId], userIds: [p.userId] })));
    expect(won.flat().map((w) => w.threshold).sort()).toEqual([100, 50, 80]);
    expect(await thresholdsNotified(p.userId)).toEqual([50, 80, 100]);
  }, 60_000);

  it('notifies a team\'s owners once its keys reach its thresholds', async () => {
    const perRequest = 20n * OUT;
    const owner = await provision(sys, { username: 'team-owner' });
    const member = await provision(sys, { username: 'team-member' });
    const t = await sys.admin('POST', '/admin/teams', { name: 'platform', maxBudget: Number(fromPico(perRequest * 4n)), budgetPeriod: 'monthly' });
    expect(t.status).toBe(201);
    expect((await sys.admin('POST', `/admin/teams/${t.body.id}/members`, { userId: owner.userId, role: 'owner' })).status).toBe(201);
    expect((await sys.admin('POST', `/admin/teams/${t.body.id}/members`, { userId: member.userId, role: 'member' })).status).toBe(201);
    expect((await sys.admin('POST', `/admin/teams/${t.body.id}/subscriptions`, { modelId: 'alert-model' })).status).toBe(201);
    const k = await sys.admin('POST', `/admin/teams/${t.body.id}/api-keys`, { name: 'platform-app', models: ['alert-model'] });
    expect(k.status).toBe(201);
    await Promise.all([sys.server.gateway.reload(), other.gateway.reload()]);
    for (let i = 0; i < 3; i++) expect(await post(i % 2 ? other.url : sys.url, k.body.key)).toBe(200);
    await settleBoth();
    // 3 of 4: 50 %, told to the owner only (not the member, not the team's own account), once.
    const r = await db.query(`select user_id, data->>'threshold' as t, data->>'name' as name from notifications where data->>'scope' = 'team' order by t`);
    expect(r.rows).toEqual([{ user_id: owner.userId, t: '50', name: 'platform' }]);
    expect(await new CrossingDetector(other.store.db).check({ keyIds: [k.body.id], userIds: [t.body.id] })).toEqual([]);
    // The team's row never counts as a person's budget scope.
    expect((await db.query(`select count(*)::int as n from notifications where data->>'scope' = 'user' and data->>'id' = $1`, [t.body.id])).rows[0].n).toBe(0);
  }, 60_000);

  it('sends each outbox delivery once while both servers and four more dispatchers claim at the same time', async () => {
    const seen = new Map<string, number>();
    const receiver = createServer((req, res) => {
      const id = String(req.headers['x-litemaas-delivery']);
      seen.set(id, (seen.get(id) ?? 0) + 1);
      req.resume().on('end', () => setTimeout(() => res.end('ok'), 20));
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      const ids = Array.from({ length: 40 }, (_, i) => `race-${i}`);
      await db.query(`insert into notification_deliveries (id, channel, target, type, payload) select id, 'webhook', $2, 'key.expiring', '{"text":"race"}'::jsonb from unnest($1::text[]) id`, [ids, url]);
      const racers = [sys.server, other, sys.server, other].map((s) => new Dispatcher(s.store.db, new Cipher(SECRET)));
      await Promise.all(racers.map(async (d) => { while ((await d.runOnce(5)) > 0) { /* until none is due */ } }));
      await until(async () => (await db.query(`select count(*)::int as n from notification_deliveries where id like 'race-%' and status = 'sent'`)).rows[0].n === ids.length, 'all sent', 10_000);
      expect(ids.map((id) => seen.get(id))).toEqual(ids.map(() => 1));
      const attempts = await db.query(`select count(*)::int as n from notification_attempts where delivery_id like 'race-%'`);
      expect(attempts.rows[0].n).toBe(ids.length);
    } finally {
      await new Promise((r) => receiver.close(r));
    }
  });

  it('re-arms in the next period and warns at the soft budget', () => {
    const scope = { scope: 'key' as const, id: 'k', name: 'k', budget: '10', softBudget: '3', period: 'monthly' as const, recipients: [] };
    const dec = crossings(scope, '8.5', [50, 80, 100], new Date('2026-12-20T00:00:00Z'));
    expect(dec.map((c) => [c.threshold, c.periodStart])).toEqual([[50, '2026-12-01'], [80, '2026-12-01'], ['soft', '2026-12-01']]);
    // The same spend read in January is January's: another period_start, so another row of alert_crossings.
    expect(crossings(scope, '5', [50], new Date('2027-01-03T00:00:00Z'))[0]!.periodStart).toBe('2027-01-01');
    expect(crossings({ ...scope, period: 'none' }, '5', [50], new Date())[0]!.periodStart).toBe('1970-01-01');
    expect(crossings(scope, '2.99', [50], new Date())).toEqual([]);
    // A key named to ping a Slack channel does not: Slack's three characters are escaped in the webhook's text.
    expect(slackText(`Key '<!channel>' & co`)).toBe(`Key '&lt;!channel&gt;' &amp; co`);
  });
});

describe('budget alerts on PGlite', () => {
  it('records a crossing and delivers its webhook from the embedded store', async () => {
    const got: string[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => { got.push(body); res.end('ok'); });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const sys = await startSystem('pglite', { ttftMs: 0 }, { notify: { pollMs: 100, retryDelaysMs: [100] } });
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      expect((await sys.admin('PUT', '/admin/settings', { alerts: { thresholds: [1], webhookUrl: url } })).status).toBe(200);
      const p = await provision(sys, { key: { maxBudget: 0.0001, budgetPeriod: 'daily' } });
      const res = await fetch(sys.url + '/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${p.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'Llama-3.2-3B-Instruct-FP8', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }) });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      await until(async () => got.length > 0, 'the webhook', 20_000);
      expect(JSON.parse(got[0]!)).toMatchObject({ type: 'budget.threshold', scope: 'key', id: p.keyId, threshold: 1, period: 'daily' });
      const d = (await sys.admin('GET', '/admin/notifications/deliveries')).body.deliveries;
      expect(d.map((x: any) => [x.channel, x.status, x.attempts])).toEqual([['webhook', 'sent', 1]]);
    } finally {
      await sys.close();
      await new Promise((r) => receiver.close(r));
    }
  }, 60_000);
});
