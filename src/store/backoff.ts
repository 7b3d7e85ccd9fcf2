/**
 * @module Waiting for the database to come back: capped exponential backoff
 * with jitter, and a retry loop that runs one attempt at a time. Everything
 * that reconnects (the LISTEN connection, the start sequence's recovery) uses
 * these, so no caller can multiply its own retries.
 */

/**
 * Delay before retry number `attempt` (0-based): doubling from `baseMs` up to
 * `capMs`, half fixed and half random, so processes that lost the database
 * together do not all knock at the same instant when it returns.
 */
export function backoffDelay(attempt: number, baseMs = 250, capMs = 10_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export interface RetryLoop {
  /** Resolves true once an attempt succeeded, false if stopped first. */
  readonly done: Promise<boolean>;
  stop(): void;
}

/** Calls `attempt` until it resolves: one at a time, backoffDelay between failures (each reported to `onFailure`). */
export function retryUntilDone(attempt: () => Promise<void>, onFailure: (err: unknown, failures: number) => void, capMs?: number): RetryLoop {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let wake: (() => void) | null = null;
  const done = (async () => {
    for (let failures = 0; !stopped; failures++) {
      try {
        await attempt();
        return true;
      } catch (err) {
        if (stopped) break;
        onFailure(err, failures + 1);
      }
      await new Promise<void>((r) => {
        wake = r;
        timer = setTimeout(r, backoffDelay(failures, 250, capMs));
        timer.unref();
      });
    }
    return false;
  })();
  return {
    done,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      wake?.();
    },
  };
}
