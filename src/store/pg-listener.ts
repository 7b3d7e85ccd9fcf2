/**
 * @module The LISTEN connection that tells gateways a key, user or model
 * changed. When it is lost, exactly one loop brings it back: a loss is
 * handled only for the current client (its 'error' and 'end' both fire, and
 * a failed connect fires them too), the old client is destroyed before a new
 * one is made, and attempts back off exponentially with jitter. A heartbeat
 * notices a half-open connection, which would otherwise never fail.
 */
import pg from 'pg';
import { backoffDelay } from './backoff.js';
import { connectionConfig, destroyClient } from './pg-pool.js';

const HEARTBEAT_MS = 10_000;
const HEARTBEAT_DEADLINE_MS = 5_000;

export class ChangeListener {
  private client: pg.Client | null = null;
  /** Resolves when the client's socket has closed. */
  private readonly gone = new WeakMap<pg.Client, Promise<void>>();
  private retiring: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  /** Consecutive failures; reset once a connection has proved itself with a heartbeat. */
  private failures = 0;
  /** Set when a connection was lost or never made: the next success means notifications may have been missed. */
  private missed = false;
  private closed = false;
  /** Connections opened so far (for tests that count them). */
  attempts = 0;

  constructor(private readonly url: string, private readonly channel: string, private readonly onChange: (table: string) => void) {}

  /** Makes the first attempt; if it fails the loop keeps trying in the background and this still resolves. */
  start(): Promise<void> { return this.connect(); }

  private async connect(): Promise<void> {
    this.retryTimer = null;
    await this.retiring; // the previous socket is gone before a new one is opened
    if (this.closed) return;
    const client = new pg.Client(connectionConfig(this.url, 'litemaas-listen'));
    this.client = client;
    this.attempts++;
    this.gone.set(client, new Promise((r) => client.once('end', () => r())));
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (n) => { if (this.client === client) this.onChange(n.payload ?? ''); });
    try {
      await client.connect();
      await client.query(`listen ${this.channel}`);
    } catch {
      this.lost(client);
      return;
    }
    if (this.client !== client) return; // lost meanwhile; already being retried
    this.heartbeat = setInterval(() => this.beat(client), HEARTBEAT_MS);
    this.heartbeat.unref();
    if (this.missed) {
      this.missed = false;
      this.onChange('reconnect');
    }
  }

  private beat(client: pg.Client): void {
    const timer = setTimeout(() => this.lost(client), HEARTBEAT_DEADLINE_MS);
    client.query('select 1').then(
      () => { clearTimeout(timer); if (this.client === client) this.failures = 0; },
      () => { clearTimeout(timer); this.lost(client); },
    );
  }

  /** The one place that schedules a retry, and only for the current client. */
  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    this.missed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.retiring = retire(client, this.gone.get(client));
    if (this.closed) return;
    this.retryTimer = setTimeout(() => void this.connect(), backoffDelay(this.failures++));
    this.retryTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.client) this.lost(this.client);
    await this.retiring;
  }
}

/** Destroys a client; resolves when its socket has closed (or after a second, whichever is first). */
function retire(client: pg.Client, gone: Promise<void> | undefined): Promise<void> {
  destroyClient(client);
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((r) => { t = setTimeout(r, 1000); t.unref(); });
  return Promise.race([gone ?? timeout, timeout]).finally(() => clearTimeout(t));
}
