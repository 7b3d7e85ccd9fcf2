/**
 * @module Banners: admin announcements shown at the top of the portal, with a
 * severity, an optional schedule (starts_at/ends_at, null = open-ended) and
 * whether a person may dismiss them; banner_dismissals remembers who did
 * (one row per person and banner, gone with either). The index on the
 * schedule's end keeps "active now" a short scan when old banners pile up.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table banners (
    id text primary key,
    markdown text not null,
    severity text not null check (severity in ('info', 'warning', 'danger')),
    starts_at timestamptz,
    ends_at timestamptz,
    dismissible boolean not null default true,
    created_by text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (ends_at is null or starts_at is null or ends_at > starts_at)
  )`.execute(db);
  await sql`create index banners_ends_at on banners (ends_at)`.execute(db);
  await sql`create table banner_dismissals (
    banner_id text not null references banners(id) on delete cascade,
    user_id text not null references users(id) on delete cascade,
    dismissed_at timestamptz not null default now(),
    primary key (user_id, banner_id)
  )`.execute(db);
  await sql`create index banner_dismissals_banner on banner_dismissals (banner_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists banner_dismissals`.execute(db);
  await sql`drop table if exists banners`.execute(db);
}
