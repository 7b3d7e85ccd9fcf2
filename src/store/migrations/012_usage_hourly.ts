/**
 * @module usage_hourly: usage_daily by UTC hour (hour × key × model), kept by
 * the ledger's writer in the same statement as usage_daily, so the Usage
 * page's hourly view (today, the last 24 h) reads a few hundred rollup rows
 * instead of scanning a day's events. `hour` is a timestamp without time zone
 * holding the UTC hour, like usage_daily's `day` holds the UTC day. Backfilled
 * from usage_events. Indexes: (user_id, hour) and (key_id, hour) for people's
 * and keys' views; the primary key leads with hour for everyone's.
 */
import { sql, type Kysely } from 'kysely';

const statements = [
  `create table usage_hourly (
    hour timestamp not null,
    key_id text not null,
    user_id text not null,
    model_id text not null,
    requests bigint not null default 0,
    errors bigint not null default 0,
    prompt_tokens bigint not null default 0,
    completion_tokens bigint not null default 0,
    cost numeric(28,12) not null default 0,
    primary key (hour, key_id, model_id)
  )`,
  `create index usage_hourly_user_hour on usage_hourly (user_id, hour)`,
  `create index usage_hourly_key_hour on usage_hourly (key_id, hour)`,
  `insert into usage_hourly (hour, key_id, user_id, model_id, requests, errors, prompt_tokens, completion_tokens, cost)
   select date_trunc('hour', at at time zone 'UTC'), key_id, max(user_id), model_id,
          count(*) filter (where status between 200 and 299), count(*) filter (where status not between 200 and 299),
          sum(prompt_tokens), sum(completion_tokens), sum(cost)
   from usage_events group by 1, key_id, model_id`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const s of statements) await sql.raw(s).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists usage_hourly`.execute(db);
}
