/**
 * @module Every API a vLLM fleet serves (issue 9): models of kind `rerank`
 * and `audio`; prices for cached input tokens (vLLM's prefix cache reports
 * them), per minute of audio and per request; and on each usage event the
 * endpoint it came through, its cached prompt tokens and its audio duration,
 * so that a cost can be explained line by line in an export. And which key
 * created each stored response on which deployment (response_routes), so
 * that only that key reaches it again, on the deployment that holds it.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table models drop constraint if exists models_kind_check`.execute(db);
  await sql`alter table models add constraint models_kind_check check (kind in ('chat','completion','embedding','rerank','audio'))`.execute(db);
  // null: cached input costs what input costs.
  await sql`alter table models add column cached_input_price_per_1m numeric(20,6)`.execute(db);
  await sql`alter table models add column audio_price_per_minute numeric(20,6) not null default 0`.execute(db);
  await sql`alter table models add column request_price numeric(20,6) not null default 0`.execute(db);
  await sql`alter table usage_events add column endpoint text`.execute(db);
  await sql`alter table usage_events add column cached_tokens integer not null default 0`.execute(db);
  await sql`alter table usage_events add column audio_ms integer not null default 0`.execute(db);
  await sql`create table response_routes (
    id text primary key,
    key_id text not null,
    model_id text not null,
    deployment_id text not null,
    tokens integer,
    created_at timestamptz not null default now()
  )`.execute(db);
  await sql`create index response_routes_created on response_routes(created_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists response_routes`.execute(db);
  for (const c of ['endpoint', 'cached_tokens', 'audio_ms']) await sql.raw(`alter table usage_events drop column if exists ${c}`).execute(db);
  for (const c of ['cached_input_price_per_1m', 'audio_price_per_minute', 'request_price']) await sql.raw(`alter table models drop column if exists ${c}`).execute(db);
  await sql`alter table models drop constraint if exists models_kind_check`.execute(db);
  await sql`alter table models add constraint models_kind_check check (kind in ('chat','completion','embedding'))`.execute(db);
}
