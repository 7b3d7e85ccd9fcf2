/**
 * @module The thread embedded PGlite runs on. PGlite is PostgreSQL compiled to
 * WASM: every statement runs synchronously on the thread that calls it, so on
 * the main thread a ledger batch or a snapshot reload would stall every /v1
 * request for its whole duration. Here it stalls only this thread.
 *
 * Protocol (structured-clone messages, see the types below): the main thread
 * (pglite-dialect.ts) sends queries, LISTENs and a close; this thread answers
 * each by id, in order, and forwards NOTIFYs as they arrive.
 *
 * This module imports nothing but node built-ins statically: PGlite comes from
 * the URL the main thread resolved, so the same code runs from dist/ by path
 * and, under vitest, transpiled into a data: URL (which cannot resolve
 * package names).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { PGlite, PGliteOptions, Results } from '@electric-sql/pglite';

type PGliteModule = typeof import('@electric-sql/pglite');
type BackendMessage = Parameters<PGliteModule['parse']['parseResults']>[0][number];

export interface WorkerInit { dataDir: string; pgliteUrl: string }

export type ToWorker =
  | { id: number; op: 'query'; sql: string; params: readonly unknown[] }
  | { id: number; op: 'listen'; channel: string }
  | { id: number; op: 'close' };

/** An error as data: structured clone keeps only an Error's message, and callers read `code` (SQLSTATE). */
export interface ErrorData { name: string; message: string; fields: Record<string, string | number> }

export type FromWorker =
  | { op: 'ready' }
  | { op: 'failed'; error: ErrorData }
  | { op: 'notify'; channel: string; payload: string }
  | { id: number; ok: true; rows: unknown[]; affectedRows?: number }
  | { id: number; ok: false; error: ErrorData };

// The same value shapes as the pg pool (db.ts): int8 counters fit JS numbers; numeric stays an exact
// decimal string; date stays 'YYYY-MM-DD'. Parsers are functions, so they live on this side.
const OID = { int8: 20, numeric: 1700, date: 1082 } as const;
const parsers = { [OID.int8]: (v: string) => Number(v), [OID.numeric]: (v: string) => v, [OID.date]: (v: string) => v };

function errorData(err: unknown): ErrorData {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), fields: {} };
  const fields: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(err)) if (typeof v === 'string' || typeof v === 'number') fields[k] = v;
  return { name: err.name, message: err.message, fields };
}

/**
 * Named prepared statements for SQL that comes back. PGlite's query() parses,
 * analyses and plans every call anew, and for the ledger's one statement per
 * flush (CTEs over 15 unnest arrays and three rollups) that alone is ~4 ms of
 * WASM CPU — more than inserting the 50 rows a flush holds at 500 req/s. A
 * query text seen a second time is prepared once (as node drivers with
 * statement caching do) and from then on only bound and executed. Bounded:
 * the least recently used statement is closed. Transaction control and other
 * utility statements always take the plain path.
 */
class StatementCache {
  private readonly seenOnce = new Map<string, true>();
  private readonly prepared = new Map<string, { name: string; paramTypes: number[] }>();
  private next = 0;
  constructor(private readonly pg: PGlite, private readonly mod: PGliteModule, private readonly max = 100) {}

  query(sql: string, params: readonly unknown[]): Promise<Results> {
    if (!this.prepared.has(sql)) {
      if (!this.seenOnce.delete(sql)) {
        if (/^\s*(select|insert|update|delete|with)\b/i.test(sql)) lru(this.seenOnce, sql, true, 4 * this.max);
        return this.pg.query(sql, params as unknown[]);
      }
    }
    return this.pg.runExclusive(async () => {
      const st = this.prepared.get(sql) ?? (await this.prepare(sql));
      lru(this.prepared, sql, st, Infinity);
      const values = params.map((v, i) => (v == null ? null : (this.pg.serializers[st.paramTypes[i]!] ?? String)(v)));
      const { serialize } = this.mod.protocol;
      try {
        const messages = await this.exchange([serialize.bind({ statement: st.name, values }), serialize.describe({ type: 'P' }), serialize.execute({})]);
        await this.pg.syncToFs(); // as query() does
        return this.mod.parse.parseResults(messages, this.pg.parsers)[0]!;
      } catch (err) {
        // 0A000: a table changed under the statement's result type; 26000: it no longer exists. Prepare again next time.
        const code = (err as { code?: unknown }).code;
        if (code === '0A000' || code === '26000') this.prepared.delete(sql);
        throw err;
      }
    });
  }

  private async prepare(sql: string): Promise<{ name: string; paramTypes: number[] }> {
    const { serialize } = this.mod.protocol;
    const name = `litemaas_${this.next++}`;
    const messages = await this.exchange([serialize.parse({ name, text: sql }), serialize.describe({ type: 'S', name })]);
    const st = { name, paramTypes: this.mod.parse.parseDescribeStatementResults(messages) };
    if (this.prepared.size >= this.max) {
      const [oldest, old] = this.prepared.entries().next().value!;
      this.prepared.delete(oldest);
      await this.exchange([serialize.close({ type: 'S', name: old.name })]).catch(() => {});
    }
    return st;
  }

  /** Sends `msgs`, then Sync — which ends the exchange and, after an error, brings the backend back — and returns what came back. */
  private async exchange(msgs: Uint8Array[]): Promise<BackendMessage[]> {
    const out: BackendMessage[] = [];
    try {
      for (const m of msgs) out.push(...(await this.pg.execProtocol(m, { syncToFs: false })).messages);
    } finally {
      out.push(...(await this.pg.execProtocol(this.mod.protocol.serialize.sync(), { syncToFs: false })).messages);
    }
    return out;
  }
}

/** Puts `key` last (most recently used) and drops the oldest entries beyond `max`. */
function lru<V>(m: Map<string, V>, key: string, value: V, max: number): void {
  m.delete(key);
  m.set(key, value);
  while (m.size > max) m.delete(m.keys().next().value!);
}

async function serve(port: NonNullable<typeof parentPort>, init: WorkerInit): Promise<void> {
  const post = (m: FromWorker) => port.postMessage(m);
  let pg: PGlite, statements: StatementCache;
  try {
    const mod = (await import(init.pgliteUrl)) as PGliteModule;
    pg = await mod.PGlite.create({ dataDir: init.dataDir, parsers } satisfies PGliteOptions);
    statements = new StatementCache(pg, mod);
  } catch (err) {
    post({ op: 'failed', error: errorData(err) });
    port.close();
    return;
  }

  async function handle(m: ToWorker): Promise<void> {
    try {
      if (m.op === 'query') {
        const r = await statements.query(m.sql, m.params);
        post({ id: m.id, ok: true, rows: r.rows, affectedRows: r.affectedRows });
      } else if (m.op === 'listen') {
        const channel = m.channel;
        await pg.listen(channel, (payload) => post({ op: 'notify', channel, payload }));
        post({ id: m.id, ok: true, rows: [] });
      } else {
        await pg.close();
        post({ id: m.id, ok: true, rows: [] });
        port.close(); // nothing left to keep this thread alive: it exits
      }
    } catch (err) {
      post({ id: m.id, ok: false, error: errorData(err) });
    }
  }

  // One at a time, in arrival order: the main thread's lock decides who holds the connection,
  // this chain makes sure its statements (begin … commit) run in the order it sent them.
  let chain = Promise.resolve();
  port.on('message', (m: ToWorker) => { chain = chain.then(() => handle(m)); });
  post({ op: 'ready' });
}

if (parentPort && (workerData as { pglite?: WorkerInit } | null)?.pglite) {
  void serve(parentPort, (workerData as { pglite: WorkerInit }).pglite);
}
