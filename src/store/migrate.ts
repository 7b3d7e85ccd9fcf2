/**
 * @module Migrations: one ordered list for PostgreSQL and PGlite alike,
 * applied at start and by `litemaas migrate`. Reports what it applied.
 *
 * Every replica of a rollout migrates at start, so the whole run — creating
 * the bookkeeping tables included — holds a PostgreSQL advisory lock of its
 * own on one connection: a second process waits for the first to finish,
 * then finds nothing left to apply. The lock is the session's, so a process
 * that dies mid-migration releases it with its connection. (PGlite is one
 * connection in one process; the lock costs it nothing.)
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationResultSet } from 'kysely';
import * as m001 from './migrations/001_initial.js';
import * as m002 from './migrations/002_sessions.js';
import * as m003 from './migrations/003_usage_rollups.js';
import * as m004 from './migrations/004_dead_letters.js';
import * as m005 from './migrations/005_key_admin_limits.js';
import * as m006 from './migrations/006_api_kinds.js';
import * as m007 from './migrations/007_change_payloads.js';
import * as m008 from './migrations/008_usage_daily_scope_indexes.js';
import * as m009 from './migrations/009_teams.js';
import * as m010 from './migrations/010_admin_tokens.js';
import * as m011 from './migrations/011_alerts.js';
import * as m012 from './migrations/012_usage_hourly.js';
import * as m013 from './migrations/013_usage_refusals.js';
import * as m014 from './migrations/014_banners.js';
import * as m015 from './migrations/015_key_model_limits.js';

const migrations: Record<string, Migration> = {
  '001_initial': m001,
  '002_sessions': m002,
  '003_usage_rollups': m003,
  '004_dead_letters': m004,
  '005_key_admin_limits': m005,
  '006_api_kinds': m006,
  '007_change_payloads': m007,
  '008_usage_daily_scope_indexes': m008,
  '009_teams': m009,
  '010_admin_tokens': m010,
  '011_alerts': m011,
  '012_usage_hourly': m012,
  '013_usage_refusals': m013,
  '014_banners': m014,
  '015_key_model_limits': m015,
};

/** The advisory lock's key: the ASCII of 'LMmigrat' as a bigint, LiteMaaS's alone (Kysely's own lock uses another). */
export const MIGRATION_LOCK_KEY = 0x4c4d6d6967726174n;

export async function migrate(db: Kysely<any>): Promise<string[]> {
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(conn);
    try {
      return await migrateLocked(conn);
    } finally {
      // A broken connection has released the lock already; its error is the one worth reporting.
      await sql`select pg_advisory_unlock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(conn).catch(() => {});
    }
  });
}

async function migrateLocked(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'litemaas_migrations',
    migrationLockTableName: 'litemaas_migrations_lock',
  });
  const res: MigrationResultSet = await migrator.migrateToLatest();
  if (res.error) throw res.error instanceof Error ? res.error : new Error(String(res.error));
  return (res.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
