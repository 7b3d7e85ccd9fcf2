/**
 * @module The store: Kysely over `pg` when DATABASE_URL is set, over embedded
 * PGlite (files in the data dir) when not. Both speak the same SQL and run the
 * same migrations; callers never ask which one they have.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { PGliteDialect } from './pglite-dialect.js';
import { migrate } from './migrate.js';
import type { Database } from './schema.js';

export const CHANGES_CHANNEL = 'litemaas_changes';

export interface Store {
  readonly db: Kysely<Database>;
  readonly kind: 'postgres' | 'pglite';
  /** Calls `onChange` on every NOTIFY, and with 'reconnect' after the listener lost its connection (a full reload is due). */
  listen(onChange: (table: string) => void): Promise<void>;
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

export async function openStore(opts: StoreOptions): Promise<Store> {
  const store = opts.databaseUrl ? openPostgres(opts.databaseUrl) : await openPGlite(join(opts.dataDir, 'pgdata'));
  if (opts.migrate !== false) await migrate(store.db);
  return store;
}

function openPostgres(url: string): Store {
  const pool = new pg.Pool({ connectionString: url, max: 10, types: pgTypes as never, connectionTimeoutMillis: 5000 });
  // A pool client that dies while idle (server restart) must not crash the process.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let listener: pg.Client | undefined;
  let closed = false;

  async function connectListener(onChange: (t: string) => void): Promise<void> {
    const client = new pg.Client({ connectionString: url });
    client.on('notification', (n) => onChange(n.payload ?? ''));
    client.on('error', () => {});
    client.on('end', () => {
      if (closed) return;
      setTimeout(() => retry(onChange), 500).unref();
    });
    await client.connect();
    await client.query(`listen ${CHANGES_CHANNEL}`);
    listener = client;
  }
  function retry(onChange: (t: string) => void): void {
    connectListener(onChange).then(
      () => onChange('reconnect'),
      () => { if (!closed) setTimeout(() => retry(onChange), 1000).unref(); },
    );
  }

  return {
    db,
    kind: 'postgres',
    async listen(onChange) {
      try { await connectListener(onChange); } catch { retry(onChange); }
    },
    async close() {
      closed = true;
      await listener?.end().catch(() => {});
      await db.destroy();
    },
  };
}

async function openPGlite(dir: string): Promise<Store> {
  mkdirSync(dir, { recursive: true });
  const parsers = { [OID.int8]: (v: string) => Number(v), [OID.numeric]: (v: string) => v, [OID.date]: (v: string) => v };
  const pglite = await PGlite.create({ dataDir: dir, parsers });
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  return {
    db,
    kind: 'pglite',
    async listen(onChange) { await pglite.listen(CHANGES_CHANNEL, onChange); },
    async close() { await db.destroy(); await pglite.close(); },
  };
}
