/**
 * @module How the UI talks to Canopy's backend (same origin, no auth): JSON requests, and the
 * streamed answers, read as server-sent events line by line so each delta shows as it arrives.
 */

export type Role = 'user' | 'assistant';
export type Variant = 'a' | 'b';
export type Rating = 'up' | 'down';

export interface ChatMessage {
  role: Role;
  content: string;
}

/** Which features this deployment turns on; a missing key means off. */
export type FeatureFlags = Partial<Record<string, boolean>>;

export interface FeatureInfo {
  model?: string;
  maxTokens?: number;
}

export interface BackendInfo {
  llamaStackUrl?: string;
  features?: Partial<Record<string, FeatureInfo>>;
}

export interface FeedbackInput {
  feature: string;
  prompt: string;
  response: string;
  rating: Rating;
  variant?: Variant;
  comment?: string;
}

/** One `data:` line of a streamed answer. */
export interface StreamEvent {
  delta?: string;
  error?: string;
  variant?: Variant;
}

export const UNREACHABLE = "Canopy's backend cannot be reached. Check that it is running, then try again.";
export const CUT_OFF = 'The answer was cut off';
export const UNREADABLE = "Canopy's backend sent an answer the UI cannot read.";
export const FEEDBACK_EXPORT_URL = '/feedback/export';

/** An error whose message is meant to be shown to the person as it is. */
export class ApiError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'ApiError';
  }
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Non-2xx answers carry `{"error": "…"}`; without one, the status line is all we can say. */
async function failure(res: Response): Promise<ApiError> {
  let message = `Canopy's backend answered ${res.status} ${res.statusText}`.trim();
  try {
    const body = (await res.json()) as { error?: unknown };
    if (typeof body.error === 'string' && body.error) message = body.error;
  } catch {
    // Not JSON (a proxy's error page, say): keep the status line.
  }
  return new ApiError(message, res.status);
}

async function send(path: string, init: { method: 'GET' | 'POST'; body?: unknown; signal?: AbortSignal }): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: init.method,
      headers: init.body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
    });
  } catch (error) {
    if (isAbort(error)) throw error;
    // fetch only rejects when no answer came back at all.
    throw new ApiError(UNREACHABLE);
  }
  if (!res.ok) throw await failure(res);
  return res;
}

async function json<T>(res: Response): Promise<T> {
  try {
    return (await res.json()) as T;
  } catch {
    // Typically the dev server's index.html where the backend should have answered.
    throw new ApiError(UNREADABLE, res.status);
  }
}

export async function getFeatureFlags(): Promise<FeatureFlags> {
  return json<FeatureFlags>(await send('/feature-flags', { method: 'GET' }));
}

export async function getInfo(): Promise<BackendInfo> {
  return json<BackendInfo>(await send('/info', { method: 'GET' }));
}

export async function postFeedback(feedback: FeedbackInput): Promise<{ id: string }> {
  return json<{ id: string }>(await send('/feedback', { method: 'POST', body: feedback }));
}

/** Hands one SSE line to `onEvent`; true once the stream says `[DONE]`. */
function readLine(line: string, onEvent: (event: StreamEvent) => void): boolean {
  if (!line.startsWith('data:')) return false; // comments, event names, blank separators
  const data = line.slice(5).trim();
  if (data === '[DONE]') return true;
  let event: unknown;
  try {
    event = JSON.parse(data);
  } catch {
    return false; // a line we cannot read is skipped rather than ending the answer
  }
  if (event && typeof event === 'object') onEvent(event as StreamEvent);
  return false;
}

/**
 * POSTs `body` to a streaming endpoint and calls `onEvent` for every event as it arrives.
 * Resolves at `[DONE]`; rejects with ApiError on a non-2xx answer, an unreachable backend, or a
 * stream that closes early (CUT_OFF), so a caller never waits forever. `{"error"}` events are
 * passed on, not thrown: in an A/B answer one variant may fail while the other goes on.
 */
export async function streamEvents(path: string, body: unknown, onEvent: (event: StreamEvent) => void, signal?: AbortSignal): Promise<void> {
  const res = await send(path, { method: 'POST', body, signal });
  if (!res.body) throw new ApiError(CUT_OFF);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      let read: ReadableStreamReadResult<Uint8Array>;
      try {
        read = await reader.read();
      } catch (error) {
        if (isAbort(error) || signal?.aborted) throw error;
        throw new ApiError(CUT_OFF); // the connection dropped mid-answer
      }
      buffer += read.done ? decoder.decode() : decoder.decode(read.value, { stream: true });
      const lines = buffer.split(/\r?\n/);
      // The last piece may be half a line, unless the stream has ended.
      buffer = read.done ? '' : lines.pop() ?? '';
      for (const line of lines) {
        if (readLine(line, onEvent)) return;
      }
      if (read.done) throw new ApiError(CUT_OFF);
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}
