/**
 * @module Batched, idempotent writes of usage to PostgreSQL. One transaction
 * inserts the events (ON CONFLICT DO NOTHING on the request id) and adds only
 * the rows actually inserted to usage_daily, so a replayed journal can never
 * count an event twice. While the database is down, events wait in memory and
 * in the journal, and writes are retried with backoff.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { fromPico, toPico } from '../shared/money.js';
import { isSuccess, utcDay, type UsageEvent } from './event.js';

const ROWS_PER_INSERT = 1000;

export async function writeUsage(db: Kysely<Database>, events: UsageEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  return db.transaction().execute(async (tx) => {
    let inserted = 0;
    const byId = new Map(events.map((e) => [e.id, e]));
    const daily = new Map<string, { day: string; keyId: string; userId: string; modelId: string; requests: number; errors: number; prompt: number; completion: number; cost: bigint }>();
    const lastUsed = new Map<string, string>();
    for (let i = 0; i < events.length; i += ROWS_PER_INSERT) {
      const chunk = events.slice(i, i + ROWS_PER_INSERT);
      const rows = await tx.insertInto('usage_events').values(chunk.map((e) => ({
        id: e.id, at: e.at, key_id: e.keyId, user_id: e.userId, model_id: e.modelId, deployment_id: e.deploymentId,
        status: e.status, prompt_tokens: e.promptTokens, completion_tokens: e.completionTokens, cost: e.cost,
        latency_ms: e.latencyMs, ttft_ms: e.ttftMs, stream: e.stream, estimated: e.estimated, error_code: e.errorCode,
      }))).onConflict((oc) => oc.column('id').doNothing()).returning('id').execute();
      inserted += rows.length;
      for (const { id } of rows) {
        const e = byId.get(id)!;
        const day = utcDay(e.at);
        const k = `${day}|${e.keyId}|${e.modelId}`;
        let d = daily.get(k);
        if (!d) daily.set(k, (d = { day, keyId: e.keyId, userId: e.userId, modelId: e.modelId, requests: 0, errors: 0, prompt: 0, completion: 0, cost: 0n }));
        if (isSuccess(e)) d.requests++; else d.errors++;
        d.prompt += e.promptTokens;
        d.completion += e.completionTokens;
        d.cost += toPico(e.cost);
        if ((lastUsed.get(e.keyId) ?? '') < e.at) lastUsed.set(e.keyId, e.at);
      }
    }
    const rollups = [...daily.values()];
    for (let i = 0; i < rollups.length; i += ROWS_PER_INSERT) {
      await tx.insertInto('usage_daily').values(rollups.slice(i, i + ROWS_PER_INSERT).map((d) => ({
        day: d.day, key_id: d.keyId, user_id: d.userId, model_id: d.modelId, requests: d.requests, errors: d.errors,
        prompt_tokens: d.prompt, completion_tokens: d.completion, cost: fromPico(d.cost),
      }))).onConflict((oc) => oc.columns(['day', 'key_id', 'model_id']).doUpdateSet({
        requests: sql`usage_daily.requests + excluded.requests`,
        errors: sql`usage_daily.errors + excluded.errors`,
        prompt_tokens: sql`usage_daily.prompt_tokens + excluded.prompt_tokens`,
        completion_tokens: sql`usage_daily.completion_tokens + excluded.completion_tokens`,
        cost: sql`usage_daily.cost + excluded.cost`,
      })).execute();
    }
    // last_used_at is bookkeeping, not money: written here so the hot path never touches the database.
    // The api_keys trigger ignores updates of last_used_at alone, so this does not make gateways reload.
    if (lastUsed.size > 0) {
      const values = sql.join([...lastUsed].map(([id, at]) => sql`(${id}, ${at}::timestamptz)`));
      await sql`update api_keys k set last_used_at = greatest(k.last_used_at, v.at)
                from (values ${values}) as v(id, at) where k.id = v.id`.execute(tx);
    }
    return inserted;
  });
}
