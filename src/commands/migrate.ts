/**
 * @module `litemaas migrate`: apply migrations and report what ran.
 */
import type { Config } from '../config.js';
import { openStore } from '../store/db.js';
import { migrate } from '../store/migrate.js';

export async function migrateCommand(cfg: Config): Promise<void> {
  const store = await openStore({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir, migrate: false });
  try {
    const applied = await migrate(store.db);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
  } finally {
    await store.close();
  }
}
