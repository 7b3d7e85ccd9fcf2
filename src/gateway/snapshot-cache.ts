/**
 * @module The last good snapshot on disk, so that `serve` can start while the
 * database is unreachable. The file holds what the database holds and no
 * more: key hashes (never keys), users, subscriptions, models and deployments
 * with their tokens still encrypted. It is owner-only, replaced atomically
 * (temp file + fsync + rename, so a crash leaves the old or the new one, never
 * half of one), and replaced only when its content changed.
 *
 * A million keys make a file of a few hundred MB, so it is never one string:
 * it is written a few thousand rows at a time, one row per line (the whole
 * file is still one JSON document), and read back line by line into a
 * snapshot. Whether it changed is told by a digest that does not depend on the
 * order of the rows (a sum of per-row hashes), carried on the file's last
 * line: a snapshot loaded in the database's order and one changed piecemeal
 * since compare equal when they hold the same rows.
 */
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { dirname } from 'node:path';
import { fromPico } from '../shared/money.js';
import type { Cipher } from '../shared/secrets.js';
import { SnapshotBuilder, type DepRow, type KeyEntry, type KeyRow, type ModelRow, type Snapshot, type SubRow, type UserEntry, type UserLine, type UserRow } from './snapshot.js';

const VERSION = 2;
const SECTIONS = ['users', 'keys', 'subs', 'models', 'deps'] as const;
type Section = (typeof SECTIONS)[number];
/** Rows serialised per write: a millisecond or two of work between two turns of the event loop. */
const CHUNK = 500;
const HEADER = /^\{"version":(\d+),"savedAt":("[^"]*"),"rows":\{$/;
const TRAILER = /\},"digest":"([0-9a-f]+)"\}\n?$/;

/** Two 32-bit hashes of a line (FNV-1a and a multiply-xorshift), the basis of the order-free digest. */
function lineHash(s: string): [number, number] {
  let a = 0x811c9dc5, b = 0x2545f491;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 13;
  }
  return [a >>> 0, Math.imul(b ^ (b >>> 15), 0x27d4eb2d) >>> 0];
}

/** Per section: rows, and the sums (mod 2³²) of both hashes of every row. */
class Digest {
  private readonly n = new Map<Section, [number, number, number]>();
  add(section: Section, line: string): void {
    const [a, b] = lineHash(line);
    const cur = this.n.get(section) ?? [0, 0, 0];
    this.n.set(section, [cur[0] + 1, (cur[1] + a) >>> 0, (cur[2] + b) >>> 0]);
  }
  hex(): string {
    return SECTIONS.map((s) => (this.n.get(s) ?? [0, 0, 0]).map((x) => x.toString(16).padStart(8, '0')).join('')).join('');
  }
}

interface Captured { users: UserEntry[]; hashes: string[]; keys: KeyEntry[]; subs: SubRow[][]; models: ModelRow[]; deps: DepRow[][] }

/** What is written, taken in one synchronous step so that later changes to the live maps do not mix into it. */
const capture = (s: Snapshot): Captured => ({
  users: [...s.users.values()], hashes: [...s.keys.keys()], keys: [...s.keys.values()],
  subs: [...s.src.subs.values()], models: [...s.src.models.values()], deps: [...s.src.deps.values()],
});

/** An admin's spend reset as the row had it (null fields when none), so that a cached snapshot keeps it. */
const creditLine = (e: { credit: bigint; creditUntil: number }) => (e.creditUntil === 0
  ? { spend_credit: null, spend_credit_until: null }
  : { spend_credit: fromPico(e.credit), spend_credit_until: new Date(e.creditUntil) });

function* lines(c: Captured, section: Section): Generator<string> {
  switch (section) {
    case 'users':
      for (const u of c.users) {
        const line: UserLine = { id: u.id, username: u.username, disabled: u.disabled, max_budget: u.maxBudget === null ? null : fromPico(u.maxBudget), budget_period: u.budgetPeriod, rpm: u.rpm, tpm: u.tpm, ...creditLine(u) };
        yield JSON.stringify(line);
      }
      return;
    case 'keys': {
      const lists = new Map<ReadonlySet<string>, string[]>();
      for (let i = 0; i < c.keys.length; i++) {
        const e = c.keys[i]!;
        let models = lists.get(e.models);
        if (!models) lists.set(e.models, (models = [...e.models]));
        yield JSON.stringify({
          id: e.id, user_id: e.user.id, hash: c.hashes[i], models, max_budget: e.maxBudget === null ? null : fromPico(e.maxBudget),
          budget_period: e.budgetPeriod, rpm: e.rpm, tpm: e.tpm, max_parallel: e.maxParallel,
          expires_at: e.expiresAt === null ? null : new Date(e.expiresAt).toISOString(), ...creditLine(e),
          ...(e.modelLimits ? { model_limits: JSON.parse(e.modelLimits.src) as unknown } : {}),
        });
      }
      return;
    }
    case 'subs': for (const list of c.subs) for (const s of list) yield JSON.stringify(s); return;
    case 'models': for (const m of c.models) yield JSON.stringify(m); return;
    case 'deps': for (const list of c.deps) for (const d of list) yield JSON.stringify(d); return;
  }
}

export class SnapshotCache {
  /** The digest of the file as last written or found; undefined until the file was looked at. */
  private digest: string | null | undefined;
  private writing: Promise<unknown> = Promise.resolve();
  /** The event loop's time the last write took (ms: serialising, not waiting for the disk), for callers that space writes by their cost. */
  lastWriteMs = 0;

  constructor(readonly file: string) {}

  /** Whether a complete file of a known version is there (its head and tail; the rows are read by load()). */
  exists(): boolean {
    const [head, tail] = this.ends();
    if (HEADER.exec(head)?.[1] === String(VERSION)) return TRAILER.test(tail);
    if (head.startsWith('{"version":1,')) return tail.trimEnd().endsWith('}'); // the one-line file of earlier versions
    return false;
  }

  /** The first line's start and the last bytes of the file ('' when it is not there). */
  private ends(): [string, string] {
    let fd: number;
    try { fd = openSync(this.file, 'r'); } catch { return ['', '']; }
    try {
      const size = fstatSync(fd).size;
      const buf = Buffer.alloc(256);
      const head = buf.toString('utf8', 0, readSync(fd, buf, 0, 256, 0)).split('\n')[0]!;
      const n = readSync(fd, buf, 0, 256, Math.max(0, size - 256));
      return [head, buf.toString('utf8', 0, n)];
    } finally {
      closeSync(fd);
    }
  }

  /** The cached snapshot and when it was saved, or null when there is no usable file. Read line by line. */
  async load(cipher: Cipher): Promise<{ snap: Snapshot; savedAt: string } | null> {
    try {
      const [head] = this.ends();
      if (head.startsWith('{"version":1,')) return await this.loadV1(cipher);
      const b = new SnapshotBuilder(cipher);
      let savedAt = '', section: Section | null = null, complete = false, buf: unknown[] = [];
      const models: ModelRow[] = [], deps: DepRow[] = [];
      const flush = () => {
        if (section === 'users') b.users(buf as UserLine[]);
        else if (section === 'keys') b.keys(buf as KeyRow[]);
        else if (section === 'subs') b.subs(buf as SubRow[]);
        else if (section === 'models') models.push(...(buf as ModelRow[]));
        else if (section === 'deps') deps.push(...(buf as DepRow[]));
        buf = [];
      };
      let first = true;
      for await (const line of createInterface({ input: createReadStream(this.file, { encoding: 'utf8' }), crlfDelay: Infinity })) {
        if (first) {
          const h = HEADER.exec(line);
          if (!h || Number(h[1]) !== VERSION) return null;
          savedAt = JSON.parse(h[2]!) as string;
          first = false;
        } else if (section === null) {
          const open = /^"(\w+)":\[$/.exec(line);
          if (open && (SECTIONS as readonly string[]).includes(open[1]!)) section = open[1] as Section;
          else if (TRAILER.test(line)) complete = true;
          else return null;
        } else if (line === ']' || line === '],') {
          flush();
          section = null;
        } else {
          buf.push(JSON.parse(line.startsWith(',') ? line.slice(1) : line));
          if (buf.length >= 10_000) flush(); // owners come before their keys, sections in order: a section can be built as it is read
        }
      }
      if (!complete || section !== null) return null; // cut short
      b.models(models, deps);
      return { snap: b.done(null), savedAt };
    } catch {
      return null; // unreadable: as good as none
    }
  }

  /** The one-line file of version 1 (rows as the database had them), still read after an upgrade. */
  private async loadV1(cipher: Cipher): Promise<{ snap: Snapshot; savedAt: string } | null> {
    const f = JSON.parse(await readFile(this.file, 'utf8')) as { version: number; savedAt: string; rows: { users: UserRow[]; keys: KeyRow[]; subs: SubRow[]; models: ModelRow[]; deps: DepRow[] } };
    const r = f.rows;
    if (f.version !== 1 || !r || ![r.users, r.keys, r.subs, r.models, r.deps].every(Array.isArray)) return null;
    const b = new SnapshotBuilder(cipher);
    b.users(r.users); b.keys(r.keys); b.subs(r.subs); b.models(r.models, r.deps);
    return { snap: b.done(null), savedAt: f.savedAt };
  }

  /**
   * Writes what `snap` holds unless the file already holds it. Writes are serialised, each taking
   * the snapshot as it is when it begins; resolves true when the file was replaced.
   */
  save(snap: Snapshot): Promise<boolean> {
    const next = this.writing.catch(() => {}).then(() => this.write(snap));
    this.writing = next;
    return next;
  }

  /** Resolves when no write is under way. */
  idle(): Promise<void> { return this.writing.then(() => {}, () => {}); }

  private async write(snap: Snapshot): Promise<boolean> {
    let t = performance.now(), busy = 0;
    const c = capture(snap);
    busy += performance.now() - t;
    if (this.digest === undefined) this.digest = TRAILER.exec(this.ends()[1])?.[1] ?? null;
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    let keep = false, hex = '';
    try {
      await fh.chmod(0o600); // a stale temp file left by a crash keeps its old mode otherwise
      const digest = new Digest();
      await fh.write(`{"version":${VERSION},"savedAt":${JSON.stringify(new Date().toISOString())},"rows":{\n`);
      for (const [i, section] of SECTIONS.entries()) {
        let out = `"${section}":[\n`, n = 0;
        t = performance.now();
        for (const line of lines(c, section)) {
          digest.add(section, line);
          out += n++ === 0 ? line : `\n,${line}`;
          if (n % CHUNK === 0) {
            busy += performance.now() - t;
            await fh.write(out);
            out = '';
            t = performance.now();
          }
        }
        busy += performance.now() - t;
        await fh.write(`${out}${n ? '\n' : ''}]${i < SECTIONS.length - 1 ? ',' : ''}\n`);
      }
      hex = digest.hex();
      this.lastWriteMs = busy;
      if (hex === this.digest) return false;
      await fh.write(`},"digest":"${hex}"}\n`);
      await fh.sync();
      keep = true;
    } finally {
      await fh.close();
      if (!keep) await rm(tmp, { force: true });
    }
    await rename(tmp, this.file);
    this.digest = hex;
    return true;
  }
}
