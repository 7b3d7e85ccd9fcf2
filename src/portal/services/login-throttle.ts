/**
 * @module Failed sign-ins per username: after `max` failures in `windowMs`
 * the name is refused until the window passes, whoever asks, so guessing
 * one account's password from many addresses is slow too. (The per-address
 * limit is @fastify/rate-limit on the route.) Per process, like the gateway's
 * limits.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly max = 5, private readonly windowMs = 15 * 60_000) {}

  /** Seconds until the name may try again, or 0. */
  retryAfter(username: string, now = Date.now()): number {
    const f = this.recent(username, now);
    return f.length >= this.max ? Math.ceil((f[0]! + this.windowMs - now) / 1000) : 0;
  }

  fail(username: string, now = Date.now()): void {
    const f = this.recent(username, now);
    f.push(now);
    this.failures.set(username, f);
    if (this.failures.size > 100_000) this.failures.delete(this.failures.keys().next().value!);
  }

  succeed(username: string): void { this.failures.delete(username); }

  private recent(username: string, now: number): number[] {
    return (this.failures.get(username) ?? []).filter((t) => t > now - this.windowMs);
  }
}
