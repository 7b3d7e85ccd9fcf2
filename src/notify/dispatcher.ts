/**
 * @module The outbox's sender. Due deliveries are claimed in one statement
 * (`FOR UPDATE SKIP LOCKED`, and the claim pushes next_attempt_at past the
 * send's timeout), so replicas polling the same table never send the same
 * delivery at the same time; a replica that dies mid-send leaves its claim
 * to expire and another one retries. Every attempt is logged
 * (notification_attempts); a failure is retried after the next of
 * `retryDelaysMs` (exponential by default: 6 attempts over about 9 minutes),
 * then the delivery is marked failed.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Cipher } from '../shared/secrets.js';
import { sanitize } from '../shared/sanitize.js';
import { readAlertConfig, type AlertConfig } from './alert-config.js';
import { postWebhook, type SendResult } from './webhook.js';
import { sendEmail } from './email.js';

export const DEFAULT_RETRY_DELAYS_MS = [10_000, 30_000, 60_000, 120_000, 300_000];

export interface DispatcherOptions {
  /** Delay before each retry; attempts = length + 1. */
  retryDelaysMs?: number[];
  /** How often this replica looks for due deliveries (others' and its own retries). */
  pollMs?: number;
  /** One send's timeout (connect, answer). */
  timeoutMs?: number;
  onError?: (err: unknown) => void;
}

interface Claimed { id: string; channel: 'webhook' | 'email'; target: string; payload: unknown; attempts: number }

export class Dispatcher {
  private readonly delays: number[];
  private readonly timeoutMs: number;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private failing = false;

  constructor(private readonly db: Kysely<Database>, private readonly cipher: Cipher, private readonly o: DispatcherOptions = {}) {
    this.delays = o.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.timeoutMs = o.timeoutMs ?? 10_000;
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.o.pollMs ?? 2_000);
    this.timer.unref();
    this.kick();
  }

  /** Look for due deliveries now (one pass at a time; a kick during a pass runs another). */
  kick(): void {
    if (this.closed) return;
    if (this.running) { this.again = true; return; }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          while (!this.closed && (await this.runOnce()) > 0) { /* drain what is due */ }
        } while (this.again && !this.closed);
        this.failing = false;
      } catch (err) {
        // Said once per outage, not at every poll.
        if (!this.failing) this.o.onError?.(err);
        this.failing = true;
      } finally {
        this.running = null;
      }
    })();
  }

  /** Claims and sends the deliveries due now; returns how many it sent or attempted. */
  async runOnce(limit = 20): Promise<number> {
    const leaseMs = this.timeoutMs * 3 + 30_000;
    const claimed = await sql<Claimed>`
      update notification_deliveries d
      set attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => ${leaseMs / 1000})
      where d.id in (select id from notification_deliveries where status = 'pending' and next_attempt_at <= now()
                     order by next_attempt_at limit ${limit} for update skip locked)
      returning d.id, d.channel, d.target, d.payload, d.attempts`.execute(this.db);
    if (claimed.rows.length === 0) return 0;
    const cfg = await readAlertConfig(this.db, this.cipher);
    await Promise.all(claimed.rows.map((d) => this.send(d, cfg)));
    return claimed.rows.length;
  }

  private async send(d: Claimed, cfg: AlertConfig): Promise<void> {
    const started = Date.now();
    const payload = (typeof d.payload === 'string' ? JSON.parse(d.payload) : d.payload) as Record<string, unknown>;
    let r: SendResult;
    if (cfg.secretError) {
      r = { ok: false, statusCode: null, error: cfg.secretError };
    } else if (d.channel === 'webhook') {
      r = await postWebhook(d.target, JSON.stringify(payload), { id: d.id, secret: cfg.webhookSecret, timeoutMs: this.timeoutMs });
    } else {
      r = await sendEmail(cfg.email, { to: d.target, subject: String(payload.subject), text: String(payload.text) }, this.timeoutMs);
    }
    const error = r.error === null ? null : sanitize(r.error, 500);
    const last = d.attempts > this.delays.length;
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('notification_attempts').values({
        delivery_id: d.id, attempt: d.attempts, ok: r.ok, status_code: r.statusCode, error, duration_ms: Date.now() - started,
      }).onConflict((oc) => oc.doNothing()).execute();
      // Only the claim that made this attempt settles it (a claim that expired and was taken over does not).
      const q = tx.updateTable('notification_deliveries').where('id', '=', d.id).where('attempts', '=', d.attempts).where('status', '=', 'pending');
      if (r.ok) await q.set({ status: 'sent', sent_at: new Date(), last_error: null }).execute();
      else if (last) await q.set({ status: 'failed', last_error: error }).execute();
      else await q.set({ last_error: error, next_attempt_at: new Date(Date.now() + this.delays[d.attempts - 1]!) }).execute();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
