/**
 * @module Turns one event into rows: a portal notification per recipient, a
 * webhook delivery when a webhook is configured, an e-mail delivery per
 * recipient with an address when SMTP is configured. Callers run it in the
 * transaction that decided the event happened (the crossing's insert), so an
 * event is enqueued exactly when it is recorded. Sending is the
 * dispatcher's job (outbox).
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import { readStoredAlerts } from './alert-config.js';
import type { NotifyEvent } from './events.js';

export async function enqueue(db: Kysely<Database> | Transaction<Database>, ev: NotifyEvent): Promise<void> {
  const cfg = await readStoredAlerts(db);
  const people = [...new Map(ev.recipients.map((r) => [r.userId, r])).values()];
  if (people.length > 0) {
    await db.insertInto('notifications').values(people.map((p) => ({
      id: randomUUID(), user_id: p.userId, type: ev.type, title: ev.title, body: ev.text, data: JSON.stringify(ev.data),
    }))).execute();
  }
  const deliveries: Array<{ channel: 'webhook' | 'email'; target: string; payload: unknown }> = [];
  if (cfg.webhookUrl) deliveries.push({ channel: 'webhook', target: cfg.webhookUrl, payload: { type: ev.type, ...ev.data, text: slackText(ev.text) } });
  if (cfg.email) {
    for (const to of new Set(people.map((p) => p.email).filter((e): e is string => !!e))) {
      deliveries.push({ channel: 'email', target: to, payload: { subject: `[LiteMaaS] ${ev.title}`, text: ev.text, type: ev.type, data: ev.data } });
    }
  }
  if (deliveries.length > 0) {
    await db.insertInto('notification_deliveries').values(deliveries.map((d) => ({
      id: randomUUID(), channel: d.channel, target: d.target, type: ev.type, payload: JSON.stringify(d.payload),
    }))).execute();
  }
}

/** Slack reads `<…>` as links and mentions (`<!channel>`): a key named so must not ping anyone. Its docs ask for these three escaped. */
export function slackText(t: string): string {
  return t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
