/**
 * @module A change notification sent by hand, for a change the tables'
 * triggers (migration 007) do not announce because it is to a column they
 * do not watch, yet the gateways must learn it (an admin's spend reset on a
 * key). The same protocol as the triggers: bump litemaas_snapshot_version
 * and NOTIFY its new value with what to reload, both at the caller's commit.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Call inside the transaction that made the change. `refs`: the api_keys [id, hash] pairs to reload. */
export async function notifyKeysChanged(trx: Kysely<Database>, refs: Array<[string, string]>): Promise<void> {
  const r = await sql<{ version: string | number }>`update litemaas_snapshot_version set version = version + 1 returning version`.execute(trx);
  const v = Number(r.rows[0]!.version);
  await sql`select pg_notify('litemaas_changes', ${JSON.stringify({ v, t: 'api_keys', r: refs })})`.execute(trx);
}
