/**
 * @module Where each stored response lives: the key that created it, its
 * model and deployment (vLLM keeps stored responses in that server's
 * memory), and its tokens (a continuation reads at least as many). A response
 * id is not a capability: only its key reaches it. Recent routes are kept in
 * memory; every route is written behind to `response_routes`, so another
 * replica, or this one after a restart, finds it too. A database that fails
 * costs a lookup, never a request.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';

export interface ResponseRoute { keyId: string; modelId: string; deploymentId: string; tokens: number | null }

export interface RouteLog { warn(obj: object, msg: string): void }

export class ResponseRoutes {
  private readonly recent = new Map<string, ResponseRoute>();

  constructor(private readonly db: Kysely<Database> | null, private readonly log: RouteLog, private readonly max = 100_000) {}

  remember(id: string, route: ResponseRoute): void {
    this.keep(id, route);
    void this.db?.insertInto('response_routes')
      .values({ id, key_id: route.keyId, model_id: route.modelId, deployment_id: route.deploymentId, tokens: route.tokens })
      .onConflict((oc) => oc.column('id').doUpdateSet({ tokens: route.tokens }))
      .execute().catch((err: Error) => this.log.warn({ err: err.message }, 'could not store a response route'));
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
