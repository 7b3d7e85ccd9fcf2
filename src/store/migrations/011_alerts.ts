/**
 * @module Budget alerts and notifications (src/notify). `alert_crossings` is
 * the exactly-once guard: a crossing is notified by the one replica whose
 * insert of (scope, scope_id, period_start, threshold) wins. `notifications`
 * is the portal's drawer, one row per recipient. `notification_deliveries`
 * is the outbox of webhook and e-mail sends (claimed with FOR UPDATE SKIP
 * LOCKED, so two replicas never send the same one) and, with
 * `notification_attempts`, the log admins read.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql.raw(`create table alert_crossings (
    scope text not null,
    scope_id text not null,
    period_start date not null,
    threshold text not null,
    spend numeric(28,12),
    budget numeric(28,12),
    at timestamptz not null default now(),
    primary key (scope, scope_id, period_start, threshold)
  )`).execute(db);
  await sql.raw(`create table notifications (
    id text primary key,
    user_id text not null references users(id) on delete cascade,
    type text not null,
    title text not null,
    body text not null,
    data jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    read_at timestamptz
  )`).execute(db);
  await sql`create index notifications_user_created on notifications (user_id, created_at desc)`.execute(db);
  await sql.raw(`create table notification_deliveries (
    id text primary key,
    channel text not null check (channel in ('webhook', 'email')),
    target text not null,
    type text not null,
    payload jsonb not null,
    status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
    attempts int not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_error text,
    created_at timestamptz not null default now(),
    sent_at timestamptz
  )`).execute(db);
  await sql`create index notification_deliveries_due on notification_deliveries (next_attempt_at) where status = 'pending'`.execute(db);
  await sql`create index notification_deliveries_created on notification_deliveries (created_at desc)`.execute(db);
  await sql.raw(`create table notification_attempts (
    delivery_id text not null references notification_deliveries(id) on delete cascade,
    attempt int not null,
    at timestamptz not null default now(),
    ok boolean not null,
    status_code int,
    error text,
    duration_ms int not null,
    primary key (delivery_id, attempt)
  )`).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['notification_attempts', 'notification_deliveries', 'notifications', 'alert_crossings']) await sql.raw(`drop table if exists ${t}`).execute(db);
}
