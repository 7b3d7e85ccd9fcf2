/**
 * The ledger's pieces: exact money, idempotent writes (a replayed event is
 * counted once), journal recovery after a torn write, budget periods.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { costPico, fromPico, pricePerTokenPico, toPico } from '../src/shared/money.js';
import { openStore, type Store } from '../src/store/db.js';
import { writeUsage } from '../src/ledger/writer.js';
import { Journal } from '../src/ledger/journal.js';
import { periodStart, secondsToReset, SpendTracker } from '../src/ledger/budgets.js';
import type { UsageEvent } from '../src/ledger/event.js';
import { freshDatabase } from './helpers/pg.js';

const tmp = mkdtempSync(join(tmpdir(), 'litemaas-ledger-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function event(over: Partial<UsageEvent> = {}): UsageEvent {
  return {
    id: randomUUID(), at: '2026-11-20T10:00:00.000Z', keyId: 'k1', userId: 'u1', modelId: 'm1', deploymentId: null, status: 200,
    promptTokens: 7, completionTokens: 3, cost: fromPico(costPico(7, 3, pricePerTokenPico('0.15'), pricePerTokenPico('0.6'))),
    latencyMs: 5, ttftMs: 2, stream: false, estimated: false, errorCode: null, ...over,
  };
}

describe('money', () => {
  it('is exact where binary floats are not', () => {
    expect(fromPico(toPico('0.1') + toPico('0.2'))).toBe('0.300000000000');
    expect(pricePerTokenPico('0.15')).toBe(150_000n);
    expect(fromPico(costPico(1_000_000, 1_000_000, pricePerTokenPico('0.15'), pricePerTokenPico('0.60')))).toBe('0.750000000000');
    expect(toPico(0.000001)).toBe(1_000_000n);
    expect(() => toPico('abc')).toThrow();
  });
});

describe('budget periods', () => {
  it('starts days, ISO weeks and months in UTC', () => {
    const now = new Date('2026-11-26T15:00:00Z'); // a Thursday
    expect(periodStart('daily', now)).toBe('2026-11-26');
    expect(periodStart('weekly', now)).toBe('2026-11-23');
    expect(periodStart('monthly', now)).toBe('2026-11-01');
    expect(periodStart('none', now)).toBeNull();
    expect(secondsToReset('daily', now)).toBe(9 * 3600);
  });
  it('reserves atomically and refuses what would overspend', () => {
    const t = new SpendTracker();
    const now = new Date('2026-11-26T15:00:00Z');
    const input = { keyId: 'k', userId: 'u', modelId: 'm', cost: 40n, tokens: 10, keyBudget: { max: 100n, period: 'daily' as const }, userBudget: null, quotaRequests: null, quotaTokens: null };
    const a = t.reserve(input, now);
    const b = t.reserve(input, now);
    const c = t.reserve(input, now);
    expect([a.ok, b.ok, c.ok]).toEqual([true, true, false]);
    if (a.ok) t.release(a.reservation);
    t.add(event({ keyId: 'k', userId: 'u', modelId: 'm', at: now.toISOString(), cost: fromPico(30n) }));
    expect(t.spent('k:k', 'daily', now).cost).toBe(30n);
    expect(t.reserve(input, now).ok).toBe(false); // 30 spent + 40 reserved + 40 > 100
  });
});

describe('journal', () => {
  it('recovers events and skips a torn last line', async () => {
    const dir = join(tmp, 'j1');
    const j = new Journal(dir);
    const e1 = event(), e2 = event();
    j.append(e1); j.append(e2);
    j.close();
    const file = readdirSync(dir)[0]!;
    appendFileSync(join(dir, file), '{"id":"torn');
    const again = new Journal(dir);
    expect(again.recover().map((e) => e.id)).toEqual([e1.id, e2.id]);
    again.remove(again.seal());
    await again.removed();
    expect(readdirSync(dir)).toEqual([]);
    again.close();
  });
});

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`usage writes on ${kind}`, () => {
    it('counts a replayed event once in events and rollups', async () => {
      const pgdb = kind === 'postgres' ? await freshDatabase() : null;
      const store: Store = await openStore({ databaseUrl: pgdb?.url, dataDir: join(tmp, `db-${kind}`) });
      try {
        const batch = [event(), event(), event({ status: 429, promptTokens: 0, completionTokens: 0, cost: '0', errorCode: 'budget_exceeded' })];
        expect(await writeUsage(store.db, batch)).toBe(3);
        expect(await writeUsage(store.db, [...batch, event()])).toBe(1);
        const d = await store.db.selectFrom('usage_daily').selectAll().execute();
        expect(d).toHaveLength(1);
        expect(d[0]).toMatchObject({ day: '2026-11-20', requests: 3, errors: 1, prompt_tokens: 21, completion_tokens: 9 });
        expect(toPico(d[0]!.cost)).toBe(3n * toPico(batch[0]!.cost));
      } finally {
        await store.close();
        await pgdb?.drop();
      }
    });
  });
}
