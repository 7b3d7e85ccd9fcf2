/**
 * @module The notification drawer's API (a person's own notifications, newest
 * first, with the unread count; mark one or all read) and the admins' log of
 * webhook and e-mail deliveries with every attempt. Webhook targets are shown
 * as their origin only: a Slack webhook URL's path is its secret.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { me, requireAdminRead, requireUser } from '../auth.js';
import type { PortalServices } from '../context.js';
import { notFound } from '../errors.js';
import { Id } from '../schemas.js';
import type { Notification, NotificationDelivery, NotificationList } from '../../shared/api-types.js';

const ListQuery = Type.Object({ limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$' })) }, { additionalProperties: false });
const DeliveriesQuery = Type.Object({
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$' })),
  status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('sent'), Type.Literal('failed')])),
}, { additionalProperties: false });

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());
const bounded = (v: string | undefined, def: number) => Math.min(Math.max(Number(v ?? def), 1), 200);

export const notificationRoutes: FastifyPluginAsyncTypebox<{ s: PortalServices }> = async (app, { s }) => {
  const tags = ['notifications'];
  app.get('/notifications', { onRequest: requireUser, schema: { tags, querystring: ListQuery } }, async (req): Promise<NotificationList> => {
    const rows = await s.db.selectFrom('notifications').selectAll().where('user_id', '=', me(req))
      .orderBy('created_at', 'desc').orderBy('id').limit(bounded(req.query.limit, 50)).execute();
    const unread = await s.db.selectFrom('notifications').select((eb) => eb.fn.countAll<string>().as('n'))
      .where('user_id', '=', me(req)).where('read_at', 'is', null).executeTakeFirst();
    return {
      notifications: rows.map((r): Notification => ({
        id: r.id, type: r.type as Notification['type'], title: r.title, body: r.body, data: (r.data ?? {}) as Record<string, unknown>,
        createdAt: iso(r.created_at)!, readAt: iso(r.read_at),
      })),
      unread: Number(unread?.n ?? 0),
    };
  });
  app.post('/notifications/:id/read', { onRequest: requireUser, schema: { tags, params: Id } }, async (req) => {
    const r = await s.db.updateTable('notifications').set((eb) => ({ read_at: eb.fn.coalesce('read_at', eb.fn<Date>('now')) }))
      .where('id', '=', req.params.id).where('user_id', '=', me(req)).returning('id').executeTakeFirst();
    if (!r) throw notFound(`Notification '${req.params.id}'`);
    return { ok: true };
  });
  app.post('/notifications/read-all', { onRequest: requireUser, schema: { tags } }, async (req) => {
    const r = await s.db.updateTable('notifications').set({ read_at: new Date() }).where('user_id', '=', me(req)).where('read_at', 'is', null).executeTakeFirst();
    return { ok: true, marked: Number(r.numUpdatedRows) };
  });
};

export const adminNotificationRoutes: FastifyPluginAsyncTypebox<{ s: PortalServices }> = async (app, { s }) => {
  app.get('/admin/notifications/deliveries', { onRequest: requireAdminRead, schema: { tags: ['admin'], querystring: DeliveriesQuery } }, async (req) => {
    let q = s.db.selectFrom('notification_deliveries').selectAll().orderBy('created_at', 'desc').orderBy('id').limit(bounded(req.query.limit, 100));
    if (req.query.status) q = q.where('status', '=', req.query.status);
    const rows = await q.execute();
    const attempts = rows.length === 0 ? [] : await s.db.selectFrom('notification_attempts').selectAll()
      .where('delivery_id', 'in', rows.map((r) => r.id)).orderBy('attempt').execute();
    return {
      deliveries: rows.map((r): NotificationDelivery => ({
        id: r.id, channel: r.channel, target: r.channel === 'webhook' ? webhookOrigin(r.target) : r.target, type: r.type as NotificationDelivery['type'],
        status: r.status, attempts: r.attempts, nextAttemptAt: r.status === 'pending' ? iso(r.next_attempt_at) : null,
        lastError: r.last_error, createdAt: iso(r.created_at)!, sentAt: iso(r.sent_at),
        log: attempts.filter((a) => a.delivery_id === r.id).map((a) => ({
          attempt: a.attempt, at: iso(a.at)!, ok: a.ok, statusCode: a.status_code, error: a.error, durationMs: a.duration_ms,
        })),
      })),
    };
  });
};

function webhookOrigin(u: string): string {
  try { const url = new URL(u); return url.pathname === '/' && !url.search ? url.origin : `${url.origin}/…`; } catch { return '(invalid URL)'; }
}
