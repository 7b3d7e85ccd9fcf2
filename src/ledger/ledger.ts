/**
 * @module The ledger: record() journals an event synchronously and queues it;
 * a timer writes queued events to the database in batches and then drops the
 * journal segments they came from. Nothing answered is unbilled, nothing is
 * billed twice (see writer.ts).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { UsageEvent } from './event.js';
import { Journal } from './journal.js';
import { writeUsage } from './writer.js';

export interface LedgerOptions { journalDir: string; flushIntervalMs?: number; maxBatch?: number; onError?: (err: unknown) => void }

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

  constructor(private readonly db: Kysely<Database>, private readonly opts: LedgerOptions) {
    this.journal = new Journal(opts.journalDir);
  }

  /** Replays what a previous process journaled; resolves once it is in the database (or queued if the database is down). */
  async start(): Promise<void> {
    this.pending = this.journal.recover();
    await this.flush();
    this.timer = setInterval(() => { void this.flush(); }, this.opts.flushIntervalMs ?? 100);
    this.timer.unref();
  }

  /** Journals `e` and queues it for the database; `done` runs once it is in the journal (send the last byte then). */
  record(e: UsageEvent, done?: () => void): void {
    this.journal.append(e, done);
    this.pending.push(e);
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
    try {
      await writeUsage(this.db, batch);
      this.writing = [];
      this.journal.remove(files);
      this.written += batch.length;
      this.hasSealed = false;
      this.backoffMs = 0;
      this.lastError = null;
    } catch (err) {
      this.writing = [];
      this.pending = batch.concat(this.pending);
      this.journal.unseal(files);
      this.hasSealed = files.length > 0;
      this.backoffMs = Math.min(5000, Math.max(200, this.backoffMs * 2));
      this.nextAttempt = Date.now() + this.backoffMs;
      this.lastError = err instanceof Error ? err.message : String(err);
      this.opts.onError?.(err);
    }
  }

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

  async close(): Promise<boolean> {
    if (this.timer) clearInterval(this.timer);
    const ok = await this.drain();
    this.journal.close();
    await this.journal.removed();
    return ok;
  }
}
