/**
 * @module The SQL behind the spend counters (budgets.ts): a request's cold
 * scopes' usage_daily rows summed per segment of days (an index lookup each,
 * on (key_id, day), (user_id, day) or (user_id, model_id, day)), or every
 * scope's at once, each in one repeatable-read snapshot together with the
 * check of which of the ledger's unwritten events that snapshot already has.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import { periodStart } from './budgets.js';
import { sliceParts } from './key-slices.js';

export type Kind = 'k' | 'u' | 's';
export interface ScopeRef { kind: Kind; keyId: string; userId: string; modelId: string }
/** A segment's sums; `seg` null is everything before the window (only its cost counts). */
export interface SegmentRow { seg: string | null; requests: number; tokens: number; cost: string }

/** The earliest day any period can start from on `now`'s day: the week's or the month's start. */
export const windowOf = (now: Date): string => [periodStart('weekly', now)!, periodStart('monthly', now)!].sort()[0]!;

/**
 * Scopes' rows (one index lookup each, in one statement), and which of `ids()` (asked after that
 * statement, so it sees every event counted before the snapshot was taken) are in usage_events
 * in the same snapshot. `rows[j]` are the rows of `refs[j]`.
 */
export function readScopes(db: Kysely<Database>, refs: readonly ScopeRef[], w: string, now: Date, ids: () => string[]): Promise<{ rows: SegmentRow[][]; written: Set<string> }> {
  const seg = segment(w, now);
  const parts = refs.map((r, j) => {
    const slice = r.kind === 'k' ? sliceParts(r.keyId) : null; // a key's limit on one model: its rows for that model
    const where = slice ? sql`key_id = ${slice[0]} and model_id = ${slice[1]}` : r.kind === 'k' ? sql`key_id = ${r.keyId}` : r.kind === 'u' ? sql`user_id = ${r.userId}`
      : sql`user_id = ${r.userId} and model_id = ${r.modelId} and day >= ${w}::date`; // quotas are monthly: nothing before the window
    return sql`(select ${j}::int4 as j, ${seg} as seg, sum(requests)::int8 as requests, sum(prompt_tokens + completion_tokens)::int8 as tokens, sum(cost)::text as cost
      from usage_daily where ${where} group by 2)`;
  });
  return db.transaction().setIsolationLevel('repeatable read').execute(async (trx) => {
    const all = (await sql<SegmentRow & { j: number }>`${sql.join(parts, sql` union all `)}`.execute(trx)).rows;
    const rows = refs.map((): SegmentRow[] => []);
    for (const r of all) rows[r.j]!.push(r);
    return { rows, written: await writtenIds(trx, ids()) };
  });
}

export interface AllRows {
  recent: Array<{ g: number; seg: string; key_id: string; user_id: string; model_id: string; requests: number; tokens: number; cost: string }>;
  older: Array<{ id: string; cost: string }>;
  written: Set<string>;
}

/** Every scope's rows of the window summed per segment, and the all-time cost before it per key and user. */
export function readAll(db: Kysely<Database>, w: string, now: Date, ids: string[]): Promise<AllRows> {
  return db.transaction().setIsolationLevel('repeatable read').execute(async (trx) => {
    // Summed in the database per scope and segment, not read row by row (a million rows a day is a million keys' worth).
    const recent = await sql<AllRows['recent'][number]>`
      select grouping(key_id, user_id, model_id) as g, seg, key_id, user_id, model_id,
             sum(requests)::int8 as requests, sum(prompt_tokens + completion_tokens)::int8 as tokens, sum(cost)::text as cost
      from (select ${segment(w, now)} as seg, key_id, user_id, model_id, requests, prompt_tokens, completion_tokens, cost
            from usage_daily where day >= ${w}::date) r
      group by grouping sets ((seg, key_id), (seg, user_id), (seg, user_id, model_id))`.execute(trx);
    const older = await sql<{ id: string; cost: string }>`
      select 'k:' || key_id as id, sum(cost)::text as cost from usage_daily where day < ${w} group by key_id
      union all
      select 'u:' || user_id as id, sum(cost)::text as cost from usage_daily where day < ${w} group by user_id`.execute(trx);
    return { recent: recent.rows, older: older.rows, written: await writtenIds(trx, ids) };
  });
}

async function writtenIds(trx: Transaction<Database>, ids: string[]): Promise<Set<string>> {
  const written = new Set<string>();
  for (let i = 0; i < ids.length; i += 10_000) { // a long outage leaves a long backlog
    const some = ids.slice(i, i + 10_000);
    for (const r of (await sql<{ id: string }>`select id from usage_events where id = any(${some}::text[])`.execute(trx)).rows) written.add(r.id);
  }
  return written;
}

/**
 * The bucket a day of the window is summed into: the latest of the window's start, the week's,
 * the month's and today that is not after it (a day after today keeps its own; a day before the
 * window gets NULL). No segment straddles a period's start, so the tracker sums them as it sums
 * days, exactly, today and after the date moves on.
 */
function segment(w: string, now: Date) {
  const today = periodStart('daily', now)!;
  const bounds = [...new Set([w, periodStart('weekly', now)!, periodStart('monthly', now)!, today])].sort().reverse();
  return sql`case when day > ${today}::date then day::text ${sql.join(bounds.map((b) => sql`when day >= ${b}::date then ${b}::text`), sql` `)} end`;
}
