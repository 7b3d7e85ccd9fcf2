/**
 * @module The index a subscription's quota counters are read by: the spend
 * tracker reads one scope at a time when a request first needs it, by
 * (key_id, day) (usage_daily_key_day, 003), (user_id, day)
 * (usage_daily_user_day, 001) or (user_id, model_id, day), added here.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index if not exists usage_daily_user_model_day on usage_daily (user_id, model_id, day)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists usage_daily_user_model_day`.execute(db);
}
