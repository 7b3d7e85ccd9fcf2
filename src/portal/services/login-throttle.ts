/**
 * @module Failed sign-ins per username: after `max` failures in `windowMs`
 * the name is refused until the window passes, whoever asks, so guessing
 * one account's password from many addresses is slow too. (The per-address
 * limit is @fastify/rate-limit on the route.) The failures are counted in a
 * ThrottleStore: this process's memory by default, Redis with REDIS_URL so
 * that several replicas enforce one limit.
 */
import { MemoryThrottleStore, type ThrottleStore } from './throttle-store.js';

/** The names' counters, apart from anything else counted in the same store. */
const KEY = 'login:';

export class LoginThrottle {
  constructor(
    private readonly store: ThrottleStore = new MemoryThrottleStore(),
    private readonly max = 5,
    private readonly windowMs = 15 * 60_000,
  ) {}

  /** Seconds until the name may try again, or 0. */
  async retryAfter(username: string, now = Date.now()): Promise<number> {
    return this.wait(await this.store.peek(KEY + username, this.windowMs, now), now);
  }

  /** Counts a failure; answers the seconds until the name may try again (0 while under the limit). */
  async fail(username: string, now = Date.now()): Promise<number> {
    return this.wait(await this.store.hit(KEY + username, this.windowMs, now), now);
  }

  async succeed(username: string): Promise<void> { await this.store.reset(KEY + username); }

  private wait(w: { count: number; oldest: number | null }, now: number): number {
    return w.count >= this.max && w.oldest !== null ? Math.max(1, Math.ceil((w.oldest + this.windowMs - now) / 1000)) : 0;
  }
}
