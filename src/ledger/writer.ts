/**
 * @module Batched, idempotent writes of usage to PostgreSQL. One statement per
 * chunk inserts the events (ON CONFLICT DO NOTHING on the request id) and adds
 * only the rows actually inserted to the rollups, so a replayed journal can
 * never count an event twice, and events and their rollups commit together.
 * Columns travel as 19 arrays (unnest), not 19 parameters per row: cheaper to
 * encode and to parse at high rates.
 *
 * A batch that fails for a reason other than connectivity is split in halves
 * until each bad event stands alone; that one is dead-lettered and the rest
 * are written. One event PostgreSQL refuses must never hold back everyone
 * else's, in this process or after a restart (the journal would replay it).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { UsageEvent } from './event.js';
import { sanitize } from '../shared/sanitize.js';

const ROWS_PER_STATEMENT = 5000;

const COUNTERS = ['requests', 'errors', 'prompt_tokens', 'completion_tokens', 'cost'];

/**
 * One rollup's upsert of the events just inserted (`ev`): the same five counters, grouped by the
 * rollup's own key. Static SQL built once; only the event arrays are parameters. Rows are upserted
 * in key order, so replicas writing the same rollup rows lock them in the same order and cannot deadlock.
 */
function rollup(cte: string, table: string, keys: { cols: string; select: string; group: string; conflict: string }): string {
  return `${cte} as (
      insert into ${table} (${keys.cols}, ${COUNTERS.join(', ')})
      select ${keys.select},
             count(*) filter (where status between 200 and 299), count(*) filter (where status not between 200 and 299),
             sum(prompt_tokens), sum(completion_tokens), sum(cost)
      from ev group by ${keys.group} order by ${keys.group}
      on conflict (${keys.conflict}) do update set
        ${COUNTERS.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(',\n        ')}
    )`;
}

const DAY = "(at at time zone 'UTC')::date";
// usage_daily for people's own views; per model by day and per key by month for everyone's (the Usage page on long histories);
// per key by UTC hour for the hourly view of short ranges.
const ROLLUPS = [
  rollup('daily', 'usage_daily', { cols: 'day, key_id, user_id, model_id', select: `${DAY}, key_id, max(user_id), model_id`, group: '1, key_id, model_id', conflict: 'day, key_id, model_id' }),
  rollup('model_daily', 'usage_model_daily', { cols: 'day, model_id', select: `${DAY}, model_id`, group: '1, model_id', conflict: 'day, model_id' }),
  rollup('hourly', 'usage_hourly', { cols: 'hour, key_id, user_id, model_id', select: `date_trunc('hour', at at time zone 'UTC'), key_id, max(user_id), model_id`, group: '1, key_id, model_id', conflict: 'hour, key_id, model_id' }),
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
                                cost, latency_ms, ttft_ms, stream, estimated, error_code, endpoint, cached_tokens, audio_ms, reserved_cost)
      select * from unnest(
        ${col((e) => e.id)}::text[], ${col((e) => e.at)}::timestamptz[], ${col((e) => e.keyId)}::text[],
        ${col((e) => e.userId)}::text[], ${col((e) => e.modelId)}::text[], ${col((e) => e.deploymentId)}::text[],
        ${col((e) => e.status)}::int[], ${col((e) => e.promptTokens)}::int[], ${col((e) => e.completionTokens)}::int[],
        ${col((e) => e.cost)}::numeric[], ${col((e) => e.latencyMs)}::int[], ${col((e) => e.ttftMs)}::int[],
        ${col((e) => e.stream)}::bool[], ${col((e) => e.estimated)}::bool[], ${col((e) => e.errorCode)}::text[],
        ${col((e) => e.endpoint ?? null)}::text[], ${col((e) => e.cachedTokens ?? 0)}::int[], ${col((e) => e.audioMs ?? 0)}::int[],
        ${col((e) => e.reservedCost ?? null)}::numeric[])
      on conflict (id) do nothing
      returning at, key_id, user_id, model_id, status, prompt_tokens, completion_tokens, cost
    ), ${sql.raw(ROLLUPS)}, used as (
      -- A key another replica is stamping right now is skipped (the next batch that uses it stamps it): no lock waits, no deadlock.
      update api_keys k set last_used_at = greatest(k.last_used_at, u.at)
      from (select key_id, max(at) as at from ev group by key_id) u
      where k.id = u.key_id and k.id in (select id from api_keys where id in (select key_id from ev) order by id for update skip locked)
    )
    select count(*)::int as inserted from ev`.execute(db);
  return r.rows[0]!.inserted;
}

/** Node socket errors: the database is unreachable, not the batch at fault. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);
/** Messages of pg / pg-pool / PGlite when the connection, not the data, failed; they carry no code. */
const TRANSIENT_MESSAGE = /connection terminated|timeout|connection error|not queryable|after calling end|is closed|ECONN|EPIPE/i;

/**
 * True when retrying the same batch later can succeed: connectivity (SQLSTATE
 * class 08, 57P01-57P04 shutdown, node socket errors), exhausted resources
 * (53, 58 system/I-O), and the transient refusals of a busy server (40
 * deadlock/serialization, 55P03 lock timeout, 57014 statement timeout) — a
 * bisection on those would dead-letter good events. Anything else (22 data
 * exception, 23 constraint, 42 …) is the batch's fault and is bisected.
 */
export function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (SOCKET_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code)) {
      const cls = code.slice(0, 2);
      return cls === '08' || cls === '53' || cls === '58' || cls === '40' || code.startsWith('57P0') || code === '57014' || code === '55P03';
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return TRANSIENT_MESSAGE.test(message);
}

export interface DeadLetter {
  event: UsageEvent;
  reason: string;
  code: string | null;
  /** usage_dead_letters; or the fallback file when the database refused that too; or nowhere (log it whole). */
  storedIn?: 'table' | 'file' | 'nowhere';
}

/**
 * Where a dead letter goes when the database refuses even that: one NDJSON line, made durable
 * before the journal drops the event. Returns false if it could not be stored.
 */
export type DeadLetterFallback = (line: string) => boolean;

// What the columns accept: cost fits numeric(28,12) and is not negative, NaN or Infinity (which
// PostgreSQL would store and then add into the rollups forever); `at` looks like an ISO instant.
const COST = /^\d{1,16}(\.\d{1,12})?$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/;

/** Why `e` cannot be written as it is, without a round trip; null if it looks writable. */
function unwritable(e: UsageEvent): string | null {
  if (typeof e.cost !== 'string' || !COST.test(e.cost)) return 'cost is not a non-negative decimal that numeric(28,12) holds';
  if (typeof e.at !== 'string' || !INSTANT.test(e.at)) return 'at is not an ISO-8601 instant';
  return null;
}

function describe(err: unknown): { reason: string; code: string | null } {
  const c = (err as { code?: unknown } | null)?.code;
  const code = typeof c === 'string' ? sanitize(c, 16) : null;
  const message = err instanceof Error ? err.message : String(err);
  return { reason: sanitize(code ? `${code}: ${message}` : message, 1000), code };
}

/**
 * Stores a dead letter in usage_dead_letters (the event as JSON text: JSON.stringify
 * escapes every control character and lone surrogate, so the text is storable even when
 * the event is not). A transient failure is thrown (retry later); any other failure sends
 * the line to `fallback`. Returns false if the event was dead-lettered before (a replay).
 */
export async function deadLetter(db: Kysely<Database>, d: DeadLetter, fallback: DeadLetterFallback): Promise<boolean> {
  const event = JSON.stringify(d.event).replace(/\u0000/g, '\\u0000'); // already escaped by stringify; kept explicit because NUL is what PostgreSQL refuses
  try {
    const r = await db.insertInto('usage_dead_letters')
      .values({ event_id: d.event.id == null ? null : sanitize(String(d.event.id)), reason: d.reason, code: d.code, event })
      .onConflict((oc) => oc.column('event_id').doNothing())
      .returning('id')
      .execute();
    d.storedIn = 'table';
    return r.length > 0;
  } catch (err) {
    if (isTransient(err)) throw err;
    const line = JSON.stringify({ at: new Date().toISOString(), reason: d.reason, code: d.code, storeError: describe(err).reason, event: d.event });
    d.storedIn = fallback(line) ? 'file' : 'nowhere';
    return true;
  }
}

export interface IsolatedWrite {
  /** Events written (or found already there: a replay). */
  written: number;
  /** Events dead-lettered by this call (a replayed dead letter already stored is not repeated here). */
  deadLettered: DeadLetter[];
  /** Events neither written nor dead-lettered because the database became unreachable; retry them. */
  remaining: UsageEvent[];
  /** The transient error that stopped the write, or null. */
  error: unknown;
}

/**
 * Writes `events`; events the database refuses for a reason of their own are found by
 * bisection (k bad events among n cost about 2k·log2(n) statements) and dead-lettered.
 * Only a transient error stops it; what it did not settle comes back in `remaining`.
 */
export async function writeUsageIsolating(db: Kysely<Database>, events: UsageEvent[], fallback: DeadLetterFallback): Promise<IsolatedWrite> {
  const deadLettered: DeadLetter[] = [];
  const settled = new Set<UsageEvent>();
  let written = 0;
  const bury = async (event: UsageEvent, reason: string, code: string | null): Promise<void> => {
    const d: DeadLetter = { event, reason, code };
    if (await deadLetter(db, d, fallback)) deadLettered.push(d);
    settled.add(event);
  };
  const bisect = async (ev: UsageEvent[]): Promise<void> => {
    try {
      await writeUsage(db, ev);
      for (const e of ev) settled.add(e);
      written += ev.length;
    } catch (err) {
      if (isTransient(err)) throw err;
      if (ev.length > 1) {
        const mid = ev.length >>> 1;
        await bisect(ev.slice(0, mid));
        return bisect(ev.slice(mid));
      }
      const { reason, code } = describe(err);
      await bury(ev[0]!, reason, code);
    }
  };
  try {
    const valid: UsageEvent[] = [];
    for (const e of events) {
      const why = unwritable(e);
      if (why) await bury(e, why, null);
      else valid.push(e);
    }
    if (valid.length > 0) await bisect(valid);
    return { written, deadLettered, remaining: [], error: null };
  } catch (err) {
    return { written, deadLettered, remaining: events.filter((e) => !settled.has(e)), error: err };
  }
}
