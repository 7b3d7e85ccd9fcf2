/**
 * @module One request's usage, as journaled and as written to usage_events.
 * `cost` is a decimal string (exact); see shared/money.ts.
 */
import { sanitize } from '../shared/sanitize.js';
export interface UsageEvent {
  id: string;
  at: string; // ISO-8601 UTC
  keyId: string;
  userId: string;
  modelId: string;
  deploymentId: string | null;
  status: number;
  promptTokens: number;
  completionTokens: number;
  cost: string;
  latencyMs: number;
  ttftMs: number | null;
  stream: boolean;
  estimated: boolean;
  errorCode: string | null;
  /** The endpoint's name (src/gateway/endpoints); absent in events journaled before it was kept. */
  endpoint?: string | null;
  /** Prompt tokens the upstream served from its prefix cache (priced at the cached-input price). */
  cachedTokens?: number;
  /** Audio duration billed, in milliseconds. */
  audioMs?: number;
  /** What the gateway reserved against budgets for it (decimal string); null or absent when nothing was. */
  reservedCost?: string | null;
}

/** 2xx answers count as requests; everything else attributed to a key counts as an error. */
export function isSuccess(e: Pick<UsageEvent, 'status'>): boolean {
  return e.status >= 200 && e.status < 300;
}

export function utcDay(iso: string): string {
  return iso.slice(0, 10);
}

/** A reservation numeric(28,12) holds. */
const RESERVED = /^\d{1,16}(\.\d{1,12})?$/;

/** The largest value of an int4 column (tokens, latency, status). */
export const INT4_MAX = 2_147_483_647;

/** A count for an int4 column: non-finite, negative or non-numbers become 0, too large is capped, fractions rounded. */
function int4(n: unknown): number {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return 0;
  return n > INT4_MAX ? INT4_MAX : Math.round(n);
}

function optText(v: unknown, max?: number): string | null {
  return v === null || v === undefined ? null : sanitize(typeof v === 'string' ? v : String(v), max);
}

/** A required field: a missing one stays missing (null), so the database refuses it and it is dead-lettered with a reason. */
function text(v: unknown, max?: number): string {
  return optText(v, max) as string;
}

function isInt4(n: unknown): boolean {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= INT4_MAX;
}

function isClean(v: unknown, max?: number): boolean {
  return typeof v === 'string' && sanitize(v, max) === v;
}

/**
 * `e` with every string cleaned and bounded and every count fitting its
 * column, so no value a client chose can make the batch insert fail. Returns
 * `e` itself when it is already clean (the common case: one check per field).
 * Whatever cleaning cannot fix (an unparseable `at` or `cost` from a damaged
 * journal) is left for the writer to dead-letter.
 */
export function cleanEvent(e: UsageEvent): UsageEvent {
  if (isClean(e.id) && isClean(e.at, 64) && isClean(e.keyId) && isClean(e.userId) && isClean(e.modelId)
    && (e.deploymentId === null || isClean(e.deploymentId)) && (e.errorCode === null || isClean(e.errorCode))
    && isClean(e.cost, 64) && isInt4(e.status) && isInt4(e.promptTokens) && isInt4(e.completionTokens)
    && isInt4(e.latencyMs) && (e.ttftMs === null || isInt4(e.ttftMs))
    && typeof e.stream === 'boolean' && typeof e.estimated === 'boolean'
    && (e.endpoint === undefined || e.endpoint === null || isClean(e.endpoint, 32))
    && (e.cachedTokens === undefined || isInt4(e.cachedTokens)) && (e.audioMs === undefined || isInt4(e.audioMs))
    && (e.reservedCost === undefined || e.reservedCost === null || (typeof e.reservedCost === 'string' && RESERVED.test(e.reservedCost)))) return e;
  return {
    id: text(e.id), at: text(e.at, 64), keyId: text(e.keyId), userId: text(e.userId), modelId: text(e.modelId),
    deploymentId: optText(e.deploymentId), status: int4(e.status),
    promptTokens: int4(e.promptTokens), completionTokens: int4(e.completionTokens), cost: text(e.cost, 64),
    latencyMs: int4(e.latencyMs), ttftMs: e.ttftMs === null || e.ttftMs === undefined ? null : int4(e.ttftMs),
    stream: e.stream === true, estimated: e.estimated === true, errorCode: optText(e.errorCode),
    endpoint: optText(e.endpoint, 32), cachedTokens: int4(e.cachedTokens), audioMs: int4(e.audioMs),
    // Informational, never billed: a value a damaged journal garbled is dropped rather than dead-lettering the event.
    reservedCost: typeof e.reservedCost === 'string' && RESERVED.test(e.reservedCost) ? e.reservedCost : null,
  };
}
