/**
 * @module One request's usage, as journaled and as written to usage_events.
 * `cost` is a decimal string (exact); see shared/money.ts.
 */
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
}

/** 2xx answers count as requests; everything else attributed to a key counts as an error. */
export function isSuccess(e: Pick<UsageEvent, 'status'>): boolean {
  return e.status >= 200 && e.status < 300;
}

export function utcDay(iso: string): string {
  return iso.slice(0, 10);
}
