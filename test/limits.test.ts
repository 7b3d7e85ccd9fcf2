/**
 * tpm holds: a request holds its token bound until it settles, however long
 * it runs — the sliding window's fading of the previous minute must not let
 * more in while the held requests are still in flight.
 */
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../src/ledger/limits.js';

describe('tpm holds', () => {
  it('do not fade while the request is still running, and settle to the actual tokens', () => {
    const l = new RateLimiter();
    const id = 'tpm:k:a';
    const t = 10 * 60_000 + 59_000; // second 59 of a minute
    const holds = Array.from({ length: 10 }, () => l.hold(id, 100));
    expect(l.used(id, t) + l.held(id)).toBe(1000);
    const later = t + 59_000; // second 58 of the next minute: the window alone would have faded
    expect(l.used(id, later) + l.held(id)).toBeGreaterThanOrEqual(1000);
    for (const h of holds) l.settle(id, h, 30, later);
    expect(l.held(id)).toBe(0);
    expect(l.used(id, later)).toBe(300);
  });
});
