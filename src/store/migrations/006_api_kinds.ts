/**
 * @module Every API a vLLM fleet serves (issue 9): models of kind `rerank`
 * and `audio`; prices for cached input tokens (vLLM's prefix cache reports
 * them), per minute of audio and per request; and on each usage event the
 * endpoint it came through, its cached prompt tokens and its audio duration,
 * so that a cost can be explained line by line in an export.
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
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const c of ['endpoint', 'cached_tokens', 'audio_ms']) await sql.raw(`alter table usage_events drop column if exists ${c}`).execute(db);
  for (const c of ['cached_input_price_per_1m', 'audio_price_per_minute', 'request_price']) await sql.raw(`alter table models drop column if exists ${c}`).execute(db);
  await sql`alter table models drop constraint if exists models_kind_check`.execute(db);
  await sql`alter table models add constraint models_kind_check check (kind in ('chat','completion','embedding'))`.execute(db);
}
