/**
 * Paged snapshot loading (issue 10): with the page size forced small, a few
 * hundred keys span many pages; the result equals a load in one page, the
 * event loop is given back between pages, and changes committed while the
 * pages are read — a key added behind the cursor, one revoked ahead of it, an
 * owner's budget changed — all reach the snapshot through their
 * notifications, without a second full load. The cache file round-trips.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore, type Store } from '../src/store/db.js';
import { Cipher } from '../src/shared/secrets.js';
import { toPico } from '../src/shared/money.js';
import { SpendTracker } from '../src/ledger/budgets.js';
import { GatewayMetrics } from '../src/gateway/metrics.js';
import { Gateway } from '../src/gateway/gateway.js';
import type { Ledger } from '../src/ledger/ledger.js';
import { loadSnapshot } from '../src/gateway/snapshot-load.js';
import { SnapshotCache } from '../src/gateway/snapshot-cache.js';
import { freshDatabase } from './helpers/pg.js';
import { canonical } from './helpers/snapshot.js';

const USERS = 30, KEYS = 400, PAGE = 25;
const cipher = new Cipher('paging-test-secret');
const quiet = { warn() {}, error() {}, info() {} };

async function waitFor(what: string, ok: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('paged snapshot loading (PostgreSQL)', () => {
  let db: { url: string; drop(): Promise<void> };
  let store: Store;
  let c: pg.Client;
  let dir: string;
  beforeAll(async () => {
    db = await freshDatabase();
    store = await openStore({ databaseUrl: db.url, dataDir: tmpdir() });
    dir = mkdtempSync(join(tmpdir(), 'litemaas-paging-'));
    c = new pg.Client({ connectionString: db.url });
    await c.connect();
    await c.query(`insert into models (id, input_price_per_1m, output_price_per_1m) values ('m1', 1, 2), ('m2', 3, 4)`);
    await c.query(`insert into deployments (id, model_id, url, upstream_model, token_enc) values ('d1', 'm1', 'http://127.0.0.1:9/v1', 'up', $1)`, [cipher.encrypt('upstream-token')]);
    await c.query(`insert into users (id, username, max_budget, budget_period) select 'u' || lpad(i::text, 3, '0'), 'user' || i, case when i % 3 = 0 then 5 end, case when i % 3 = 0 then 'weekly' else 'none' end from generate_series(1, ${USERS}) i`);
    await c.query(`insert into subscriptions (id, user_id, model_id, status) select 's' || i || m, 'u' || lpad(i::text, 3, '0'), m, 'active' from generate_series(1, ${USERS}) i, unnest(array['m1', 'm2']) m`);
    // Ids from k100 to k499: room before and after them for keys added during a load.
    await c.query(`insert into api_keys (id, user_id, name, prefix, hash, secret_enc, models, rpm, expires_at)
      select 'k' || (i + 99), 'u' || lpad((i % ${USERS} + 1)::text, 3, '0'), 'n' || i, 'sk-x', md5(i::text) || md5((i + 1)::text), 'x',
        case when i % 2 = 0 then array['m1'] else array['m1', 'm2'] end, case when i % 5 = 0 then 60 end, case when i % 7 = 0 then now() + interval '1 day' end
      from generate_series(1, ${KEYS}) i`);
  });
  afterAll(async () => {
    await c?.end();
    await store?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('many small pages give what one page gives, yielding between pages, with one model set per distinct list', async () => {
    const pages: Record<string, number> = {};
    let turns = 0;
    const ticker = setInterval(() => { turns++; }, 0);
    const small = await loadSnapshot(store.db, cipher, { pageSize: PAGE, onPage: (t) => { pages[t] = (pages[t] ?? 0) + 1; } });
    clearInterval(ticker);
    const whole = await loadSnapshot(store.db, cipher, { pageSize: 100_000 });
    expect(pages).toEqual({ users: 2, keys: KEYS / PAGE + 1, subs: Math.ceil((USERS * 2) / PAGE) });
    expect(turns).toBeGreaterThan(0);
    expect(small.keys.size).toBe(KEYS);
    expect(canonical(small)).toEqual(canonical(whole));
    expect(new Set([...small.keys.values()].map((k) => k.models)).size).toBe(2);
    expect(small.models.get('m1')!.deployments[0]!.token).toBe('upstream-token');
    const u3 = small.users.get('u003')!;
    expect([u3.maxBudget, u3.budgetPeriod]).toEqual([toPico(5), 'weekly']);
    // A reload over an unchanged database keeps every entry as it was.
    const again = await loadSnapshot(store.db, cipher, { pageSize: PAGE, previous: small });
    expect([...again.keys].every(([h, k]) => small.keys.get(h) === k)).toBe(true);
    expect([...again.users].every(([id, u]) => small.users.get(id) === u)).toBe(true);
  });

  it('a change committed during a paged load is not lost, and needs no second full load', async () => {
    let done = false;
    const gw = new Gateway({
      store, cipher, ledger: {} as Ledger, spend: new SpendTracker(), metrics: new GatewayMetrics(), log: quiet,
      maxBodyBytes: 1 << 20, reconcileIntervalMs: 60_000, stalledClientMs: 10_000,
      snapshotCache: new SnapshotCache(join(dir, 'snapshot.json')),
      snapshotLoad: {
        pageSize: PAGE,
        onPage: async (table, rows) => {
          if (done || table !== 'keys') return;
          done = true;
          // After the first page of keys (k100…k124): one behind the cursor, one ahead revoked, one owner's budget.
          expect(rows).toBe(PAGE);
          await c.query(`insert into api_keys (id, user_id, name, prefix, hash, secret_enc, models) values ('k000', 'u001', 'late', 'sk-x', 'late-hash', 'x', array['m2'])`);
          await c.query(`update api_keys set revoked_at = now() where id = 'k450'`);
          await c.query(`update users set rpm = 7 where id = 'u002'`);
        },
      },
    });
    try {
      await gw.start();
      await waitFor('the changes made during the load', () => gw.snapshot.keys.has('late-hash') && gw.snapshot.users.get('u002')?.rpm === 7
        && ![...gw.snapshot.keys.values()].some((k) => k.id === 'k450'));
      expect(gw.reloadStats.full).toBe(1);
      expect(gw.reloadStats.applied).toBeGreaterThanOrEqual(3);
      expect([...gw.snapshot.keysByUser.get('u002')!].every((h) => gw.snapshot.keys.get(h)!.user.rpm === 7)).toBe(true);
      expect(gw.snapshot.keys.size).toBe(KEYS); // one added, one revoked
      const fresh = await loadSnapshot(store.db, cipher);
      expect(canonical(gw.snapshot)).toEqual(canonical(fresh));
    } finally {
      await gw.close();
    }
    // The cache file (owner-only) holds the same snapshot, read back line by line.
    const file = join(dir, 'snapshot.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const cached = await new SnapshotCache(file).load(cipher);
    expect(cached).not.toBeNull();
    expect(cached!.snap.version).toBeNull();
    expect(canonical(cached!.snap)).toEqual(canonical(await loadSnapshot(store.db, cipher)));
  });
});
