/**
 * @module Budget crossings, detected off the request path: the ledger hands
 * over each batch it has committed (note()), the ids it touched are merged
 * with any still waiting, and one check at a time reads the touched scopes'
 * spend from the rollups and compares it with their thresholds.
 *
 * Exactly once across replicas: a crossing is a row of alert_crossings keyed
 * (scope, scope_id, period_start, threshold); the replica whose insert wins
 * enqueues the notifications in the same transaction, every other one finds
 * the row and does nothing. A new period has a new period_start, so a monthly
 * budget warns again next month.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { UsageEvent } from '../ledger/event.js';
import { periodStart } from '../ledger/budgets.js';
import { toPico } from '../shared/money.js';
import { readCurrency, readStoredAlerts } from './alert-config.js';
import { enqueue } from './enqueue.js';
import { formatAmount, type AlertScope } from './events.js';
import { RESOLVERS, type ScopeResolver, type Touched } from './scopes.js';

/** period_start of budgets that never reset. */
const ALL_TIME = '1970-01-01';
const LABEL = { key: 'Key', user: 'User', team: 'Team' } as const;

export interface DetectorOptions {
  resolvers?: ScopeResolver[];
  clock?: () => Date;
  /** Notifications were enqueued (the dispatcher may send them now). */
  onEnqueued?: () => void;
  onError?: (err: unknown) => void;
  /** Checks start at most this often (default 1 s): under load the ledger flushes every 100 ms, and each check is a few reads. */
  minIntervalMs?: number;
}

export interface Crossing { scope: AlertScope; threshold: number | 'soft'; spend: string; budget: string; periodStart: string }

export class CrossingDetector {
  private keyIds = new Set<string>();
  private userIds = new Set<string>();
  private running: Promise<void> | null = null;
  /** Crossings already recorded (by anyone): not inserted again. Bounded; forgetting one only costs an insert. */
  private readonly known = new Set<string>();

  constructor(private readonly db: Kysely<Database>, private readonly o: DetectorOptions = {}) {}

  /** A batch is in the database: check its scopes soon (never on the caller's stack). */
  note(events: readonly UsageEvent[]): void {
    for (const e of events) { this.keyIds.add(e.keyId); this.userIds.add(e.userId); }
    this.running ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain());
  }

  /** Resolves once every noted batch has been checked. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private lastCheck = 0;

  private async drain(): Promise<void> {
    try {
      while (this.keyIds.size > 0 || this.userIds.size > 0) {
        const wait = this.lastCheck + (this.o.minIntervalMs ?? 1_000) - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        this.lastCheck = Date.now();
        const t: Touched = { keyIds: [...this.keyIds], userIds: [...this.userIds] };
        this.keyIds = new Set(); this.userIds = new Set();
        try {
          await this.check(t);
        } catch (err) {
          // The next batch of these scopes checks again; a crossing is never lost, only late.
          this.o.onError?.(err);
        }
      }
    } finally {
      this.running = null;
    }
  }

  /** Checks the touched scopes; returns the crossings this call recorded (and notified). */
  async check(t: Touched): Promise<Crossing[]> {
    const now = this.o.clock?.() ?? new Date();
    const cfg = await readStoredAlerts(this.db);
    const currency = await readCurrency(this.db);
    const won: Crossing[] = [];
    for (const r of this.o.resolvers ?? RESOLVERS) {
      const scopes = await r.resolve(this.db, t);
      if (scopes.length === 0) continue;
      const spent = await r.spend(this.db, scopes, now);
      for (const s of scopes) {
        for (const c of crossings(s, spent.get(s.id) ?? '0', cfg.thresholds, now)) {
          if (await this.record(c, currency)) won.push(c);
        }
      }
    }
    if (won.length > 0) this.o.onEnqueued?.();
    return won;
  }

  private async record(c: Crossing, currency: string): Promise<boolean> {
    const id = `${c.scope.scope}|${c.scope.id}|${c.periodStart}|${c.threshold}`;
    if (this.known.has(id)) return false;
    const won = await this.db.transaction().execute(async (tx) => {
      const r = await tx.insertInto('alert_crossings')
        .values({ scope: c.scope.scope, scope_id: c.scope.id, period_start: c.periodStart, threshold: String(c.threshold), spend: c.spend, budget: c.budget })
        .onConflict((oc) => oc.doNothing()).returning('scope').executeTakeFirst();
      if (r) await enqueue(tx, crossingEvent(c, currency));
      return r !== undefined;
    });
    if (this.known.size > 100_000) this.known.clear();
    this.known.add(id);
    return won;
  }
}

/** The thresholds `spend` has reached in the scope's current period. */
export function crossings(s: AlertScope, spend: string, thresholds: number[], now: Date): Crossing[] {
  const start = periodStart(s.period, now) ?? ALL_TIME;
  const paid = toPico(spend);
  const out: Crossing[] = [];
  if (s.budget !== null) {
    const budget = toPico(s.budget);
    for (const t of thresholds) {
      if (budget > 0n && paid * 100n >= budget * BigInt(t)) out.push({ scope: s, threshold: t, spend, budget: s.budget, periodStart: start });
    }
  }
  if (s.softBudget !== null && toPico(s.softBudget) > 0n && paid >= toPico(s.softBudget)) {
    out.push({ scope: s, threshold: 'soft', spend, budget: s.softBudget, periodStart: start });
  }
  return out;
}

function crossingEvent(c: Crossing, currency: string) {
  const { scope: s } = c;
  const what = `${LABEL[s.scope]} '${s.name}'`;
  const period = s.period === 'none' ? 'total' : s.period;
  const title = c.threshold === 'soft' ? `${what} passed its soft budget` : `${what} reached ${c.threshold}% of its ${period} budget`;
  const since = s.period === 'none' ? '' : ` since ${c.periodStart}`;
  const text = `${what} has spent ${formatAmount(c.spend, currency)}${since}: ${c.threshold === 'soft' ? 'its soft budget is' : `${c.threshold}% of its ${period} budget of`} ${formatAmount(c.budget, currency)}.`;
  return {
    type: 'budget.threshold' as const, title, text, recipients: s.recipients,
    data: { scope: s.scope, id: s.id, name: s.name, threshold: c.threshold, spend: Number(c.spend), budget: Number(c.budget), period: s.period, periodStart: c.periodStart, currency },
  };
}
