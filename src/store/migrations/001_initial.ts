/**
 * @module The tables of DESIGN §4, and the trigger that tells every gateway
 * process (LISTEN litemaas_changes) that keys, users, subscriptions, models or
 * deployments changed, whoever changed them.
 */
import { sql, type Kysely } from 'kysely';

const statements = [
  `create table users (
    id text primary key,
    username text not null unique,
    email text,
    display_name text,
    password_hash text,
    oidc_issuer text,
    oidc_subject text,
    roles text[] not null default '{user}',
    max_budget numeric(28,12),
    budget_period text not null default 'none' check (budget_period in ('none','daily','weekly','monthly')),
    rpm integer,
    tpm integer,
    disabled_at timestamptz,
    created_at timestamptz not null default now(),
    last_login_at timestamptz,
    unique (oidc_issuer, oidc_subject)
  )`,
  `create table models (
    id text primary key,
    description text,
    provider text,
    kind text not null default 'chat' check (kind in ('chat','completion','embedding')),
    context_length integer,
    features text[] not null default '{}',
    input_price_per_1m numeric(20,6) not null default 0,
    output_price_per_1m numeric(20,6) not null default 0,
    restricted boolean not null default false,
    status text not null default 'active' check (status in ('active','deprecated')),
    created_at timestamptz not null default now()
  )`,
  `create table deployments (
    id text primary key,
    model_id text not null references models(id) on delete cascade,
    url text not null,
    upstream_model text not null,
    token_enc text,
    weight integer not null default 1,
    max_in_flight integer,
    timeout_ms integer not null default 120000,
    enabled boolean not null default true
  )`,
  `create index deployments_model on deployments(model_id)`,
  `create table subscriptions (
    id text primary key,
    user_id text not null references users(id) on delete cascade,
    model_id text not null references models(id) on delete cascade,
    status text not null check (status in ('active','pending','denied','suspended','cancelled')),
    quota_requests bigint,
    quota_tokens bigint,
    reason text,
    decided_by text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (user_id, model_id)
  )`,
  `create table api_keys (
    id text primary key,
    user_id text not null references users(id) on delete cascade,
    name text not null,
    description text,
    prefix text not null,
    hash text not null unique,
    secret_enc text not null,
    models text[] not null default '{}',
    max_budget numeric(28,12),
    budget_period text not null default 'none' check (budget_period in ('none','daily','weekly','monthly')),
    soft_budget numeric(28,12),
    rpm integer,
    tpm integer,
    max_parallel integer,
    expires_at timestamptz,
    revoked_at timestamptz,
    rotated_to text,
    last_used_at timestamptz,
    created_at timestamptz not null default now()
  )`,
  `create index api_keys_user on api_keys(user_id)`,
  `create table usage_events (
    id text primary key,
    at timestamptz not null,
    key_id text not null,
    user_id text not null,
    model_id text not null,
    deployment_id text,
    status integer not null,
    prompt_tokens integer not null default 0,
    completion_tokens integer not null default 0,
    cost numeric(28,12) not null default 0,
    latency_ms integer not null default 0,
    ttft_ms integer,
    stream boolean not null default false,
    estimated boolean not null default false,
    error_code text
  )`,
  `create index usage_events_key_at on usage_events(key_id, at)`,
  `create index usage_events_user_at on usage_events(user_id, at)`,
  `create table usage_daily (
    day date not null,
    key_id text not null,
    user_id text not null,
    model_id text not null,
    requests bigint not null default 0,
    errors bigint not null default 0,
    prompt_tokens bigint not null default 0,
    completion_tokens bigint not null default 0,
    cost numeric(28,12) not null default 0,
    primary key (day, key_id, model_id)
  )`,
  `create index usage_daily_user_day on usage_daily(user_id, day)`,
  `create index usage_daily_model_day on usage_daily(model_id, day)`,
  `create table audit_log (
    id bigserial primary key,
    at timestamptz not null default now(),
    actor text not null,
    action text not null,
    target text,
    details jsonb not null default '{}'
  )`,
  `create index audit_log_at on audit_log(at)`,
  `create table settings (
    key text primary key,
    value jsonb not null
  )`,
  `create function litemaas_notify_change() returns trigger language plpgsql as $$
   begin
     perform pg_notify('litemaas_changes', tg_table_name);
     return null;
   end $$`,
  ...['users', 'models', 'deployments', 'subscriptions'].map(
    (t) => `create trigger ${t}_changed after insert or update or delete on ${t}
            for each statement execute function litemaas_notify_change()`,
  ),
  `create trigger api_keys_changed after insert or delete on api_keys
   for each statement execute function litemaas_notify_change()`,
  // The ledger stamps last_used_at on every flush; that alone must not make every gateway reload its keys.
  `create trigger api_keys_updated after update on api_keys for each row
   when (row(old.name, old.hash, old.models, old.max_budget, old.budget_period, old.soft_budget, old.rpm, old.tpm,
             old.max_parallel, old.expires_at, old.revoked_at, old.user_id)
         is distinct from
         row(new.name, new.hash, new.models, new.max_budget, new.budget_period, new.soft_budget, new.rpm, new.tpm,
             new.max_parallel, new.expires_at, new.revoked_at, new.user_id))
   execute function litemaas_notify_change()`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const s of statements) await sql.raw(s).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['settings', 'audit_log', 'usage_daily', 'usage_events', 'api_keys', 'subscriptions', 'deployments', 'models', 'users']) {
    await sql.raw(`drop table if exists ${t} cascade`).execute(db);
  }
  await sql.raw('drop function if exists litemaas_notify_change()').execute(db);
}
