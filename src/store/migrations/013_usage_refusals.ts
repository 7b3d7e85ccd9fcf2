/**
 * @module What the Usage page's "refusals explained" and a key's budget card
 * read from usage_events. Refused and failed requests are a small part of the
 * events: two partial indexes hold only them, by time (everyone's) and by
 * (user_id, time) (a person's or a team's), so counting a range's refusals
 * reads no successful request. `reserved_cost`: what the gateway reserved
 * against the budgets for the request (its prompt estimate plus max_tokens,
 * or the model's context, at the model's prices); null when nothing was
 * reserved (a free request, or one refused before its bounds were known) and
 * on events written before this migration.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table usage_events add column reserved_cost numeric(28,12)`.execute(db);
  await sql`create index usage_events_refused_at on usage_events (at) where status not between 200 and 299`.execute(db);
  await sql`create index usage_events_refused_user_at on usage_events (user_id, at) where status not between 200 and 299`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists usage_events_refused_user_at`.execute(db);
  await sql`drop index if exists usage_events_refused_at`.execute(db);
  await sql`alter table usage_events drop column if exists reserved_cost`.execute(db);
}
