/**
 * @module Embedded PGlite (WASM PostgreSQL) from the main thread: PGlite runs
 * on a worker thread of its own (pglite-worker.ts), because its statements run
 * synchronously on the thread that calls them and would otherwise stall every
 * request the process serves. `PGliteThread` is the handle (queries, LISTEN,
 * close); `PGliteDialect` is the Kysely dialect over it.
 *
 * PGlite is one connection: a lock hands it to one Kysely connection at a time
 * so transactions never interleave. Written here rather than pulling in
 * `kysely-pglite`, whose runtime is a few lines but whose dependencies include
 * a CLI and a code generator.
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import {
  CompiledQuery, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler,
  type DatabaseConnection, type Dialect, type Driver, type Kysely, type QueryResult, type TransactionSettings,
} from 'kysely';
import type { ErrorData, FromWorker, ToWorker, WorkerInit } from './pglite-worker.js';

class Mutex {
  private tail: Promise<void> = Promise.resolve();
  lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const ready = this.tail.then(() => release);
    this.tail = this.tail.then(() => next);
    return ready;
  }
}

/** The worker's error as an Error again, with its fields (`code` is the SQLSTATE callers classify by). */
function toError(e: ErrorData): Error {
  const err = Object.assign(new Error(e.message), e.fields);
  err.name = e.name;
  return err;
}

/**
 * Where the worker's code is. Built (dist/), it is the compiled sibling file.
 * Under vitest the sources are TypeScript and a worker thread is plain Node
 * (vitest transforms only its own thread), so the types are stripped here with
 * the compiler — a dev dependency, like vitest — into a data: URL; the worker
 * module imports only node built-ins, which a data: URL can resolve.
 */
async function workerScript(): Promise<URL> {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new URL('./pglite-worker.js', here);
  const ts = (await import('typescript')).default;
  const source = readFileSync(new URL('./pglite-worker.ts', here), 'utf8');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  return new URL(`data:text/javascript,${encodeURIComponent(js)}`);
}

type Request = ToWorker extends infer T ? T extends { id: number } ? Omit<T, 'id'> : never : never;
interface Pending { resolve(r: { rows: unknown[]; affectedRows?: number }): void; reject(e: Error): void }

/** PGlite on its own thread. One physical connection: take `lock()` around anything that must not interleave. */
export class PGliteThread {
  private readonly mutex = new Mutex();
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<string, Array<(payload: string) => void>>();
  private nextId = 1;
  /** Set once the worker is gone (closed or died): every request fails with it. */
  private gone: Error | null = null;
  private closing: Promise<void> | null = null;

  /** Settles with the worker's first message: the database is open, or why not. */
  private readonly opened: Promise<void>;

  private constructor(private readonly worker: Worker, dataDir: string) {
    let open!: { resolve(): void; reject(e: Error): void };
    this.opened = new Promise((resolve, reject) => { open = { resolve, reject }; });
    worker.on('message', (m: FromWorker) => {
      if (!('op' in m) || m.op === 'notify') return this.onMessage(m);
      if (m.op === 'ready') open.resolve(); else open.reject(toError(m.error));
    });
    worker.on('error', (err) => { this.gone ??= new Error(`PGlite worker is closed: it failed (${err.message})`); });
    worker.on('exit', (code) => {
      this.gone ??= new Error(`PGlite worker is closed: it exited with code ${code}`);
      open.reject(new Error(`PGlite worker exited with code ${code} while opening ${dataDir}`));
      for (const p of this.pending.values()) p.reject(this.gone);
      this.pending.clear();
    });
  }

  /** Starts the worker and opens (or creates) the database in `dataDir`. */
  static async start(dataDir: string): Promise<PGliteThread> {
    const init: WorkerInit = { dataDir, pgliteUrl: import.meta.resolve('@electric-sql/pglite') };
    const t = new PGliteThread(new Worker(await workerScript(), { workerData: { pglite: init } }), dataDir);
    try { await t.opened; } catch (err) { await t.worker.terminate(); throw err; }
    // Idle, the thread does not keep the process alive (an in-process PGlite would not either); request() refs it while an answer is due.
    t.worker.unref();
    return t;
  }

  lock(): Promise<() => void> { return this.mutex.lock(); }

  /** One statement. The caller holds the lock (Kysely does, through the driver). */
  query<R>(sql: string, params: readonly unknown[]): Promise<{ rows: R[]; affectedRows?: number }> {
    return this.request({ op: 'query', sql, params }) as Promise<{ rows: R[]; affectedRows?: number }>;
  }

  /** LISTEN on `channel`; NOTIFYs are forwarded to `onNotify`. Takes the lock: a LISTEN inside someone's transaction would be undone by its rollback. */
  async listen(channel: string, onNotify: (payload: string) => void): Promise<void> {
    const release = await this.lock();
    try {
      const before = this.listeners.get(channel);
      this.listeners.set(channel, [...(before ?? []), onNotify]);
      if (!before) await this.request({ op: 'listen', channel }).catch((err: unknown) => { this.listeners.delete(channel); throw err; });
    } finally { release(); }
  }

  /** Closes the database (its files consistent) and ends the thread. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.gone) await this.request({ op: 'close' }).catch(() => {});
      this.gone ??= new Error('PGlite worker is closed');
      await this.worker.terminate(); // it exits by itself after closing; this only makes sure
    })();
    return this.closing;
  }

  private request(m: Request): Promise<{ rows: unknown[]; affectedRows?: number }> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref(); // an answer is due: stay alive for it
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...m, id } as ToWorker);
    });
  }

  private onMessage(m: FromWorker): void {
    if ('id' in m) {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (m.ok) p.resolve(m); else p.reject(toError(m.error));
    } else if (m.op === 'notify') {
      for (const cb of this.listeners.get(m.channel) ?? []) cb(m.payload);
    }
  }
}

class PGliteConnection implements DatabaseConnection {
  constructor(private readonly thread: PGliteThread) {}
  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    const res = await this.thread.query<R>(q.sql, q.parameters);
    return { rows: res.rows, numAffectedRows: res.affectedRows === undefined ? undefined : BigInt(res.affectedRows) };
  }
  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported on PGlite');
  }
}

class PGliteDriver implements Driver {
  private readonly releases = new WeakMap<DatabaseConnection, () => void>();
  constructor(private readonly thread: PGliteThread) {}
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    const release = await this.thread.lock();
    // One physical connection: a fresh wrapper per acquisition keeps the release bookkeeping per holder.
    const c = new PGliteConnection(this.thread);
    this.releases.set(c, release);
    return c;
  }
  async beginTransaction(c: DatabaseConnection, s: TransactionSettings): Promise<void> {
    await c.executeQuery(CompiledQuery.raw(s.isolationLevel ? `begin isolation level ${s.isolationLevel}` : 'begin'));
  }
  async commitTransaction(c: DatabaseConnection): Promise<void> { await c.executeQuery(CompiledQuery.raw('commit')); }
  async rollbackTransaction(c: DatabaseConnection): Promise<void> { await c.executeQuery(CompiledQuery.raw('rollback')); }
  async releaseConnection(c: DatabaseConnection): Promise<void> {
    this.releases.get(c)?.();
    this.releases.delete(c);
  }
  async destroy(): Promise<void> {}
}

export class PGliteDialect implements Dialect {
  constructor(private readonly thread: PGliteThread) {}
  createAdapter() { return new PostgresAdapter(); }
  createDriver(): Driver { return new PGliteDriver(this.thread); }
  createQueryCompiler() { return new PostgresQueryCompiler(); }
  createIntrospector(db: Kysely<any>) { return new PostgresIntrospector(db); }
}
