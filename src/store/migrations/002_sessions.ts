/**
 * @module Sign-in sessions for the portal. The cookie holds a random token;
 * the table holds only its sha256, so a database dump signs nobody in. Sessions
 * live in the database so that every replica accepts them.
 */
import { sql, type Kysely } from 'kysely';

const statements = [
  `create table sessions (
    id text primary key,
    user_id text not null references users(id) on delete cascade,
    csrf text not null,
    auth_method text not null,
    authenticated_at timestamptz not null default now(),
    created_at timestamptz not null default now(),
    expires_at timestamptz not null
  )`,
  `create index sessions_user on sessions(user_id)`,
  `create index sessions_expires on sessions(expires_at)`,
  `create index audit_log_action on audit_log(action, id)`,
  `create index subscriptions_status on subscriptions(status)`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const s of statements) await sql.raw(s).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql.raw('drop table if exists sessions').execute(db);
  await sql.raw('drop index if exists audit_log_action').execute(db);
  await sql.raw('drop index if exists subscriptions_status').execute(db);
}
