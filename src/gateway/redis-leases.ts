/**
 * @module A replica's leases on the shared limits (see redis-scripts.ts): standing reservations of
 * a slice of a budget, a quota, an rpm or a tpm limit, granted by Redis with a request that went
 * there, then spent here without a round trip. What requests used is converted into the shared
 * counters in batches (FLUSH, every `flushMs` while there is any), idle leases are given back,
 * and a lease that cannot cover a request is retired by the next admission that goes to Redis.
 *
 * Exactness: Redis grants a lease only if the counter, every reservation and every lease, plus
 * the new lease (times the room left for the other replicas) fit the limit; this replica admits
 * against a lease only what it has left (granted − used − held). So the sum over replicas never
 * passes a limit. The price: a lease held here is room another replica cannot use until it comes
 * back (at the next flush when idle, at once when a refusal elsewhere asks for it).
 */

export type Kind = 'b' | 'q' | 'r' | 't';

/** Amounts of a lease: cost in pico (budgets), requests (quota, rpm), tokens (quota, tpm). */
export interface Amount { c: bigint; r: number; t: number }

export const zero = (): Amount => ({ c: 0n, r: 0, t: 0 });

export class Lease {
  /** Its member in Redis ("~id.version|c|r|t"); changes with every conversion. */
  member: string;
  private version = 0;
  /** Usage not yet converted into the counter or window. */
  used: Amount = zero();
  /** Held by requests in flight. */
  held: Amount = zero();
  lastUse: number;
  /** Renewed by every conversion; past this (minus a margin) it is not used any more. */
  expiresAt: number;
  /** True once Redis may no longer have it (a conversion failed, or it expired there). */
  lost = false;

  constructor(readonly pool: Pool, readonly id: string, public granted: Amount, readonly limits: string, now: number, leaseMs: number) {
    this.member = memberOf(id, granted);
    this.lastUse = now;
    this.expiresAt = now + leaseMs;
  }

  /** True if less than half of it is left in the component `unit` uses. */
  low(unit: Amount): boolean {
    const g = this.granted, u = this.used, h = this.held;
    if (unit.c > 0n && (g.c - u.c - h.c) * 2n < g.c) return true;
    if (unit.r > 0 && (g.r - u.r - h.r) * 2 < g.r) return true;
    return unit.t > 0 && (g.t - u.t - h.t) * 2 < g.t;
  }

  /** True if what is left covers `a`. */
  covers(a: Amount): boolean {
    const g = this.granted, u = this.used, h = this.held;
    return g.c - u.c - h.c >= a.c && g.r - u.r - h.r >= a.r && g.t - u.t - h.t >= a.t;
  }

  /** The member after converting what was used and keeping `keep` (a new version, so a replay never matches). */
  next(keep: Amount): string {
    return memberOf(`${this.id}.${++this.version}`, keep);
  }
}

export function memberOf(id: string, a: Amount): string {
  return `${id}|${a.c}|${a.r}|${a.t}`;
}

export function parseMember(m: string): Amount {
  const p = m.split('|');
  return { c: BigInt(p[1]!), r: Number(p[2]), t: Number(p[3]) };
}

/** One shared limit of one scope and period, as this replica sees it. */
export class Pool {
  current: Lease | null = null;
  /** Leases retired while requests held part of them: given back when those settle. */
  readonly retiring = new Set<Lease>();
  /** The last request's need and the limits then: what a top-up is sized and checked by. */
  unit: Amount = zero();
  lim1 = '';
  lim2 = '';
  limits = '';
  /** Requests admitted since the last flush, and in flight now: the demand a lease is sized for. */
  admitted = 0;
  inflight = 0;
  /** Until then, leases granted here are given back at once (another replica needs the room). */
  drainUntil = 0;
  constructor(
    readonly kind: Kind,
    /** Redis keys: the ZSET and HASH of reservations and leases, and the counter or window. */
    readonly z: string, readonly h: string, readonly x: string,
    /** TTL (s) to refresh on an all-time counter ('0' none). */
    readonly cttl: string,
  ) {}
}

/** What a request takes from a pool. */
export interface Need {
  pool: Pool; amount: Amount;
  /** The limits as configured now (a lease granted under other limits is not used). */
  limits: string; lim1: string; lim2: string;
  /** KEYS indexes (1-based) of the pool's ZSET, HASH and counter or window in ADMIT. */
  idx: [number, number, number];
}

/** The part of one request a leased ticket holds, per pool. */
export interface Part { lease: Lease; amount: Amount }

export function addTo(a: Amount, b: Amount): void { a.c += b.c; a.r += b.r; a.t += b.t; }
export function subFrom(a: Amount, b: Amount): void { a.c -= b.c; a.r -= b.r; a.t -= b.t; }
export function isZero(a: Amount): boolean { return a.c === 0n && a.r === 0 && a.t === 0; }
