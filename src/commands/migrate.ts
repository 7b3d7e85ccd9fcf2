/**
 * @module `litemaas migrate`: apply migrations and report what ran.
 */
import type { Config } from '../config.js';
import { migrateStore, openStore } from '../store/db.js';

export async function migrateCommand(cfg: Config): Promise<void> {
  const store = await openStore({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir, migrate: false });
  try {
    // On its own connection, without the statement timeout that bounds the gateway's queries.
    const applied = await migrateStore(store);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
  } finally {
    await store.close();
  }
}
