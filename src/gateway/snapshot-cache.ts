/**
 * @module The last good snapshot's source rows on disk, so that `serve` can
 * start while the database is unreachable. The file holds what the database
 * holds and no more: key hashes (never keys), users, subscriptions, models and
 * deployments with their tokens still encrypted. It is owner-only, replaced
 * atomically (temp file + fsync + rename, so a crash leaves the old or the new
 * one, never half of one), and written only when the rows changed.
 */
import { readFileSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SnapshotRows } from './snapshot.js';

const VERSION = 1;

interface CacheFile { version: number; savedAt: string; rows: SnapshotRows }

export class SnapshotCache {
  /** The rows as last written or read, serialised; undefined until the file was looked at. */
  private lastRows: string | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  /** The cached rows and when they were saved, or null when there is no usable file. */
  read(): { rows: SnapshotRows; savedAt: string } | null {
    let text: string;
    try { text = readFileSync(this.file, 'utf8'); } catch { return null; }
    try {
      const f = JSON.parse(text) as CacheFile;
      const r = f.rows;
      if (f.version !== VERSION || !r || ![r.users, r.keys, r.subs, r.models, r.deps].every(Array.isArray)) return null;
      this.lastRows = JSON.stringify(r);
      return { rows: r, savedAt: f.savedAt };
    } catch {
      return null; // unreadable: as good as none
    }
  }

  exists(): boolean { return this.read() !== null; }

  /**
   * Writes `rows` unless the file already holds them. Writes are serialised; the check is made
   * against what was written last, so a burst of reloads of an unchanged database writes nothing.
   */
  save(rows: SnapshotRows): Promise<void> {
    const json = JSON.stringify(rows);
    this.writing = this.writing.catch(() => {}).then(async () => {
      if (this.lastRows === undefined) this.read();
      if (json === this.lastRows) return;
      await writeAtomically(this.file, `{"version":${VERSION},"savedAt":${JSON.stringify(new Date().toISOString())},"rows":${json}}\n`);
      this.lastRows = json;
    });
    return this.writing;
  }
}

async function writeAtomically(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.chmod(0o600); // a stale temp file left by a crash keeps its old mode otherwise
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}
