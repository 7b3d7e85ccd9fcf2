/**
 * @module `litemaas serve`, and the signal handling every long-running role shares.
 */
import { randomToken, type Config } from '../config.js';
import { startServer, type Running } from '../server.js';
import { isUnreachable } from '../store/db.js';

export function onShutdown(close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: draining and flushing usage…\n`);
    close().then(() => process.exit(0), (err: unknown) => {
      process.stderr.write(`shutdown error: ${(err as Error).message}\n`);
      process.exit(1);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

export async function serveCommand(cfg: Config): Promise<Running> {
  if (!cfg.adminToken) process.stderr.write('note: LITEMAAS_ADMIN_TOKEN is not set; the admin API accepts no bearer token.\n');
  const running = await startServer(cfg);
  onShutdown(running.close);
  try {
    const admin = await running.services.users.ensureAdmin(cfg.adminPassword, () => randomToken(12));
    if (admin.password) process.stdout.write(`created the portal account 'admin' with password ${admin.password} (shown once; set LITEMAAS_ADMIN_PASSWORD to choose it)\n`);
  } catch (err) {
    // Serving from a cached snapshot while the database is down: the account is checked at the next start.
    if (!isUnreachable(err)) throw err;
    process.stderr.write('warning: the database is unreachable; serving /v1 from the cached snapshot and journal until it is back\n');
  }
  process.stdout.write(`litemaas listening on ${running.url} (store: ${running.store.kind}); gateway at ${running.url}/v1\n`);
  return running;
}
