/**
 * @module The store: Kysely over `pg` when DATABASE_URL is set, over embedded
 * PGlite (files in the data dir) when not. Both speak the same SQL and run the
 * same migrations; callers never ask which one they have.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { PGliteDialect, PGliteThread } from './pglite-dialect.js';
import { migrate } from './migrate.js';
import { connectionConfig, openPool } from './pg-pool.js';
import { ChangeListener } from './pg-listener.js';
import type { Database } from './schema.js';

export const CHANGES_CHANNEL = 'litemaas_changes';

export interface Store {
  readonly db: Kysely<Database>;
  readonly kind: 'postgres' | 'pglite';
  /**
   * Calls `onChange` on every NOTIFY, and with 'reconnect' once the listener is back after losing
   * its connection (a full reload is due). Never rejects: while the database is unreachable it
   * keeps retrying in the background.
   */
  listen(onChange: (table: string) => void): Promise<void>;
  /** Applies migrations on a connection of their own, without the pool's statement deadline (PGlite: on `db`). */
  migrate?(): Promise<string[]>;
  close(): Promise<void>;
}

// int8 counters fit JS numbers; numeric stays a decimal string (money is exact); date stays 'YYYY-MM-DD'.
const OID = { int8: 20, numeric: 1700, date: 1082 } as const;
const pgTypes = {
  getTypeParser(oid: number, format?: string) {
    if (oid === OID.int8) return (v: string) => Number(v);
    if (oid === OID.numeric || oid === OID.date) return (v: string) => v;
    return (pg.types.getTypeParser as (o: number, f?: string) => unknown)(oid, format);
  },
};

export interface StoreOptions { databaseUrl?: string; dataDir: string; migrate?: boolean }

/** Opening a PostgreSQL store does not connect; the first query (or migrateStore) does. */
export async function openStore(opts: StoreOptions): Promise<Store> {
  const store = opts.databaseUrl ? openPostgres(opts.databaseUrl) : await openPGlite(join(opts.dataDir, 'pgdata'));
  if (opts.migrate !== false) {
    try { await migrateStore(store); } catch (err) { await store.close(); throw err; }
  }
  return store;
}

export function migrateStore(store: Store): Promise<string[]> {
  return store.migrate ? store.migrate() : migrate(store.db);
}

export { isUnreachable } from './pg-pool.js';

function openPostgres(url: string): Store {
  const { pool } = openPool(url, pgTypes as never);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let listener: ChangeListener | null = null;
  return {
    db,
    kind: 'postgres',
    async listen(onChange) {
      await listener?.close();
      listener = new ChangeListener(url, CHANGES_CHANNEL, onChange);
      await listener.start();
    },
    async migrate() {
      // A migration may rewrite a large table; the runtime pool's statement deadline is not for it.
      const migrator = new pg.Pool({ ...connectionConfig(url, 'litemaas-migrate'), max: 1, types: pgTypes as never });
      migrator.on('error', () => {});
      migrator.on('connect', (c) => { c.on('error', () => {}); });
      const mdb = new Kysely<Database>({ dialect: new PostgresDialect({ pool: migrator }) });
      try { return await migrate(mdb); } finally { await mdb.destroy(); }
    },
    async close() {
      await listener?.close();
      await db.destroy();
    },
  };
}

async function openPGlite(dir: string): Promise<Store> {
  mkdirSync(dir, { recursive: true, mode: 0o700 }); // the whole database, in files: owner only
  // On a thread of its own (pglite-dialect.ts): its statements would otherwise block the event loop that serves /v1.
  // The worker applies the same parsers as pgTypes above.
  const thread = await PGliteThread.start(dir);
  const db = new Kysely<Database>({ dialect: new PGliteDialect(thread) });
  return {
    db,
    kind: 'pglite',
    async listen(onChange) { await thread.listen(CHANGES_CHANNEL, onChange); },
    async close() { await db.destroy(); await thread.close(); },
  };
}
