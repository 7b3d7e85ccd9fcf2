/**
 * @module Teams. A team is also a row of `users` (`kind = 'team'`, same id):
 * its budget, period, rpm and tpm live there, its model subscriptions are
 * subscriptions of that row, and its keys (team keys) are keys of that row.
 * So everything that already holds a person's limits across replicas — the
 * snapshot, the in-process and Redis admission with leases, the rollups —
 * holds a team's with no second code path, and a team key keeps working
 * when the person who created it (`api_keys.created_by`) leaves. The row can
 * never sign in: it has no password and no identity.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table users add column kind text not null default 'person' check (kind in ('person', 'team'))`.execute(db);
  await sql`create table teams (
    id text primary key references users(id) on delete cascade,
    name text not null unique,
    description text,
    created_by text,
    created_at timestamptz not null default now()
  )`.execute(db);
  await sql`create table team_members (
    team_id text not null references teams(id) on delete cascade,
    user_id text not null references users(id) on delete cascade,
    role text not null check (role in ('owner', 'member')),
    added_at timestamptz not null default now(),
    primary key (team_id, user_id)
  )`.execute(db);
  await sql`create index team_members_user on team_members (user_id)`.execute(db);
  // Who created a team key (a person's own keys: null, the owner made them).
  await sql`alter table api_keys add column created_by text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table api_keys drop column if exists created_by`.execute(db);
  await sql`drop table if exists team_members`.execute(db);
  await sql`drop table if exists teams`.execute(db);
  await sql`alter table users drop column if exists kind`.execute(db);
}
