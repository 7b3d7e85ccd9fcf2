/**
 * @module The `pg` pool Kysely runs on, made safe for a database that goes
 * away. A pooled client that loses its socket while checked out emits 'error'
 * with no listener of pg-pool's attached (pg-pool only listens while a client
 * is idle), which kills the process; every client gets a listener here. A
 * half-open connection answers nothing and no error ever comes, so every
 * query also has a hard deadline after which its connection is destroyed:
 * a ledger flush can wait on a dead socket for seconds, never forever.
 */
import type { Duplex } from 'node:stream';
import pg from 'pg';
import type { PostgresPool, PostgresPoolClient } from 'kysely';

/** Server-side limit on one statement unless DATABASE_URL sets `statement_timeout` itself. */
const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;

/** Connection settings shared by the pool, the LISTEN connection and the migration connection. */
export function connectionConfig(url: string, applicationName: string): pg.PoolConfig {
  return {
    connectionString: url,
    application_name: applicationName, // a `application_name` in the URL wins
    connectionTimeoutMillis: 5_000,
    // Lets the kernel notice a peer that vanished without a FIN (a cut network, a dead host).
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}

export interface HardenedPool {
  /** What Kysely's PostgresDialect gets: the pool with a deadline on every query. */
  readonly pool: PostgresPool;
  /** Milliseconds after which a query without an answer has its connection destroyed. */
  readonly deadlineMs: number;
}

export function openPool(url: string, types: pg.CustomTypesConfig): HardenedPool {
  const statementTimeoutMs = statementTimeoutOf(url);
  const pool = new pg.Pool({
    ...connectionConfig(url, 'litemaas'),
    types,
    max: 10,
    // Idle connections are closed rather than kept across a database restart that would leave them dead.
    idleTimeoutMillis: 10_000,
    statement_timeout: statementTimeoutMs,
    // A transaction left open by a client that vanished must not hold locks until the server notices.
    idle_in_transaction_session_timeout: 60_000,
  });
  // An idle client that dies is removed by pg-pool, which then re-emits the error here.
  pool.on('error', () => {});
  // A checked-out client that dies surfaces the error through the query that was using it.
  pool.on('connect', (client) => { client.on('error', () => {}); });
  // The server cancels a slow statement itself after statement_timeout; only a connection that
  // cannot even deliver that answer reaches the deadline.
  const deadlineMs = statementTimeoutMs + Math.min(5_000, statementTimeoutMs);
  return { pool: withDeadline(pool, deadlineMs), deadlineMs };
}

/** `statement_timeout` from the URL's query string, if it is set there. */
function statementTimeoutOf(url: string): number {
  try {
    const v = Number(new URL(url).searchParams.get('statement_timeout'));
    return Number.isInteger(v) && v > 0 ? v : DEFAULT_STATEMENT_TIMEOUT_MS;
  } catch {
    return DEFAULT_STATEMENT_TIMEOUT_MS;
  }
}

function withDeadline(pool: pg.Pool, deadlineMs: number): PostgresPool {
  // Kysely keys its connection objects by client, so each pg client keeps one wrapper.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  return {
    async connect() {
      const client = await pool.connect();
      let w = wrappers.get(client);
      if (!w) {
        w = {
          query: ((text: unknown, params?: readonly unknown[]) => typeof text === 'string'
            ? queryWithDeadline(client, text, params ?? [], deadlineMs)
            : client.query(text as never)) as unknown as PostgresPoolClient['query'],
          // pg-pool installs a fresh release() on every checkout; call whichever is current.
          release: (destroy?: boolean) => client.release(destroy),
        };
        wrappers.set(client, w);
      }
      return w;
    },
    end: () => pool.end(),
  };
}

function queryWithDeadline(client: pg.PoolClient, text: string, params: readonly unknown[], ms: number): Promise<pg.QueryResult> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      // ETIMEDOUT, as a socket timeout would say: every caller already treats it as "retry later".
      reject(Object.assign(new Error(`database query timeout: no answer within ${ms} ms; connection dropped`), { code: 'ETIMEDOUT' }));
      destroyClient(client);
    }, ms);
    client.query(text, params as unknown[]).then(
      (r) => { clearTimeout(timer); resolve(r); },
      (e: unknown) => { clearTimeout(timer); reject(e); },
    );
  });
}

/**
 * Ends a client without waiting for the server: end() marks it so the pool drops it on
 * release, and its socket is destroyed because a half-open peer never says goodbye.
 */
export function destroyClient(client: pg.ClientBase): void {
  client.on('error', () => {});
  void (client as pg.Client).end().catch(() => {});
  (client as unknown as { connection?: { stream?: Duplex } }).connection?.stream?.destroy();
}

// Socket-level failures and the server's "go away" answers: the database is down, not wrong.
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE',
  '57P01', '57P02', '57P03', // admin_shutdown, crash_shutdown, cannot_connect_now
  '53300', // too_many_connections
]);
const UNREACHABLE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection closed/i;

/** True when `err` says the database could not be reached (rather than that a query was wrong or access denied). */
export function isUnreachable(err: unknown): boolean {
  if (err instanceof AggregateError) return err.errors.some(isUnreachable); // net's happy eyeballs over ::1 and 127.0.0.1
  if (!err || typeof err !== 'object') return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || code.startsWith('08'))) return true; // 08xxx: connection_exception
  return typeof message === 'string' && UNREACHABLE_MESSAGES.test(message);
}
