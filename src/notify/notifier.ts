/**
 * @module Budget alerts and notifications, wired together for one server:
 * the crossing detector fed by the ledger's committed batches, the outbox
 * dispatcher, and the hourly sweep for keys about to expire (which also
 * prunes old notifications and deliveries). Nothing here is
 * on the request path; with several replicas each runs one, and the tables
 * (alert_crossings, the outbox's row claims) keep it exactly once.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Cipher } from '../shared/secrets.js';
import type { UsageEvent } from '../ledger/event.js';
import { CrossingDetector } from './detector.js';
import { Dispatcher, type DispatcherOptions } from './dispatcher.js';
import { sweepExpiring } from './expiring.js';
import { pruneAlerts } from './prune.js';

export interface NotifierOptions extends DispatcherOptions {
  /** How often keys about to expire are looked for (default hourly). */
  expirySweepMs?: number;
  log?: { warn(o: object, msg: string): void };
}

export class Notifier {
  readonly detector: CrossingDetector;
  readonly dispatcher: Dispatcher;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(private readonly db: Kysely<Database>, cipher: Cipher, private readonly o: NotifierOptions = {}) {
    const onError = (what: string) => (err: unknown) => o.log?.warn({ err: (err as Error)?.message ?? String(err) }, what);
    this.dispatcher = new Dispatcher(db, cipher, { ...o, onError: onError('notification delivery pass failed; retrying at the next poll') });
    this.detector = new CrossingDetector(db, { onEnqueued: () => this.dispatcher.kick(), onError: onError('budget alert check failed; the next batch of these scopes checks again') });
  }

  /** The ledger's hook: a batch of usage is committed. */
  readonly written = (events: readonly UsageEvent[]): void => this.detector.note(events);

  start(): void {
    this.dispatcher.start();
    const sweep = () => void sweepExpiring(this.db).then(async (n) => { if (n > 0) this.dispatcher.kick(); await pruneAlerts(this.db); })
      .catch((err: unknown) => this.o.log?.warn({ err: (err as Error).message }, 'expiring-key sweep or pruning failed; retrying at the next sweep'));
    sweep();
    this.sweepTimer = setInterval(sweep, this.o.expirySweepMs ?? 3_600_000);
    this.sweepTimer.unref();
  }

  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.detector.idle();
    await this.dispatcher.close();
  }
}
