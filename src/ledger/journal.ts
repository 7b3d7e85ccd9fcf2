/**
 * @module The durable journal: every usage event is appended (NDJSON) with a
 * synchronous write before the response's last byte, so a killed process
 * leaves it in the page cache; fdatasync runs every `syncIntervalMs` to bound
 * what a power cut can take. Appends are group-committed: the events of one
 * event-loop turn go out in one write, and each caller's `done` (which sends
 * its last byte) runs after it. Segments are sealed at each flush and deleted
 * once the database holds their events.
 * The directory is owner-only (0700, files 0600): it holds who used what.
 */
import { chmodSync, close, closeSync, fchmodSync, fdatasync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, unlink, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { UsageEvent } from './event.js';

/** Segments are numbered; anything else in the directory (the dead-letter file) is never replayed. */
const SEGMENT = /^\d+\.ndjson$/;
/** Dead letters the database refused to store too (see writer.ts); kept, never replayed. */
export const DEAD_LETTER_FILE = 'dead-letter.ndjson';

export class Journal {
  private fd = -1;
  private seq = 0;
  private dirty = false;
  private syncing = false;
  private readonly timer: NodeJS.Timeout;
  /** Sealed segment files whose events are not yet known to be in the database. */
  private sealed: string[] = [];

  constructor(private readonly dir: string, syncIntervalMs = 100) {
    mkdirSync(dir, { recursive: true });
    // Also when an earlier version created it with the umask's mode. Best effort: a directory another
    // uid created (a volume reused by a new pod) may still be writable through its group.
    try { chmodSync(dir, 0o700); } catch { /* not ours to change */ }
    this.timer = setInterval(() => this.sync(), syncIntervalMs);
    this.timer.unref();
  }

  /** Reads what earlier processes left (a torn last line is skipped) and seals those files. */
  recover(): UsageEvent[] {
    const files = readdirSync(this.dir).filter((f) => SEGMENT.test(f)).sort();
    const events: UsageEvent[] = [];
    for (const f of files) {
      const n = Number.parseInt(f, 10);
      if (Number.isInteger(n) && n >= this.seq) this.seq = n + 1;
      for (const line of readFileSync(join(this.dir, f), 'utf8').split('\n')) {
        if (!line) continue;
        let v: unknown;
        try { v = JSON.parse(line); } catch { continue; /* torn write at a crash */ }
        if (v !== null && typeof v === 'object') events.push(v as UsageEvent); // the ledger cleans its fields
      }
      this.sealed.push(join(this.dir, f));
    }
    return events;
  }

  private lines: string[] = [];
  private waiters: Array<() => void> = [];
  private scheduled = false;
  /** Appends that could not be written (disk full, …); the events still reach the database from memory. */
  writeErrors = 0;

  append(e: UsageEvent, done?: () => void): void {
    this.lines.push(JSON.stringify(e));
    if (done) this.waiters.push(done);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.commit);
    }
  }

  /** Writes everything appended so far in one write, then lets the callers answer. */
  readonly commit = (): void => {
    this.scheduled = false;
    if (this.lines.length === 0) return;
    const data = this.lines.join('\n') + '\n';
    const waiters = this.waiters;
    this.lines = [];
    this.waiters = [];
    try {
      if (this.fd < 0) this.openNext();
      writeSync(this.fd, data);
      this.dirty = true;
    } catch {
      this.writeErrors++;
    }
    for (const w of waiters) w();
  };

  /** Closes the current segment; events appended from now on go to a new one. */
  seal(): string[] {
    this.commit();
    if (this.fd >= 0) {
      // fsync and close off the event loop: until the database has its events, the file stays on disk either way.
      const fd = this.fd;
      if (this.dirty) fdatasync(fd, () => close(fd, () => {}));
      else close(fd, () => {});
      this.fd = -1;
      this.dirty = false;
      this.sealed.push(this.currentPath);
    }
    const out = this.sealed;
    this.sealed = [];
    return out;
  }

  /** Gives back sealed files whose events could not be written yet. */
  unseal(files: string[]): void {
    this.sealed = files.concat(this.sealed);
  }

  private removing = new Set<Promise<void>>();

  remove(files: string[]): void {
    for (const f of files) {
      const p: Promise<void> = new Promise((resolve) => unlink(f, () => resolve())); // already gone is fine
      this.removing.add(p);
      void p.then(() => this.removing.delete(p));
    }
  }

  /** Resolves when deletions started so far are done (before exit, so a clean stop leaves no segment behind). */
  async removed(): Promise<void> {
    await Promise.all([...this.removing]);
  }

  close(): void {
    this.commit();
    clearInterval(this.timer);
    if (this.fd >= 0) {
      if (this.dirty) fdatasyncSync(this.fd);
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  private currentPath = '';
  private openNext(): void {
    this.currentPath = join(this.dir, `${String(this.seq++).padStart(12, '0')}.ndjson`);
    this.fd = openSync(this.currentPath, 'a', 0o600);
  }

  /** Appends one line to the dead-letter file (0600) and syncs it: the event's segment is deleted next. Throws if it cannot. */
  deadLetter(line: string): void {
    const fd = openSync(join(this.dir, DEAD_LETTER_FILE), 'a', 0o600);
    try {
      fchmodSync(fd, 0o600);
      writeSync(fd, line + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  private sync(): void {
    if (!this.dirty || this.syncing || this.fd < 0) return;
    this.dirty = false;
    this.syncing = true;
    fdatasync(this.fd, () => { this.syncing = false; });
  }
}
