/**
 * @module Request and token rate limits (rpm, tpm) with a sliding one-minute
 * window (the previous minute weighted by how much of it still overlaps), and
 * max-parallel counters. In-process; one process is the unit without Redis.
 */
interface Window { minute: number; cur: number; prev: number }
export interface Hold { readonly amount: number }

export class RateLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly parallel = new Map<string, number>();
  private readonly holds = new Map<string, number>();

  private window(id: string, now: number): Window {
    const minute = Math.floor(now / 60_000);
    let w = this.windows.get(id);
    if (!w) this.windows.set(id, (w = { minute, cur: 0, prev: 0 }));
    if (w.minute !== minute) {
      w.prev = minute - w.minute === 1 ? w.cur : 0;
      w.cur = 0;
      w.minute = minute;
    }
    return w;
  }

  /** Current use in the sliding minute. */
  used(id: string, now = Date.now()): number {
    const w = this.window(id, now);
    const overlap = 1 - (now % 60_000) / 60_000;
    return w.prev * overlap + w.cur;
  }

  /** Seconds until the sliding window has room for `amount` more under `limit` (at least 1). */
  retryAfter(id: string, limit: number, amount: number, now = Date.now()): number {
    const w = this.window(id, now);
    const intoMinute = (now % 60_000) / 1000;
    // Room appears as the previous minute slides out; if the current minute alone is full, wait for the next.
    if (w.cur + amount > limit) return Math.max(1, Math.ceil(60 - intoMinute));
    const needShed = w.prev * (1 - intoMinute / 60) + w.cur + amount - limit;
    return Math.max(1, Math.ceil((needShed / Math.max(w.prev, 1)) * 60));
  }

  add(id: string, amount: number, now = Date.now()): void {
    this.window(id, now).cur += amount;
  }

  /**
   * Holds `amount` until `settle`: a request's token bound against tpm. Held
   * tokens do not fade with the sliding window (a request still running holds
   * all of its bound), so `used` plus `held` bounds what can be in flight.
   */
  hold(id: string, amount: number): Hold {
    this.holds.set(id, (this.holds.get(id) ?? 0) + amount);
    return { amount };
  }

  /** Tokens held by requests still in flight. */
  held(id: string): number { return this.holds.get(id) ?? 0; }

  /** Gives back a hold and counts the `actual` amount now. */
  settle(id: string, h: Hold, actual: number, now = Date.now()): void {
    const left = (this.holds.get(id) ?? 0) - h.amount;
    if (left <= 0) this.holds.delete(id); else this.holds.set(id, left);
    if (actual > 0) this.window(id, now).cur += actual;
  }

  /** Takes one in-flight slot unless `max` are taken. */
  acquire(id: string, max: number): boolean {
    const n = this.parallel.get(id) ?? 0;
    if (n >= max) return false;
    this.parallel.set(id, n + 1);
    return true;
  }

  releaseSlot(id: string): void {
    const n = (this.parallel.get(id) ?? 1) - 1;
    if (n <= 0) this.parallel.delete(id); else this.parallel.set(id, n);
  }
}
