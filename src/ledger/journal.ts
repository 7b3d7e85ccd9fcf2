/**
 * @module The durable journal: every usage event is appended (NDJSON) with a
 * synchronous write before the response's last byte, so a killed process
 * leaves it in the page cache; fdatasync runs every `syncIntervalMs` to bound
 * what a power cut can take. Appends are group-committed: the events of one
 * event-loop turn go out in one write, and each caller's `done` (which sends
 * its last byte) runs after it. Segments are sealed at each flush and deleted
 * once the database holds their events.
 */
import { close, closeSync, fdatasync, fdatasyncSync, mkdirSync, openSync, readdirSync, readFileSync, unlink, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { UsageEvent } from './event.js';

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
    this.timer = setInterval(() => this.sync(), syncIntervalMs);
    this.timer.unref();
  }

  /** Reads what earlier processes left (a torn last line is skipped) and seals those files. */
  recover(): UsageEvent[] {
    const files = readdirSync(this.dir).filter((f) => f.endsWith('.ndjson')).sort();
    const events: UsageEvent[] = [];
    for (const f of files) {
      const n = Number.parseInt(f, 10);
      if (Number.isInteger(n) && n >= this.seq) this.seq = n + 1;
      for (const line of readFileSync(join(this.dir, f), 'utf8').split('\n')) {
        if (!line) continue;
        try { events.push(JSON.parse(line) as UsageEvent); } catch { /* torn write at a crash */ }
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
    this.fd = openSync(this.currentPath, 'a');
  }

  private sync(): void {
    if (!this.dirty || this.syncing || this.fd < 0) return;
    this.dirty = false;
    this.syncing = true;
    fdatasync(this.fd, () => { this.syncing = false; });
  }
}
