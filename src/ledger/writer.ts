/**
 * @module Batched, idempotent writes of usage to PostgreSQL. One statement per
 * chunk inserts the events (ON CONFLICT DO NOTHING on the request id) and adds
 * only the rows actually inserted to the rollups, so a replayed journal can
 * never count an event twice, and events and their rollups commit together.
 * Columns travel as 15 arrays (unnest), not 15 parameters per row: cheaper to
 * encode and to parse at high rates.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { UsageEvent } from './event.js';

const ROWS_PER_STATEMENT = 5000;

const COUNTERS = ['requests', 'errors', 'prompt_tokens', 'completion_tokens', 'cost'];

/**
 * One rollup's upsert of the events just inserted (`ev`): the same five counters, grouped by the
 * rollup's own key. Static SQL built once; only the event arrays are parameters.
 */
function rollup(cte: string, table: string, keys: { cols: string; select: string; group: string; conflict: string }): string {
  return `${cte} as (
      insert into ${table} (${keys.cols}, ${COUNTERS.join(', ')})
      select ${keys.select},
             count(*) filter (where status between 200 and 299), count(*) filter (where status not between 200 and 299),
             sum(prompt_tokens), sum(completion_tokens), sum(cost)
      from ev group by ${keys.group}
      on conflict (${keys.conflict}) do update set
        ${COUNTERS.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(',\n        ')}
    )`;
}

const DAY = "(at at time zone 'UTC')::date";
// usage_daily for people's own views; per model by day and per key by month for everyone's (the Usage page on long histories).
const ROLLUPS = [
  rollup('daily', 'usage_daily', { cols: 'day, key_id, user_id, model_id', select: `${DAY}, key_id, max(user_id), model_id`, group: '1, key_id, model_id', conflict: 'day, key_id, model_id' }),
  rollup('model_daily', 'usage_model_daily', { cols: 'day, model_id', select: `${DAY}, model_id`, group: '1, model_id', conflict: 'day, model_id' }),
  rollup('monthly', 'usage_monthly', { cols: 'month, key_id, user_id, model_id', select: `date_trunc('month', at at time zone 'UTC')::date, key_id, max(user_id), model_id`, group: '1, key_id, model_id', conflict: 'month, key_id, model_id' }),
].join(', ');

export async function writeUsage(db: Kysely<Database>, events: UsageEvent[]): Promise<number> {
  let inserted = 0;
  for (let i = 0; i < events.length; i += ROWS_PER_STATEMENT) {
    inserted += await writeChunk(db, events.slice(i, i + ROWS_PER_STATEMENT));
  }
  return inserted;
}

async function writeChunk(db: Kysely<Database>, ev: UsageEvent[]): Promise<number> {
  const col = <T>(f: (e: UsageEvent) => T): T[] => ev.map(f);
  // The api_keys trigger ignores updates of last_used_at alone, so stamping it does not make gateways reload.
  // PostgreSQL runs every data-modifying CTE to completion whether or not the final select reads it.
  const r = await sql<{ inserted: number }>`
    with ev as (
      insert into usage_events (id, at, key_id, user_id, model_id, deployment_id, status, prompt_tokens, completion_tokens,
                                cost, latency_ms, ttft_ms, stream, estimated, error_code)
      select * from unnest(
        ${col((e) => e.id)}::text[], ${col((e) => e.at)}::timestamptz[], ${col((e) => e.keyId)}::text[],
        ${col((e) => e.userId)}::text[], ${col((e) => e.modelId)}::text[], ${col((e) => e.deploymentId)}::text[],
        ${col((e) => e.status)}::int[], ${col((e) => e.promptTokens)}::int[], ${col((e) => e.completionTokens)}::int[],
        ${col((e) => e.cost)}::numeric[], ${col((e) => e.latencyMs)}::int[], ${col((e) => e.ttftMs)}::int[],
        ${col((e) => e.stream)}::bool[], ${col((e) => e.estimated)}::bool[], ${col((e) => e.errorCode)}::text[])
      on conflict (id) do nothing
      returning at, key_id, user_id, model_id, status, prompt_tokens, completion_tokens, cost
    ), ${sql.raw(ROLLUPS)}, used as (
      update api_keys k set last_used_at = greatest(k.last_used_at, u.at)
      from (select key_id, max(at) as at from ev group by key_id) u where k.id = u.key_id
    )
    select count(*)::int as inserted from ev`.execute(db);
  return r.rows[0]!.inserted;
}
