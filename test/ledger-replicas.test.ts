/**
 * Ledger writes from several replicas at once on one PostgreSQL: three writers
 * racing over the same rollup rows and keys, each listing them in its own
 * order, all succeed and every event is counted exactly once. (The writer
 * upserts rollup rows in key order and skips key stamps another writer holds,
 * so lock order never depends on the batch; PostgreSQL's hash aggregation
 * already gave one order for equal key sets, so this race did not deadlock
 * before either — it guards the counting, and the order for sets that differ.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { openStore, type Store } from '../src/store/db.js';
import { writeUsage } from '../src/ledger/writer.js';
import type { UsageEvent } from '../src/ledger/event.js';
import { freshDatabase } from './helpers/pg.js';

const KEYS = 40;
const MODELS = 5;

function event(k: number, m: number): UsageEvent {
  return {
    id: randomUUID(), at: '2026-12-01T10:00:00.000Z', keyId: `k${k}`, userId: `u${k % 7}`, modelId: `m${m}`, deploymentId: null, status: 200,
    promptTokens: 3, completionTokens: 2, cost: '0.000000000005', latencyMs: 1, ttftMs: null, stream: false, estimated: false, errorCode: null,
  };
}

describe('ledger writes from several replicas', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  const stores: Store[] = [];

  beforeAll(async () => {
    db = await freshDatabase();
    // Opened one after the other: each migrates (the first does the work).
    for (let i = 0; i < 3; i++) stores.push(await openStore({ databaseUrl: db.url, dataDir: '/tmp' }));
    for (let k = 0; k < KEYS; k++) {
      await sql`insert into users (id, username) values (${`u${k}`}, ${`user${k}`}) on conflict do nothing`.execute(stores[0]!.db);
      await sql`insert into api_keys (id, user_id, name, prefix, hash, secret_enc) values (${`k${k}`}, ${`u${k % 7}`}, 'k', 'p', ${`h${k}`}, 's')`.execute(stores[0]!.db);
    }
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    await db?.drop();
  });

  it('never deadlocks and counts every event once, whatever order the batches touch rows in', async () => {
    let written = 0;
    for (let round = 0; round < 15; round++) {
      // Three writers, each over every (key, model) pair, in its own order: ascending, descending, shuffled.
      const pairs = Array.from({ length: KEYS * MODELS }, (_, i) => [i % KEYS, i % MODELS] as const);
      const orders = [pairs, [...pairs].reverse(), [...pairs].sort(() => Math.random() - 0.5)];
      const results = await Promise.all(orders.map((o, i) => writeUsage(stores[i]!.db, o.map(([k, m]) => event(k, m)))));
      written += results.reduce((a, b) => a + b, 0);
    }
    expect(written).toBe(15 * 3 * KEYS * MODELS);
    const r = await sql<{ requests: string; tokens: string }>`select sum(requests)::text as requests, sum(prompt_tokens + completion_tokens)::text as tokens from usage_daily`.execute(stores[0]!.db);
    expect(Number(r.rows[0]!.requests)).toBe(written);
    expect(Number(r.rows[0]!.tokens)).toBe(written * 5);
    const used = await sql<{ n: string }>`select count(*)::text as n from api_keys where last_used_at is not null`.execute(stores[0]!.db);
    expect(Number(used.rows[0]!.n)).toBe(KEYS);
  }, 120_000);
});
