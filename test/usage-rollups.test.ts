/**
 * The Usage page's fast paths (per-model daily and per-key monthly rollups,
 * kept by the ledger in the same statement as usage_daily) must answer
 * exactly what a plain GROUP BY over usage_daily answers, for any range —
 * including ranges that start or end inside a month — and stay exact when
 * events are replayed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { openStore, type Store } from '../src/store/db.js';
import { writeUsage } from '../src/ledger/writer.js';
import type { UsageEvent } from '../src/ledger/event.js';
import { UsageService, wholeMonths, type GroupBy } from '../src/portal/services/usage.js';
import { freshDatabase } from './helpers/pg.js';

const tmp = mkdtempSync(join(tmpdir(), 'litemaas-rollups-'));
let store: Store;
let drop: () => Promise<void>;
const usage = () => new UsageService(store.db);
const KEYS = ['k1', 'k2', 'k3', 'k4'];
const OWNER: Record<string, string> = { k1: 'u1', k2: 'u1', k3: 'u2', k4: 'u3' };
const MODELS = ['m1', 'm2', 'm3'];
const LAST_DAY = '2026-11-20';

// A deterministic spread of events from mid-July to LAST_DAY.
function events(n: number): UsageEvent[] {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const start = Date.parse('2026-07-14T00:00:00Z');
  const span = Date.parse(`${LAST_DAY}T23:59:59Z`) - start;
  return Array.from({ length: n }, () => {
    const key = KEYS[Math.floor(rnd() * KEYS.length)]!;
    const p = Math.floor(rnd() * 500), c = Math.floor(rnd() * 300);
    return {
      id: randomUUID(), at: new Date(start + Math.floor(rnd() * span)).toISOString(), keyId: key, userId: OWNER[key]!,
      modelId: MODELS[Math.floor(rnd() * MODELS.length)]!, deploymentId: null, status: rnd() < 0.05 ? 503 : 200,
      promptTokens: p, completionTokens: c, cost: `0.${String(p * 150 + c * 600).padStart(12, '0')}`,
      latencyMs: 5, ttftMs: null, stream: false, estimated: false, errorCode: null,
    };
  });
}

/** What the Usage page must show: a plain GROUP BY over usage_daily. */
async function reference(from: string, to: string, groupBy: GroupBy, f: { userId?: string; models?: string[]; keys?: string[] }) {
  const col = { day: sql`to_char(day, 'YYYY-MM-DD')`, model: sql`model_id`, key: sql`key_id`, user: sql`user_id` }[groupBy];
  const where = [sql`day >= ${from}::date`, sql`day <= ${to}::date`];
  if (f.userId) where.push(sql`user_id = ${f.userId}`);
  if (f.models?.length) where.push(sql`model_id in (${sql.join(f.models)})`);
  if (f.keys?.length) where.push(sql`key_id in (${sql.join(f.keys)})`);
  const r = await sql<{ g: string; requests: number; errors: number; p: number; c: number; cost: string }>`
    select ${col} as g, sum(requests)::int8 as requests, sum(errors)::int8 as errors, sum(prompt_tokens)::int8 as p,
           sum(completion_tokens)::int8 as c, sum(cost)::numeric(28,12)::text as cost
    from usage_daily where ${sql.join(where, sql` and `)} group by 1 order by 1`.execute(store.db);
  return r.rows.map((x) => [x.g, x.requests, x.errors, x.p, x.c, x.cost]);
}

beforeAll(async () => {
  const db = await freshDatabase();
  drop = db.drop;
  store = await openStore({ databaseUrl: db.url, dataDir: tmp });
  for (const u of ['u1', 'u2', 'u3']) {
    await store.db.insertInto('users').values({ id: u, username: u, email: null, display_name: null, password_hash: null, oidc_issuer: null, oidc_subject: null, roles: ['user'], max_budget: null, budget_period: 'none', rpm: null, tpm: null, disabled_at: null, last_login_at: null }).execute();
  }
  const evs = events(3000);
  for (let i = 0; i < evs.length; i += 700) await writeUsage(store.db, evs.slice(i, i + 700));
  // A replay (crash recovery) of a batch already written must not count twice anywhere.
  await writeUsage(store.db, evs.slice(0, 700));
});
afterAll(async () => {
  await store?.close();
  await drop?.();
  rmSync(tmp, { recursive: true, force: true });
});

describe('usage rollups', () => {
  it('keep per-model days and per-key months equal to the daily rollups, replay included', async () => {
    const md = await sql<{ n: number }>`
      select count(*)::int as n from (
        select day, model_id, sum(requests) r, sum(errors) e, sum(prompt_tokens) p, sum(completion_tokens) c, sum(cost) x from usage_daily group by 1, 2
        except select day, model_id, requests, errors, prompt_tokens, completion_tokens, cost from usage_model_daily) d`.execute(store.db);
    const mm = await sql<{ n: number }>`
      select count(*)::int as n from (
        select date_trunc('month', day)::date, key_id, model_id, sum(requests) r, sum(errors) e, sum(prompt_tokens) p, sum(completion_tokens) c, sum(cost) x
        from usage_daily group by 1, 2, 3
        except select month, key_id, model_id, requests, errors, prompt_tokens, completion_tokens, cost from usage_monthly) d`.execute(store.db);
    expect(md.rows[0]!.n).toBe(0);
    expect(mm.rows[0]!.n).toBe(0);
    const total = await sql<{ n: number }>`select sum(requests + errors)::int as n from usage_monthly`.execute(store.db);
    expect(total.rows[0]!.n).toBe(3000);
  });

  it('answers every range, grouping and filter exactly as a GROUP BY over usage_daily', async () => {
    const ranges: Array<[string, string]> = [
      ['2026-07-01', '2026-11-30'], ['2026-08-30', LAST_DAY], ['2026-08-02', '2026-10-30'], ['2026-08-01', '2026-10-31'],
      ['2026-09-15', '2026-09-20'], ['2026-07-20', '2026-08-31'], ['2026-10-01', '2026-11-19'], ['2026-11-20', '2026-11-27'],
      ['2026-09-01', '2026-09-01'], ['2026-01-01', '2026-06-30'],
    ];
    const filters = [{}, { models: ['m2'] }, { userId: 'u1' }, { keys: ['k3', 'k4'] }, { models: ['m1', 'm3'], userId: 'u1' }];
    let compared = 0;
    for (const [from, to] of ranges) {
      for (const f of filters) {
        for (const groupBy of ['day', 'model', 'key', 'user'] as const) {
          const r = await usage().summary({ from, to, groupBy, ...f });
          const got = r.rows.map((x) => [x.day ?? x.modelId ?? x.keyId ?? x.userId, x.requests, x.errors, x.promptTokens, x.completionTokens, x.costExact]);
          expect(got, `${from}..${to} by ${groupBy} ${JSON.stringify(f)}`).toEqual(await reference(from, to, groupBy, f));
          compared++;
        }
      }
    }
    expect(compared).toBe(ranges.length * filters.length * 4);
  });

  it('takes a month from the monthly rollup only when the range covers all of its recorded days', () => {
    expect(wholeMonths('2026-08-01', '2026-10-31', '2026-11-20')).toEqual({ start: '2026-08-01', end: '2026-11-01' });
    expect(wholeMonths('2026-08-02', '2026-10-30', '2026-11-20')).toEqual({ start: '2026-09-01', end: '2026-10-01' });
    // Nothing recorded after `to`: the month of `to` is complete so far.
    expect(wholeMonths('2026-08-30', '2026-11-27', '2026-11-20')).toEqual({ start: '2026-09-01', end: '2026-12-01' });
    expect(wholeMonths('2026-09-15', '2026-09-20', '2026-11-20')).toBeNull();
  });
});
