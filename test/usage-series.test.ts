/**
 * Usage over time split by key or model, by day or by UTC hour: every bucket
 * of the range present (zeros filled), each series' cells equal to a plain
 * GROUP BY over the events, "other" the rest exactly, two keys of one name
 * told apart by their owners; the hourly rollup kept by the writer (replays
 * included) and backfilled by its migration. On PostgreSQL and PGlite.
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
import { UsageService } from '../src/portal/services/usage.js';
import { hourRange } from '../src/portal/services/usage-series.js';
import * as m012 from '../src/store/migrations/012_usage_hourly.js';
import { freshDatabase } from './helpers/pg.js';
import { provision, settle, startSystem, MODEL, type System } from './helpers/system.js';

const KEYS = ['k1', 'k2', 'k3', 'k4'];
const OWNER: Record<string, string> = { k1: 'alice', k2: 'alice', k3: 'bob', k4: 'carol' };
// k1 and k3 share a name (two people's "chatbot"); the legend must tell them apart.
const NAME: Record<string, string> = { k1: 'chatbot', k2: 'batch', k3: 'chatbot', k4: 'rag' };
const MODELS = ['m1', 'm2', 'm3'];

function events(n: number): UsageEvent[] {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const start = Date.parse('2026-11-28T00:00:00Z');
  const span = 3 * 86_400_000;
  return Array.from({ length: n }, () => {
    const key = KEYS[Math.floor(rnd() * KEYS.length)]!;
    const p = Math.floor(rnd() * 500), c = Math.floor(rnd() * 300);
    return {
      id: randomUUID(), at: new Date(start + Math.floor(rnd() * span)).toISOString(), keyId: key, userId: OWNER[key]!,
      modelId: MODELS[Math.floor(rnd() * MODELS.length)]!, deploymentId: null, status: rnd() < 0.1 ? 429 : 200,
      promptTokens: p, completionTokens: c, cost: `0.${String(p * 150 + c * 600).padStart(12, '0')}`,
      latencyMs: 5, ttftMs: null, stream: false, estimated: false, errorCode: null,
    };
  });
}

async function reference(store: Store, from: string, to: string, bucket: 'hour' | 'day', by: 'key_id' | 'model_id', userId?: string) {
  const b = bucket === 'hour' ? sql`to_char(date_trunc('hour', at at time zone 'UTC'), 'YYYY-MM-DD"T"HH24":00:00Z"')` : sql`to_char((at at time zone 'UTC')::date, 'YYYY-MM-DD')`;
  const r = await sql<{ b: string; s: string; requests: number; cost: string }>`
    select ${b} as b, ${sql.ref(by)} as s, count(*) filter (where status between 200 and 299)::int as requests, sum(cost)::numeric(28,12)::text as cost
    from usage_events where at >= ${from}::timestamptz and at < ${to}::timestamptz ${userId ? sql`and user_id = ${userId}` : sql``}
    group by 1, 2`.execute(store.db);
  return new Map(r.rows.map((x) => [`${x.b}|${x.s}`, x]));
}

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`usage time series split by key or model (${kind})`, () => {
    const tmp = mkdtempSync(join(tmpdir(), 'litemaas-series-'));
    let store: Store;
    let drop: (() => Promise<void>) | undefined;
    const usage = () => new UsageService(store.db);
    const evs = events(kind === 'postgres' ? 2000 : 400);

    beforeAll(async () => {
      const db = kind === 'postgres' ? await freshDatabase() : null;
      drop = db?.drop;
      store = await openStore({ databaseUrl: db?.url, dataDir: tmp });
      for (const u of ['alice', 'bob', 'carol']) {
        await store.db.insertInto('users').values({ id: u, username: u, email: null, display_name: null, password_hash: null, oidc_issuer: null, oidc_subject: null, roles: ['user'], max_budget: null, budget_period: 'none', rpm: null, tpm: null, disabled_at: null, last_login_at: null }).execute();
      }
      for (const k of KEYS) {
        await sql`insert into api_keys (id, user_id, name, prefix, hash, secret_enc) values (${k}, ${OWNER[k]}, ${NAME[k]}, ${'sk-' + k + '…'}, ${'h' + k}, 'x')`.execute(store.db);
      }
      for (let i = 0; i < evs.length; i += 300) await writeUsage(store.db, evs.slice(i, i + 300));
      await writeUsage(store.db, evs.slice(0, 300)); // a replay counts nothing twice
    }, 60_000);
    afterAll(async () => {
      await store?.close();
      await drop?.();
      rmSync(tmp, { recursive: true, force: true });
    });

    it('keeps the hourly rollup equal to the events, replay included, and its migration backfills the same', async () => {
      const diff = async () => (await sql<{ n: number }>`select count(*)::int as n from (
        select date_trunc('hour', at at time zone 'UTC') h, key_id, model_id, count(*) filter (where status between 200 and 299) r,
               count(*) filter (where status not between 200 and 299) e, sum(prompt_tokens) p, sum(completion_tokens) c, sum(cost) x
        from usage_events group by 1, 2, 3
        except select hour, key_id, model_id, requests, errors, prompt_tokens, completion_tokens, cost from usage_hourly) d`.execute(store.db)).rows[0]!.n;
      const total = async () => (await sql<{ n: number }>`select sum(requests + errors)::int as n from usage_hourly`.execute(store.db)).rows[0]!.n;
      expect(await diff()).toBe(0);
      expect(await total()).toBe(evs.length);
      await m012.down(store.db);
      await m012.up(store.db);
      expect(await diff()).toBe(0);
      expect(await total()).toBe(evs.length);
    });

    it('answers every hour of a range, each key\'s cells as the events say, owners telling same-named keys apart', async () => {
      const r = await usage().timeseries({ from: '2026-11-29T06:00:00Z', to: '2026-11-30T05:59:59Z', split: 'key', resolution: 'hour' });
      expect(r.points).toHaveLength(24);
      expect(r.points[0]).toMatchObject({ t: '2026-11-29T06:00:00Z', label: '29 Nov 06:00 UTC', day: '2026-11-29' });
      expect(r.points[23]!.t).toBe('2026-11-30T05:00:00Z');
      const labels = r.series!.map((s) => s.label).sort();
      expect(labels).toEqual(['batch', 'chatbot (alice)', 'chatbot (bob)', 'rag']);
      expect(r.series!.find((s) => s.keyId === 'k3')).toMatchObject({ keyName: 'chatbot', username: 'bob', userId: 'bob' });
      const ref = await reference(store, '2026-11-29T06:00:00Z', '2026-11-30T06:00:00Z', 'hour', 'key_id');
      let nonZero = 0;
      for (const p of r.points) {
        r.series!.forEach((s, i) => {
          const x = ref.get(`${p.t}|${s.id}`);
          expect(p.values![i]!.requests, `${p.t} ${s.id}`).toBe(x?.requests ?? 0);
          expect(p.values![i]!.costExact).toBe(x?.cost ?? '0.000000000000');
          if (x) nonZero++;
        });
        expect(p.values!.reduce((a, v) => a + v.requests, 0)).toBe(p.requests);
      }
      expect(nonZero).toBeGreaterThan(50);
    });

    it('splits days by model, keeps the top series and sums the rest as other, exactly', async () => {
      const r = await usage().timeseries({ from: '2026-11-27', to: '2026-12-01', split: 'model', top: 2 });
      expect(r.points.map((p) => p.day)).toEqual(['2026-11-27', '2026-11-28', '2026-11-29', '2026-11-30', '2026-12-01']);
      expect(r.points[0]!.requests).toBe(0); // zeros filled
      expect(r.series!.map((s) => s.id)).toHaveLength(3);
      expect(r.series![2]).toMatchObject({ id: 'other', other: true, label: 'Other models' });
      const ref = await reference(store, '2026-11-27T00:00:00Z', '2026-12-02T00:00:00Z', 'day', 'model_id');
      const [a, b] = r.series!;
      const rest = MODELS.find((m) => m !== a!.id && m !== b!.id)!;
      for (const p of r.points) {
        expect(p.values![0]!.requests).toBe(ref.get(`${p.day}|${a!.id}`)?.requests ?? 0);
        expect(p.values![2]!.costExact).toBe(ref.get(`${p.day}|${rest}`)?.cost ?? '0.000000000000');
      }
      // Ranked by cost: the first series costs the most.
      expect(Number(r.series![0]!.totals.costExact)).toBeGreaterThanOrEqual(Number(r.series![1]!.totals.costExact));
    });

    it('shows a person only their own keys, by hour, a day at a time', async () => {
      const r = await usage().timeseries({ from: '2026-11-29', to: '2026-11-29', split: 'key', resolution: 'hour', userId: 'alice' });
      expect(r.points).toHaveLength(24);
      expect(r.series!.map((s) => s.keyId).sort()).toEqual(['k1', 'k2']);
      expect(r.series!.map((s) => s.label).sort()).toEqual(['batch', 'chatbot']);
      const ref = await reference(store, '2026-11-29T00:00:00Z', '2026-11-30T00:00:00Z', 'hour', 'key_id', 'alice');
      expect(r.totals.requests).toBe([...ref.values()].reduce((a, x) => a + x.requests, 0));
    });
  });
}

describe('hour ranges', () => {
  it('default to the last 24 hours and refuse more than 168, naming the field', () => {
    const now = Date.parse('2026-12-01T13:45:00Z');
    expect(hourRange({}, now)).toEqual({ from: Date.parse('2026-11-30T14:00:00Z'), to: Date.parse('2026-12-01T13:00:00Z') });
    expect(() => hourRange({ from: '2026-11-01', to: '2026-11-30' }, now)).toThrow(/from: an hourly range must be at most 168 hours/);
    expect(() => hourRange({ from: '2026-11-01T25:00:00Z' }, now)).toThrow(/^from: /);
    expect(() => hourRange({ to: '2026-02-30T01:00:00Z' }, now)).toThrow(/^to: /);
  });
});

describe('usage time series through the API', () => {
  let sys: System;
  beforeAll(async () => { sys = await startSystem('postgres'); }, 60_000);
  afterAll(async () => { await sys?.close(); });

  it('gives admins the last 24 h by key with owners, people their own, and 400s naming the field', async () => {
    const a = await provision(sys, { username: 'ann', key: { name: 'app' } });
    const b = await provision(sys, { username: 'ben', key: { name: 'app' } });
    for (const k of [a.key, a.key, b.key]) {
      const r = await fetch(`${sys.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 }) });
      expect(r.status).toBe(200);
      await r.text();
    }
    await settle(sys);
    const r = await sys.admin('GET', '/admin/usage/timeseries?split=key&resolution=hour');
    expect(r.status).toBe(200);
    expect(r.body.points).toHaveLength(24);
    const last = r.body.points[23];
    const labels = r.body.series.map((s: { label: string }) => s.label).sort();
    expect(labels).toEqual(['app (ann)', 'app (ben)']);
    const ann = r.body.series.findIndex((s: { keyId: string }) => s.keyId === a.keyId);
    expect(last.values[ann].requests).toBe(2);
    // Admins' usage by key names each key's owner.
    const byKey = await sys.admin('GET', '/admin/usage/summary?groupBy=key');
    expect(byKey.body.rows.find((x: { keyId: string }) => x.keyId === b.keyId)).toMatchObject({ keyName: 'app', username: 'ben' });
    for (const [q, field] of [['resolution=hour&from=2026-01-01&to=2026-03-01', 'from'], ['top=99&split=key', 'top'], ['from=2026-11-01T00:00:00Z', 'from'], ['resolution=hour&to=yesterday', 'to'], ['split=user', 'split']]) {
      const bad = await sys.admin('GET', `/admin/usage/timeseries?${q}`);
      expect(bad.status, q).toBe(400);
      expect(bad.body.error.field ?? bad.body.error.message, q).toContain(field);
    }
  });
});
