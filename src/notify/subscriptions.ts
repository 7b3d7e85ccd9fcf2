/**
 * @module Tells a person their subscription request was approved or denied
 * (called by the portal's subscription service after the decision is stored).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { enqueue } from './enqueue.js';

export async function notifySubscriptionDecided(db: Kysely<Database>, s: { id: string; userId: string; modelId: string; status: string; reason: string | null }): Promise<void> {
  const user = await db.selectFrom('users').select(['id', 'email']).where('id', '=', s.userId).executeTakeFirst();
  if (!user) return;
  const approved = s.status === 'active';
  await enqueue(db, {
    type: 'subscription.decided', recipients: [{ userId: user.id, email: user.email }],
    title: `Access to ${s.modelId} ${approved ? 'approved' : 'denied'}`,
    text: approved
      ? `Your subscription to ${s.modelId} was approved: you can add it to your API keys now.${s.reason ? ` Note: ${s.reason}` : ''}`
      : `Your subscription request for ${s.modelId} was denied.${s.reason ? ` Reason: ${s.reason}` : ''}`,
    data: { id: s.id, userId: s.userId, modelId: s.modelId, status: approved ? 'approved' : 'denied', reason: s.reason },
  });
}
