/**
 * @module The ledger: record() journals an event synchronously and queues it;
 * a timer writes queued events to the database in batches and then drops the
 * journal segments they came from. Nothing answered is unbilled, nothing is
 * billed twice (see writer.ts). Events are cleaned before they are journaled,
 * and an event the database still refuses is dead-lettered, not retried in
 * front of everyone else's; only an unreachable database makes it wait.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { cleanEvent, type UsageEvent } from './event.js';
import { Journal } from './journal.js';
import { writeUsageIsolating, type DeadLetter } from './writer.js';

export interface LedgerOptions {
  journalDir: string;
  flushIntervalMs?: number;
  maxBatch?: number;
  /** A write failed for a transient reason; the events wait in the journal and are retried. */
  onError?: (err: unknown) => void;
  /** An event was dead-lettered (`storedIn` says where; 'nowhere' means only this callback has it: log it whole). */
  onDeadLetter?: (d: DeadLetter) => void;
  /** A batch is committed (called after the write, off its statement): budget alerts check the scopes it touched. */
  onWritten?: (events: readonly UsageEvent[]) => void;
}

export class Ledger {
  private readonly journal: Journal;
  private pending: UsageEvent[] = [];
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private backoffMs = 0;
  private nextAttempt = 0;
  /** Events written to the database since start (for metrics and tests). */
  written = 0;
  lastError: string | null = null;
  /** Events dead-lettered since start. */
  deadLetters = 0;
  /** Rows in usage_dead_letters when this ledger started (0 if the database was unreachable then). */
  deadLettersBefore = 0;

  constructor(private readonly db: Kysely<Database>, private readonly opts: LedgerOptions) {
    this.journal = new Journal(opts.journalDir);
  }

  /** Replays what a previous process journaled; resolves once it is in the database (or queued if the database is down). */
  async start(): Promise<void> {
    // A journal written before events were cleaned may hold what the database refuses.
    this.pending = this.journal.recover().map(cleanEvent);
    try {
      const r = await this.db.selectFrom('usage_dead_letters').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
      this.deadLettersBefore = Number(r?.n ?? 0);
    } catch { /* unreachable: the flush below says so */ }
    await this.flush();
    this.timer = setInterval(() => { void this.flush(); }, this.opts.flushIntervalMs ?? 100);
    this.timer.unref();
  }

  /** Journals `e` and queues it for the database; `done` runs once it is in the journal (send the last byte then). */
  record(e: UsageEvent, done?: () => void): void {
    // Whatever the caller passes, nothing a client chose may make the batch insert fail.
    const c = cleanEvent(e);
    this.journal.append(c, done);
    this.pending.push(c);
    if (this.pending.length >= (this.opts.maxBatch ?? 2000)) void this.flush();
  }

  /** Events not yet known to be in the database: queued, or in a write that has not returned. */
  get lag(): number { return this.pending.length + this.writing.length; }

  /** Events not yet in the database (the spend tracker adds them to what it loads). */
  unwritten(): readonly UsageEvent[] { return this.writing.concat(this.pending); }

  private writing: UsageEvent[] = [];

  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pending.length === 0 && !this.hasSealed) return Promise.resolve();
    if (Date.now() < this.nextAttempt) return Promise.resolve();
    this.flushing = this.flushOnce().finally(() => { this.flushing = null; });
    return this.flushing;
  }

  private hasSealed = false;

  private async flushOnce(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.writing = batch;
    const files = this.journal.seal();
    const r = await writeUsageIsolating(this.db, batch, this.deadLetterFile);
    this.writing = [];
    for (const d of r.deadLettered) {
      this.deadLetters++;
      this.opts.onDeadLetter?.(d);
    }
    this.written += r.written;
    if (r.written > 0 && this.opts.onWritten) {
      const left = new Set(r.remaining);
      this.opts.onWritten(left.size === 0 ? batch : batch.filter((e) => !left.has(e)));
    }
    if (r.remaining.length === 0) {
      // Written or dead-lettered, every event of these segments is settled: a restart must not replay them.
      this.journal.remove(files);
      this.hasSealed = false;
      this.backoffMs = 0;
      this.lastError = null;
      return;
    }
    this.pending = r.remaining.concat(this.pending);
    this.journal.unseal(files);
    this.hasSealed = files.length > 0;
    this.backoffMs = Math.min(5000, Math.max(200, this.backoffMs * 2));
    // Jitter: replicas that lost the database together should not all come back in the same millisecond.
    this.nextAttempt = Date.now() + this.backoffMs * (0.5 + Math.random() * 0.5);
    this.lastError = r.error instanceof Error ? r.error.message : String(r.error);
    this.opts.onError?.(r.error);
  }

  /** The last place for a dead letter the database refused too; if even the disk refuses, only onDeadLetter has it. */
  private readonly deadLetterFile = (line: string): boolean => {
    try {
      this.journal.deadLetter(line);
      return true;
    } catch {
      return false;
    }
  };

  /** Writes everything queued, retrying until `deadline`; used on SIGTERM. */
  async drain(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.length > 0 || this.flushing) {
      this.nextAttempt = 0;
      await this.flush();
      if (this.pending.length === 0) break;
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
    return true;
  }

  async close(drainTimeoutMs?: number): Promise<boolean> {
    if (this.timer) clearInterval(this.timer);
    const ok = await this.drain(drainTimeoutMs);
    this.journal.close();
    await this.journal.removed();
    return ok;
  }
}
