/**
 * @module Rollups for the Usage page on long histories (bench/dashboard.ts):
 * usage_model_daily (day × model) answers everyone's usage by day or model,
 * usage_monthly (month × key × model) everyone's usage by key or user over
 * whole months; the ledger's writer keeps both in the same statement as
 * usage_daily. Indexes: (key_id, day) for the keys filter, BRIN on day so a
 * range reads only its own pages of usage_daily (the heap is in day order).
 */
import { sql, type Kysely } from 'kysely';

const counters = `requests bigint not null default 0,
    errors bigint not null default 0,
    prompt_tokens bigint not null default 0,
    completion_tokens bigint not null default 0,
    cost numeric(28,12) not null default 0`;

const statements = [
  `create index usage_daily_key_day on usage_daily (key_id, day)`,
  `create index usage_daily_day_brin on usage_daily using brin (day) with (pages_per_range = 16)`,
  `create table usage_model_daily (
    day date not null,
    model_id text not null,
    ${counters},
    primary key (day, model_id)
  )`,
  `create table usage_monthly (
    month date not null,
    key_id text not null,
    user_id text not null,
    model_id text not null,
    ${counters},
    primary key (month, key_id, model_id)
  )`,
  `insert into usage_model_daily (day, model_id, requests, errors, prompt_tokens, completion_tokens, cost)
   select day, model_id, sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cost)
   from usage_daily group by day, model_id`,
  `insert into usage_monthly (month, key_id, user_id, model_id, requests, errors, prompt_tokens, completion_tokens, cost)
   select date_trunc('month', day)::date, key_id, max(user_id), model_id,
          sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cost)
   from usage_daily group by 1, key_id, model_id`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const s of statements) await sql.raw(s).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const s of ['drop table if exists usage_monthly', 'drop table if exists usage_model_daily',
    'drop index if exists usage_daily_day_brin', 'drop index if exists usage_daily_key_day']) await sql.raw(s).execute(db);
}
