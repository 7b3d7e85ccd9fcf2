/**
 * @module The one admission seam: everything the gateway asks of limits,
 * budgets and quotas, whichever process or store keeps them. `admit` checks
 * rpm/tpm of the key and its owner, takes a max-parallel slot and reserves
 * the request's maximum cost and tokens against the key's and the owner's
 * budgets and the subscription's quota — all or nothing — and answers a
 * ticket, or throws the GatewayError a client sees. The ticket settles once:
 * with the recorded usage event (its cost and tokens count; the reservation
 * and holds are given back) or with nothing (a request never answered).
 * Refusals are counted with `count`.
 *
 * The in-process implementation (this file) is exact for one process; a
 * shared one (Redis) makes the same promises across replicas.
 */
import type { UsageEvent } from '../ledger/event.js';
import type { RateLimiter } from '../ledger/limits.js';
import { SpendUnavailableError, type Reservation, type ReserveInput, type SpendTracker } from '../ledger/budgets.js';
import { admitRate, budgetsUnavailable, reserve, reserveInput, settleRate, type RateAdmission } from './authorize.js';
import type { Bounds } from './endpoints/types.js';
import type { KeyEntry, ModelEntry, SubscriptionEntry } from './snapshot.js';

export interface AdmissionRequest {
  key: KeyEntry;
  model: ModelEntry;
  sub: SubscriptionEntry;
  bounds: Bounds;
  /** Not billed: no budget or quota reservation (tokenize), but rate limits apply. */
  free: boolean;
  at: Date;
}

export interface Ticket {
  /**
   * The request ended: `e` (already recorded in the ledger) and its exact cost
   * count in the budgets and quotas, `tpmTokens` in the tpm windows; what
   * admission reserved and held is given back. Null `e`: nothing was recorded.
   */
  settle(e: UsageEvent | null, cost: bigint, tpmTokens: number): void;
}

export interface Admission {
  /** Admits or throws a GatewayError (429 rate/budget/quota, 503 when it cannot decide). May answer synchronously. */
  admit(r: AdmissionRequest): Ticket | Promise<Ticket>;
  /** A request refused before admission (or by it): counted as an error of its key, at no cost. */
  count(e: UsageEvent): void;
  /** Gives back what this process holds of shared limits (leases) before it exits. */
  close?(): Promise<void>;
}

/**
 * Limits and budgets kept in this process: exact for one process (the default, and PGlite's).
 * Synchronous once the request's budget and quota counters are read; the first request of a
 * scope waits for its read, and the checks then run in one synchronous step as on the fast path.
 */
export class LocalAdmission implements Admission {
  constructor(private readonly limiter: RateLimiter, private readonly spend: SpendTracker) {}

  admit(r: AdmissionRequest): Ticket | Promise<Ticket> {
    const input = r.free ? null : reserveInput(r.key, r.model, r.sub, r.bounds);
    const cold = input && this.spend.need(input, r.at.getTime());
    if (!cold) return this.take(r, input);
    return this.admitRead(r, input, cold);
  }

  private async admitRead(r: AdmissionRequest, input: ReserveInput, cold: Promise<void>): Promise<Ticket> {
    for (let wait: Promise<void> | null = cold; wait; wait = this.spend.need(input, Date.now())) {
      try { await wait; } catch (err) {
        if (err instanceof SpendUnavailableError) throw budgetsUnavailable();
        throw err;
      }
    }
    return this.take(r, input);
  }

  private take(r: AdmissionRequest, input: ReserveInput | null): Ticket {
    const rate = admitRate(this.limiter, r.key, r.bounds.prompt + r.bounds.completion);
    let reservation: Reservation | null = null;
    try {
      if (input) reservation = reserve(this.spend, input, r.at);
    } catch (err) {
      settleRate(this.limiter, r.key, rate, 0);
      throw err;
    }
    return new LocalTicket(this.limiter, this.spend, r.key, rate, reservation);
  }

  count(e: UsageEvent): void {
    this.spend.add(e, 0n);
  }
}

class LocalTicket implements Ticket {
  private done = false;
  constructor(
    private readonly limiter: RateLimiter, private readonly spend: SpendTracker, private readonly key: KeyEntry,
    private readonly rate: RateAdmission, private readonly reservation: Reservation | null,
  ) {}

  settle(e: UsageEvent | null, cost: bigint, tpmTokens: number): void {
    if (this.done) return;
    this.done = true;
    if (e) this.spend.add(e, cost);
    if (this.reservation) this.spend.release(this.reservation);
    settleRate(this.limiter, this.key, this.rate, tpmTokens);
  }
}
