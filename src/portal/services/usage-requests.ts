/**
 * @module Per-request usage export: one line per usage event, so every cost in a summary can be
 * explained request by request. Reads usage_events through its (user_id, at) and (key_id, at)
 * indexes, newest first, bounded by `limit`. The rows are fetched from one server-side cursor in
 * batches and turned into text (CSV lines or JSON objects) batch by batch, so at most one batch of
 * row objects is alive at a time and at most limit + 1 rows (the one extra says "truncated") are read.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import type { UsageRequestRow } from '../../shared/api-types.js';
import { invalid } from '../errors.js';
import { csvCell, dateRange, type UsageQuery } from './usage.js';

export const REQUESTS_DEFAULT_LIMIT = 10_000;
export const REQUESTS_MAX_LIMIT = 100_000;
const BATCH = 2_000;

export type RequestsQuery = Omit<UsageQuery, 'groupBy'> & { limit?: string | number };

/** `limit` as sent in a query string: an integer from 1 to 100 000, 10 000 when absent. */
export function requestsLimit(v: string | number | undefined): number {
  if (v === undefined || v === '') return REQUESTS_DEFAULT_LIMIT;
  const n = typeof v === 'number' ? v : /^[0-9]{1,7}$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > REQUESTS_MAX_LIMIT) throw invalid('limit', `must be an integer from 1 to ${REQUESTS_MAX_LIMIT}`);
  return n;
}

const nextDay = (d: string) => new Date(Date.parse(d + 'T00:00:00Z') + 86_400_000).toISOString().slice(0, 10);

/**
 * The query (newest first, limit + 1 rows) for a range of UTC days [from, to]. Exported so a test can
 * EXPLAIN it: for one user it is an index scan backward on usage_events(user_id, at).
 */
export function requestsQuery(db: Kysely<Database>, q: RequestsQuery, limit: number, range = dateRange(q)) {
  let b = db.selectFrom('usage_events as e')
    .leftJoin('api_keys as k', 'k.id', 'e.key_id')
    .leftJoin('users as u', 'u.id', 'e.user_id')
    .select([
      sql<string>`to_char(e.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`.as('at'),
      'e.id as requestId', 'e.key_id as keyId', 'k.name as keyName', 'e.user_id as userId', 'u.username',
      'e.model_id as modelId', 'e.endpoint', 'e.status', 'e.stream', 'e.prompt_tokens as promptTokens',
      'e.cached_tokens as cachedTokens', 'e.completion_tokens as completionTokens', 'e.audio_ms as audioMs',
      sql<string>`e.cost::text`.as('cost'), 'e.estimated', 'e.error_code as errorCode', 'e.latency_ms as latencyMs',
    ])
    .where('e.at', '>=', sql<Date>`${range.from + 'T00:00:00Z'}::timestamptz`)
    .where('e.at', '<', sql<Date>`${nextDay(range.to) + 'T00:00:00Z'}::timestamptz`);
  if (q.userId) b = b.where('e.user_id', '=', q.userId);
  if (q.models?.length) b = b.where('e.model_id', 'in', q.models);
  if (q.keys?.length) b = b.where('e.key_id', 'in', q.keys);
  return b.orderBy('e.at', 'desc').orderBy('e.id', 'desc').limit(limit + 1);
}

type Raw = Omit<UsageRequestRow, 'audioSeconds'> & { audioMs: number };

const toRow = (r: Raw): UsageRequestRow => {
  const { audioMs, ...rest } = r;
  return {
    at: rest.at, requestId: rest.requestId, keyId: rest.keyId, keyName: rest.keyName ?? null, userId: rest.userId, username: rest.username ?? null,
    modelId: rest.modelId, endpoint: rest.endpoint ?? null, status: Number(rest.status), stream: Boolean(rest.stream),
    promptTokens: Number(rest.promptTokens), cachedTokens: Number(rest.cachedTokens), completionTokens: Number(rest.completionTokens),
    audioSeconds: (Number(audioMs) / 1000).toFixed(3), cost: rest.cost, estimated: Boolean(rest.estimated),
    errorCode: rest.errorCode ?? null, latencyMs: Number(rest.latencyMs),
  };
};

/** The CSV columns, in order: the fields of UsageRequestRow. */
export const REQUEST_COLUMNS: Array<keyof UsageRequestRow> = [
  'at', 'requestId', 'keyId', 'keyName', 'userId', 'username', 'modelId', 'endpoint', 'status', 'stream',
  'promptTokens', 'cachedTokens', 'completionTokens', 'audioSeconds', 'cost', 'estimated', 'errorCode', 'latencyMs',
];

export interface RequestsExport { from: string; to: string; limit: number; rows: number; truncated: boolean; body: string }

/**
 * The export as one text body. `format` decides each row's text: a CSV line (cells cleaned like the
 * summary export's) or a JSON object; JSON is `{from, to, limit, truncated, rows: [...]}`.
 */
export async function exportRequests(db: Kysely<Database>, q: RequestsQuery, format: 'csv' | 'json'): Promise<RequestsExport> {
  const range = dateRange(q);
  const limit = requestsLimit(q.limit);
  const parts: string[] = [];
  let n = 0;
  let truncated = false;
  await db.transaction().execute(async (trx) => {
    await sql`declare usage_requests no scroll cursor for ${requestsQuery(trx, q, limit, range)}`.execute(trx);
    for (;;) {
      const { rows } = await sql<Raw>`fetch forward ${sql.lit(BATCH)} from usage_requests`.execute(trx);
      for (const r of rows) {
        if (n === limit) { truncated = true; break; }
        const row = toRow(r);
        parts.push(format === 'csv' ? REQUEST_COLUMNS.map((c) => csvCell(row[c])).join(',') : JSON.stringify(row));
        n++;
      }
      if (truncated || rows.length < BATCH) break;
    }
    await sql`close usage_requests`.execute(trx);
  });
  const body = format === 'csv'
    ? [REQUEST_COLUMNS.join(','), ...parts].join('\r\n') + '\r\n'
    : `{"from":${JSON.stringify(range.from)},"to":${JSON.stringify(range.to)},"limit":${limit},"truncated":${truncated},"rows":[\n${parts.join(',\n')}\n]}\n`;
  return { ...range, limit, rows: n, truncated, body };
}
