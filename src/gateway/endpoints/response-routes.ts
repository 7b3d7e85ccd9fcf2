/**
 * @module Where each stored response lives: the key that created it, its
 * model and deployment (vLLM keeps stored responses in that server's
 * memory), and its tokens (a continuation reads at least as many). A response
 * id is not a capability: only its key reaches it. Recent routes are kept in
 * memory; routes are written behind to `response_routes` in one statement
 * per batch (every FLUSH_MS), so another replica, or this one after a
 * restart, finds them too, and a busy gateway pays no write per request. A
 * database that fails costs a lookup, never a request.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';

export interface ResponseRoute { keyId: string; modelId: string; deploymentId: string; tokens: number | null }

export interface RouteLog { warn(obj: object, msg: string): void }

const FLUSH_MS = 200;
/** Rows per insert statement (5 parameters each, well under PostgreSQL's 65535). */
const BATCH = 1000;

export class ResponseRoutes {
  private readonly recent = new Map<string, ResponseRoute>();
  private pending = new Map<string, ResponseRoute>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly db: Kysely<Database> | null, private readonly log: RouteLog, private readonly max = 100_000) {}

  remember(id: string, route: ResponseRoute): void {
    this.keep(id, route);
    if (!this.db) return;
    this.pending.set(id, route);
    this.timer ??= setTimeout(() => { this.timer = null; void this.flush(); }, FLUSH_MS);
    this.timer.unref();
  }

  /** Writes the routes remembered since the last flush. */
  async flush(): Promise<void> {
    if (!this.db || this.pending.size === 0) return;
    const rows = [...this.pending].map(([id, r]) => ({ id, key_id: r.keyId, model_id: r.modelId, deployment_id: r.deploymentId, tokens: r.tokens }));
    this.pending = new Map();
    for (let i = 0; i < rows.length; i += BATCH) {
      await this.db.insertInto('response_routes').values(rows.slice(i, i + BATCH))
        .onConflict((oc) => oc.column('id').doUpdateSet((eb) => ({ tokens: eb.ref('excluded.tokens') })))
        .execute().catch((err: Error) => this.log.warn({ err: err.message, routes: rows.length }, 'could not store response routes'));
    }
  }

  /** Deletes routes older than `days`: no upstream keeps a stored response for ever, and the table must not grow without end. */
  async prune(days: number): Promise<void> {
    if (!this.db) return;
    const before = new Date(Date.now() - days * 86_400_000);
    await this.db.deleteFrom('response_routes').where('created_at', '<', before).execute()
      .catch((err: Error) => this.log.warn({ err: err.message }, 'could not prune response routes'));
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }

  async find(id: string): Promise<ResponseRoute | null> {
    const hit = this.recent.get(id);
    if (hit || !this.db) return hit ?? null;
    try {
      const row = await this.db.selectFrom('response_routes').select(['key_id', 'model_id', 'deployment_id', 'tokens']).where('id', '=', id).executeTakeFirst();
      if (!row) return null;
      const route = { keyId: row.key_id, modelId: row.model_id, deploymentId: row.deployment_id, tokens: row.tokens };
      this.keep(id, route);
      return route;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not look up a response route');
      return null;
    }
  }

  forget(id: string): void {
    this.recent.delete(id);
    this.pending.delete(id);
    void this.db?.deleteFrom('response_routes').where('id', '=', id).execute()
      .catch((err: Error) => this.log.warn({ err: err.message }, 'could not delete a response route'));
  }

  private keep(id: string, route: ResponseRoute): void {
    this.recent.delete(id);
    this.recent.set(id, route);
    // Oldest first: a Map iterates in insertion order.
    if (this.recent.size > this.max) this.recent.delete(this.recent.keys().next().value!);
  }
}
