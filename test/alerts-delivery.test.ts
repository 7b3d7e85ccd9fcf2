/**
 * How alerts reach people, on PostgreSQL: a webhook receiver of the test's own
 * checks the HMAC signature of each raw body and fails the first two attempts
 * (delivered on the third, all three in the admins' delivery log); a real SMTP
 * server (smtp-server) receives the e-mail; the drawer's API lists, counts and
 * marks notifications; a subscription decision and a key about to expire are
 * notified; the alerts settings are validated field by field and their
 * secrets are never shown or stored in clear.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { sweepExpiring } from '../src/notify/expiring.js';
import { startSystem, MODEL, type System } from './helpers/system.js';
import { Session } from './helpers/session.js';
import { until } from './helpers/process.js';

const WEBHOOK_SECRET = 'whsec-test-only';
const SMTP_PASSWORD = 'smtp-pass-test-only';
const hmac = (body: string, secret: string) => 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');

interface Hit { raw: string; headers: Record<string, string | string[] | undefined> }
interface Mail { to: string[]; raw: string }

describe('alert deliveries', () => {
  let sys: System;
  let receiver: Server;
  let smtp: SMTPServer;
  let smtpPort: number;
  let db: pg.Client;
  const hits: Hit[] = [];
  const mails: Mail[] = [];
  const attemptsById = new Map<string, number>();

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        hits.push({ raw: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
        const id = String(req.headers['x-litemaas-delivery']);
        const n = (attemptsById.get(id) ?? 0) + 1;
        attemptsById.set(id, n);
        res.writeHead(n <= 2 ? 500 : 200).end(n <= 2 ? 'not yet' : 'ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    smtp = new SMTPServer({
      authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
      onAuth(auth, _session, cb) { cb(null, { user: auth.username }); },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => { mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') }); cb(); });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
    smtpPort = (smtp.server.address() as AddressInfo).port;
    sys = await startSystem('postgres', { ttftMs: 0 }, { notify: { retryDelaysMs: [200, 200, 200, 200, 200], pollMs: 100, timeoutMs: 3000 } });
    db = new pg.Client({ connectionString: sys.databaseUrl });
    await db.connect();
  }, 60_000);
  afterAll(async () => {
    await db?.end();
    await sys?.close();
    await new Promise((r) => receiver?.close(r));
    await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()));
  });

  it('refuses bad alert settings with 400 naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ thresholds: [80, 50] }, 'alerts.thresholds'],
      [{ thresholds: [50, 50] }, 'alerts.thresholds'],
      [{ thresholds: [0] }, 'alerts.thresholds.0'],
      [{ thresholds: [1001] }, 'alerts.thresholds.0'],
      [{ thresholds: [12.5] }, 'alerts.thresholds.0'],
      [{ webhookUrl: 'ftp://example.test/hook' }, 'alerts.webhookUrl'],
      [{ webhookUrl: 'not a url' }, 'alerts.webhookUrl'],
      [{ email: { host: 'smtp.example.test', port: 70000, from: 'a@b.c' } }, 'alerts.email.port'],
      [{ email: { host: 'smtp.example.test', port: 25, from: 'nobody' } }, 'alerts.email.from'],
      [{ email: { host: 'smtp.example.test', port: 25 } }, 'alerts.email.from'],
      [{ webhookSecrets: 'x' }, 'alerts.webhookSecrets'],
    ];
    for (const [alerts, field] of cases) {
      const r = await sys.admin('PUT', '/admin/settings', { alerts });
      expect([JSON.stringify(alerts), r.status, r.body.error?.field]).toEqual([JSON.stringify(alerts), 400, field]);
    }
  });

  it('stores alert secrets encrypted and shows only that they are set', async () => {
    const put = await sys.admin('PUT', '/admin/settings', { alerts: {
      thresholds: [1, 50], webhookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/litemaas`, webhookSecret: WEBHOOK_SECRET,
      email: { host: '127.0.0.1', port: smtpPort, secure: false, user: 'litemaas', password: SMTP_PASSWORD, from: 'LiteMaaS <alerts@example.test>' },
    } });
    expect(put.status).toBe(200);
    const get = await sys.admin('GET', '/admin/settings');
    expect(get.body.alerts).toMatchObject({ thresholds: [1, 50], webhookSecretSet: true, email: { host: '127.0.0.1', port: smtpPort, user: 'litemaas', passwordSet: true } });
    expect(get.body.currency).toBe('USD'); // a PUT of alerts alone keeps the other sections
    for (const text of [JSON.stringify(get.body), JSON.stringify((await db.query('select value from settings')).rows), JSON.stringify((await db.query('select details from audit_log')).rows)]) {
      expect(text).not.toContain(WEBHOOK_SECRET);
      expect(text).not.toContain(SMTP_PASSWORD);
    }
    // Leaving a secret out keeps it.
    expect((await sys.admin('PUT', '/admin/settings', { alerts: { thresholds: [1] } })).body.alerts).toMatchObject({ thresholds: [1], webhookSecretSet: true, email: { passwordSet: true } });
  });

  it('delivers a crossing by signed webhook (third attempt, after two 500s) and by e-mail, and shows it in the drawer', async () => {
    const u = await sys.admin('POST', '/admin/users', { username: 'ada', password: 'ada-password-1', email: 'ada@example.test' });
    expect(u.status).toBe(201);
    const m = await sys.admin('POST', '/admin/models', { id: MODEL, inputPricePer1M: '0.15', outputPricePer1M: '0.60', deployments: [{ url: `${sys.sim.url}/v1`, upstreamModel: 'llama32-fp8' }] });
    expect(m.status).toBe(201);
    expect((await sys.admin('POST', `/admin/users/${u.body.id}/subscriptions`, { modelId: MODEL })).status).toBe(201);
    const k = await sys.admin('POST', `/admin/users/${u.body.id}/api-keys`, { name: 'ci', models: [MODEL], maxBudget: 0.0001, budgetPeriod: 'monthly' });
    expect(k.status).toBe(201);

    const res = await fetch(sys.url + '/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${k.body.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], max_tokens: 30 }) });
    expect(res.status).toBe(200);
    await res.arrayBuffer();

    const deliveries = async () => (await sys.admin('GET', '/admin/notifications/deliveries')).body.deliveries as any[];
    await until(async () => (await deliveries()).some((d) => d.channel === 'webhook' && d.status === 'sent') && mails.length > 0, 'the webhook and the e-mail', 20_000);

    const hook = (await deliveries()).find((d) => d.channel === 'webhook')!;
    expect(hook).toMatchObject({ type: 'budget.threshold', status: 'sent', attempts: 3, target: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/…` });
    expect(hook.log.map((a: any) => [a.attempt, a.ok, a.statusCode])).toEqual([[1, false, 500], [2, false, 500], [3, true, 200]]);

    const got = hits.filter((h) => h.headers['x-litemaas-delivery'] === hook.id);
    expect(got).toHaveLength(3);
    for (const h of got) {
      expect(h.headers['x-litemaas-signature']).toBe(hmac(h.raw, WEBHOOK_SECRET));
      expect(h.headers['x-litemaas-signature']).not.toBe(hmac(h.raw, 'a-wrong-secret'));
      expect(h.headers['x-litemaas-timestamp']).toMatch(/^\d{10}$/);
    }
    const body = JSON.parse(got[2]!.raw);
    expect(body).toMatchObject({ type: 'budget.threshold', scope: 'key', id: k.body.id, name: 'ci', threshold: 1, budget: 0.0001, period: 'monthly' });
    expect(body.spend).toBeGreaterThan(0.000001);
    expect(body.text).toMatch(/^Key 'ci' has spent .* USD since \d{4}-\d{2}-01: 1% of its monthly budget of 0\.0001 USD\.$/);

    const mail = mails[0]!;
    expect(mail.to).toEqual(['ada@example.test']);
    expect(mail.raw).toMatch(/^Subject: \[LiteMaaS\] Key 'ci' reached 1% of its monthly budget\r?$/m);
    expect(mail.raw).toMatch(/^From: LiteMaaS <alerts@example\.test>\r?$/m);
    const mailDelivery = (await deliveries()).find((d) => d.channel === 'email')!;
    expect(mailDelivery).toMatchObject({ status: 'sent', attempts: 1, target: 'ada@example.test' });

    const ada = await Session.signIn(sys.url, 'ada', 'ada-password-1');
    const list = await ada.call('GET', '/notifications');
    expect(list.status).toBe(200);
    expect(list.body.unread).toBe(1);
    expect(list.body.notifications[0]).toMatchObject({ type: 'budget.threshold', title: `Key 'ci' reached 1% of its monthly budget`, readAt: null });
  }, 60_000);

  it('tells a person their subscription was denied (drawer and e-mail) and their key expires soon; marks read', async () => {
    expect((await sys.admin('POST', '/admin/models', { id: 'locked-model', restricted: true, inputPricePer1M: '1', outputPricePer1M: '1', deployments: [{ url: `${sys.sim.url}/v1`, upstreamModel: 'llama32-fp8' }] })).status).toBe(201);
    const ada = await Session.signIn(sys.url, 'ada', 'ada-password-1');
    const sub = await ada.call('POST', '/subscriptions', { modelId: 'locked-model' });
    expect(sub.body.status).toBe('pending');
    expect((await sys.admin('POST', `/admin/subscriptions/${sub.body.id}/deny`, { reason: 'workshop models only' })).status).toBe(200);
    await until(async () => mails.some((m) => m.raw.includes('Access to locked-model denied')), 'the e-mail of the decision', 10_000);
    expect(mails.find((m) => m.raw.includes('Access to locked-model denied'))!.to).toEqual(['ada@example.test']);

    const me = (await ada.call('GET', '/auth/me')).body;
    const soon = await sys.admin('POST', `/admin/users/${me.id}/api-keys`, { name: 'short-lived', models: [MODEL], expiresAt: new Date(Date.now() + 3 * 86_400_000 - 60_000).toISOString() });
    expect(soon.status).toBe(201);
    expect(await sweepExpiring(sys.server.store.db)).toBe(1);
    expect(await sweepExpiring(sys.server.store.db)).toBe(0); // once per key

    const list = (await ada.call('GET', '/notifications')).body;
    expect(list.notifications.map((n: any) => n.title)).toEqual([`Key 'short-lived' expires in 3 days`, 'Access to locked-model denied', `Key 'ci' reached 1% of its monthly budget`]);
    expect(list.notifications[1].body).toContain('workshop models only');
    expect(list.unread).toBe(3);

    expect((await ada.call('POST', `/notifications/${list.notifications[0].id}/read`)).status).toBe(200);
    expect((await ada.call('GET', '/notifications')).body.unread).toBe(2);
    // Someone else's notification, or none at all: not found.
    await sys.admin('POST', '/admin/users', { username: 'bob', password: 'bob-password-1' });
    const bob = await Session.signIn(sys.url, 'bob', 'bob-password-1');
    expect((await bob.call('POST', `/notifications/${list.notifications[1].id}/read`)).status).toBe(404);
    expect((await bob.call('GET', '/notifications')).body).toEqual({ notifications: [], unread: 0 });
    expect((await ada.call('POST', '/notifications/read-all')).body).toEqual({ ok: true, marked: 2 });
    expect((await ada.call('GET', '/notifications')).body.unread).toBe(0);
    expect((await ada.call('GET', '/admin/notifications/deliveries')).status).toBe(403);
    expect((await fetch(`${sys.url}/api/v1/notifications`)).status).toBe(401);
    expect((await fetch(`${sys.url}/api/v1/admin/notifications/deliveries`)).status).toBe(401);
    // The admin token acts for no person: it has no drawer.
    expect((await sys.admin('GET', '/notifications')).status).toBe(403);
  }, 60_000);
});
