/**
 * @module Admin API tokens, and two things a key's owner or an admin now
 * does to a key or a user in place.
 *
 * - `admin_tokens`: named, scoped, expiring, revocable bearer tokens for the
 *   admin API, stored as sha256 only (the token is shown once). `team_id` is a
 *   plain text column: a team-scoped token names a team (teams arrive in their
 *   own migration; no foreign key ties the two).
 * - Rotation with a grace period: the secret a rotation replaced keeps working
 *   until `previous_valid_until` (`previous_hash` is its sha256). The gateway
 *   holds both hashes; the old one as a key expiring at the grace's end.
 * - Admin spend reset: the spend counted toward a budget restarts from zero
 *   without deleting usage. `spend_credit` is the period's spend at the reset,
 *   forgiven until `spend_credit_until` (the period's end; far future for a
 *   budget with no period), so the budget reads (spend − credit) meanwhile.
 */
import { sql, type Kysely } from 'kysely';

const statements = [
  `create table admin_tokens (
    id text primary key,
    name text not null,
    prefix text not null,
    hash text not null unique,
    scope text not null check (scope in ('admin', 'admin-readonly', 'team')),
    team_id text,
    created_by text not null,
    created_at timestamptz not null default now(),
    expires_at timestamptz,
    revoked_at timestamptz,
    last_used_at timestamptz,
    check ((scope = 'team') = (team_id is not null))
  )`,
  `alter table api_keys add column previous_hash text`,
  `alter table api_keys add column previous_valid_until timestamptz`,
  `alter table api_keys add column spend_reset_at timestamptz`,
  `alter table api_keys add column spend_credit numeric(28,12)`,
  `alter table api_keys add column spend_credit_until timestamptz`,
  `alter table users add column spend_reset_at timestamptz`,
  `alter table users add column spend_credit numeric(28,12)`,
  `alter table users add column spend_credit_until timestamptz`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const s of statements) await sql.raw(s).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql.raw('drop table if exists admin_tokens').execute(db);
  for (const c of ['previous_hash', 'previous_valid_until', 'spend_reset_at', 'spend_credit', 'spend_credit_until']) {
    await sql.raw(`alter table api_keys drop column if exists ${c}`).execute(db);
  }
  for (const c of ['spend_reset_at', 'spend_credit', 'spend_credit_until']) await sql.raw(`alter table users drop column if exists ${c}`).execute(db);
}
