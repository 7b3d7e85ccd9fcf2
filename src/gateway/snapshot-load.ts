/**
 * @module Loading a whole snapshot from the database in pages: keyset
 * pagination in each table's index order, a bounded number of rows held at
 * once, and the event loop given back between pages, so that a million keys
 * neither hold every row in memory at the same time nor stall requests for
 * seconds. The change counter is read first: whatever a later page misses or
 * sees half-done has a higher version and arrives by notification, applied
 * after the load (the gateway queues them meanwhile).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Cipher } from '../shared/secrets.js';
import { rowQueries, SnapshotBuilder, type Snapshot } from './snapshot.js';

/** Rows per query: about 10 ms of building between two turns of the event loop, and a few MB of rows at a time. */
export const PAGE_SIZE = 10_000;

export interface LoadOptions {
  pageSize?: number;
  /** The snapshot this one replaces: its entries that did not change are kept. */
  previous?: Snapshot | null;
  /** Called after each page is taken in (tests use it to change the database mid-load). */
  onPage?: (table: 'users' | 'keys' | 'subs', rows: number) => void | Promise<void>;
}

/**
 * The change counter (migration 007), read before the rows so that any change the rows might miss
 * has a higher version and arrives as a notification. Null when the table does not exist yet.
 */
export async function loadVersion(db: Kysely<Database>): Promise<number | null> {
  try {
    const r = await sql<{ version: number | string }>`select version from litemaas_snapshot_version where id = 1`.execute(db);
    return r.rows[0] ? Number(r.rows[0].version) : null;
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') return null; // undefined_table: not migrated yet
    throw err;
  }
}

async function paged<R>(table: 'users' | 'keys' | 'subs', size: number, read: (after: R | null) => Promise<R[]>, take: (rows: R[]) => void, o: LoadOptions): Promise<void> {
  let after: R | null = null;
  for (;;) {
    const rows = await read(after);
    take(rows);
    await o.onPage?.(table, rows.length);
    if (rows.length < size) return;
    after = rows[rows.length - 1]!;
    await nextTurn();
  }
}

export async function loadSnapshot(db: Kysely<Database>, cipher: Cipher, o: LoadOptions = {}): Promise<Snapshot> {
  const size = Math.max(1, o.pageSize ?? PAGE_SIZE);
  const version = await loadVersion(db);
  const b = new SnapshotBuilder(cipher, o.previous ?? null);
  // Owners before their keys: a key whose owner is not loaded is skipped (its owner was created after the version was read, and both arrive by notification).
  await paged('users', size, (a: { id: string } | null) => {
    const q = rowQueries.users(db).orderBy('id').limit(size);
    return (a ? q.where('id', '>', a.id) : q).execute();
  }, (rows) => b.users(rows), o);
  await paged('keys', size, (a: { id: string } | null) => {
    const q = rowQueries.keys(db).orderBy('id').limit(size);
    return (a ? q.where('id', '>', a.id) : q).execute();
  }, (rows) => b.keys(rows), o);
  await paged('subs', size, (a: { user_id: string; model_id: string } | null) => {
    const q = rowQueries.subs(db).orderBy('user_id').orderBy('model_id').limit(size);
    return (a ? q.where(sql<boolean>`(user_id, model_id) > (${a.user_id}, ${a.model_id})`) : q).execute();
  }, (rows) => b.subs(rows), o);
  const [models, deps] = await Promise.all([rowQueries.models(db).execute(), rowQueries.deps(db).orderBy('id').execute()]);
  b.models(models, deps);
  return b.done(version);
}
