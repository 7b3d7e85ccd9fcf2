/**
 * @module The audit log: one row per mutation, with details that never hold
 * a secret (callers pass only safe fields).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';

export async function audit(db: Kysely<Database>, actor: string, action: string, target: string | null, details: Record<string, unknown> = {}): Promise<void> {
  await db.insertInto('audit_log').values({ actor, action, target, details: JSON.stringify(details) }).execute();
}
