/**
 * @module Keys about to expire: a periodic sweep finds live keys expiring
 * within `withinDays`, and each is notified once (an alert_crossings row
 * keyed by the expiry date, so a key whose expiry is moved later warns again
 * before its new date).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { enqueue } from './enqueue.js';

export async function sweepExpiring(db: Kysely<Database>, now = new Date(), withinDays = 7): Promise<number> {
  const until = new Date(now.getTime() + withinDays * 86_400_000);
  const keys = await db.selectFrom('api_keys as k').innerJoin('users as u', 'u.id', 'k.user_id')
    .select(['k.id', 'k.name', 'k.prefix', 'k.expires_at', 'k.user_id', 'u.email'])
    .where('k.revoked_at', 'is', null).where('k.expires_at', '>', now).where('k.expires_at', '<=', until)
    .execute();
  let n = 0;
  for (const k of keys) {
    const expires = new Date(k.expires_at!);
    const won = await db.transaction().execute(async (tx) => {
      const r = await tx.insertInto('alert_crossings')
        .values({ scope: 'key', scope_id: k.id, period_start: expires.toISOString().slice(0, 10), threshold: 'expiring', spend: null, budget: null })
        .onConflict((oc) => oc.doNothing()).returning('scope').executeTakeFirst();
      if (!r) return false;
      const days = Math.max(0, Math.ceil((expires.getTime() - now.getTime()) / 86_400_000));
      await enqueue(tx, {
        type: 'key.expiring', recipients: [{ userId: k.user_id, email: k.email }],
        title: `Key '${k.name}' expires in ${days} day${days === 1 ? '' : 's'}`,
        text: `Key '${k.name}' (${k.prefix}) expires on ${expires.toISOString().slice(0, 16).replace('T', ' ')} UTC. Create or rotate a key before then to keep your applications working.`,
        data: { scope: 'key', id: k.id, name: k.name, expiresAt: expires.toISOString() },
      });
      return true;
    });
    if (won) n++;
  }
  return n;
}
