/**
 * @module The Redis connection of a replica (REDIS_URL): commands fail fast
 * instead of queueing while it is unreachable (no offline queue, a short
 * command timeout), and it reconnects in the background, so a caller can
 * apply its failure mode at once.
 */
import { Redis } from 'ioredis';

export interface RedisOptions {
  /** A command that has not answered within this many ms fails (default 100). */
  commandTimeoutMs?: number;
}

export function openRedis(url: string, o: RedisOptions = {}): Redis {
  const r = new Redis(url, {
    enableOfflineQueue: false,
    commandTimeout: o.commandTimeoutMs ?? 1000,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    // Reconnect quickly after an outage, never give up.
    retryStrategy: (times) => Math.min(50 * times, 1_000),
    lazyConnect: false,
  });
  // Failures are reported by the commands that fail (the caller logs once per outage); without a listener ioredis prints each one.
  r.on('error', () => {});
  return r;
}

/** Resolves when the connection is ready, or after `ms` (false) — a replica starts even when Redis does not answer yet. */
export function whenReady(r: Redis, ms: number): Promise<boolean> {
  if (r.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => { r.off('ready', on); resolve(false); }, ms);
    const on = () => { clearTimeout(t); resolve(true); };
    r.once('ready', on);
  });
}
