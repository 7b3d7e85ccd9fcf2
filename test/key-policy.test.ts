/**
 * The key policy as pure functions: an owner may only tighten the limits an
 * administrator set (lower, longer budget period, earlier expiry, never
 * null), and stays within the settings' maximums for the rest; what an
 * admin's request records; and exact money input.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkOwnerPatch, parseAdminLimits, recordAdminLimits, type AdminLimits } from '../src/portal/services/key-policy.js';
import { moneyInput, plainDecimal } from '../src/portal/services/money-input.js';
import { DEFAULT_SETTINGS, type Settings } from '../src/portal/services/settings.js';
import { ApiError } from '../src/portal/errors.js';

const NOW = Date.parse('2026-03-01T00:00:00Z');
const day = (n: number) => new Date(NOW + n * 86_400_000).toISOString();
const open: Settings = structuredClone(DEFAULT_SETTINGS);
const capped: Settings = { ...structuredClone(DEFAULT_SETTINGS), keyMaximums: { maxBudget: 50, rpm: 100, tpm: 10_000, expiresInDays: 90 } };
const admin: AdminLimits = { maxBudget: '10', budgetPeriod: 'monthly', rpm: 60, tpm: 5000, maxParallel: 4, expiresAt: day(30) };

/** The field a refusal names, or null when the patch passes. */
function refusal(f: () => unknown): string | null {
  try { f(); return null; } catch (err) {
    if (!(err instanceof ApiError) || err.code !== 'validation_error') throw err;
    return err.field ?? '(none)';
  }
}

describe('checkOwnerPatch: limits an administrator set', () => {
  it.each([
    ['maxBudget', null], ['maxBudget', 10.01], ['maxBudget', 1e9],
    ['rpm', null], ['rpm', 61], ['tpm', null], ['tpm', 5001], ['maxParallel', null], ['maxParallel', 5],
    ['expiresAt', null], ['expiresAt', day(31)], ['expiresAt', day(30 + 1 / 86_400)],
    ['budgetPeriod', 'daily'], ['budgetPeriod', 'weekly'],
  ] as const)('refuses %s → %j, naming the field', (field, value) => {
    expect(refusal(() => checkOwnerPatch({ [field]: value }, admin, open, NOW))).toBe(field);
  });

  it.each([
    ['maxBudget', 10], ['maxBudget', 0.5], ['maxBudget', 0], ['rpm', 60], ['rpm', 1], ['tpm', 4999], ['maxParallel', 1],
    ['expiresAt', day(30)], ['expiresAt', day(1)], ['budgetPeriod', 'monthly'], ['budgetPeriod', 'none'],
  ] as const)('lets the owner tighten %s → %j', (field, value) => {
    expect(checkOwnerPatch({ [field]: value }, admin, open, NOW)).toMatchObject({ [field]: value });
  });

  it('judges an admin limit by the admin\'s value, not by the settings\' lower maximum', () => {
    const generous: AdminLimits = { rpm: 1000 };
    expect(checkOwnerPatch({ rpm: 500 }, generous, capped, NOW)).toEqual({ rpm: 500 });
    expect(refusal(() => checkOwnerPatch({ rpm: 1001 }, generous, capped, NOW))).toBe('rpm');
  });

  it('leaves fields nobody limited alone, and lets name or models change freely', () => {
    const p = { name: 'renamed', description: null, models: ['m'], softBudget: 99 };
    expect(checkOwnerPatch(p, admin, open, NOW)).toEqual(p);
  });

  it('for a budget period: a lifetime budget is the tightest, daily the loosest', () => {
    const daily: AdminLimits = { maxBudget: '1', budgetPeriod: 'daily' };
    for (const p of ['daily', 'weekly', 'monthly', 'none'] as const) expect(refusal(() => checkOwnerPatch({ budgetPeriod: p }, daily, open, NOW))).toBeNull();
    const lifetime: AdminLimits = { maxBudget: '1', budgetPeriod: 'none' };
    for (const p of ['daily', 'weekly', 'monthly'] as const) expect(refusal(() => checkOwnerPatch({ budgetPeriod: p }, lifetime, open, NOW))).toBe('budgetPeriod');
  });

  it('compares money exactly (no float rounding lets 10.000000000001 through)', () => {
    expect(refusal(() => checkOwnerPatch({ maxBudget: 10.000000000001 }, admin, open, NOW))).toBe('maxBudget');
    expect(refusal(() => checkOwnerPatch({ maxBudget: 9.999999999999 }, admin, open, NOW))).toBeNull();
  });

  it('no admin-set value can be loosened, whatever the owner sends (generated)', () => {
    const counts = fc.constantFrom('rpm', 'tpm', 'maxParallel');
    fc.assert(fc.property(counts, fc.integer({ min: 1, max: 1_000_000 }), fc.oneof(fc.constant(null), fc.integer({ min: 1, max: 2_000_000 })), (f, bound, sent) => {
      const field = refusal(() => checkOwnerPatch({ [f]: sent }, { [f]: bound }, open, NOW));
      expect(field === null).toBe(sent !== null && sent <= bound);
      if (field !== null) expect(field).toBe(f);
    }), { seed: 4242, numRuns: 500 });
  });
});

describe('checkOwnerPatch: what no admin set', () => {
  it('is held to the settings\' maximums', () => {
    expect(refusal(() => checkOwnerPatch({ rpm: 101 }, {}, capped, NOW))).toBe('rpm');
    expect(refusal(() => checkOwnerPatch({ maxBudget: 51 }, {}, capped, NOW))).toBe('maxBudget');
    expect(refusal(() => checkOwnerPatch({ expiresAt: day(91) }, {}, capped, NOW))).toBe('expiresAt');
    // Lifting a limit under a maximum gives the maximum, so the key stays bounded.
    expect(checkOwnerPatch({ rpm: null, expiresAt: null }, {}, capped, NOW)).toEqual({ rpm: 100, expiresAt: day(90) });
  });

  it('is the owner\'s to lift when there is no maximum', () => {
    expect(checkOwnerPatch({ rpm: null, maxBudget: null, maxParallel: null, expiresAt: null }, {}, open, NOW))
      .toEqual({ rpm: null, maxBudget: null, maxParallel: null, expiresAt: null });
  });

  it('a limit the admin set on another field does not bind this one', () => {
    expect(checkOwnerPatch({ tpm: 9000 }, { rpm: 5 }, capped, NOW)).toEqual({ tpm: 9000 });
  });
});

describe('recordAdminLimits', () => {
  it('records what an admin sends, lifts what they send as null, keeps what they leave out', () => {
    const a = recordAdminLimits({}, { name: 'k', models: ['m'], rpm: 10, maxBudget: 5, expiresAt: '2026-04-01T00:00:00+02:00' }, 'weekly');
    expect(a).toEqual({ rpm: 10, maxBudget: '5', budgetPeriod: 'weekly', expiresAt: '2026-03-31T22:00:00.000Z' });
    const b = recordAdminLimits(a, { rpm: null, tpm: 7, description: 'x' }, 'weekly');
    expect(b).toEqual({ maxBudget: '5', budgetPeriod: 'weekly', tpm: 7, expiresAt: '2026-03-31T22:00:00.000Z' });
    expect(recordAdminLimits(b, { maxBudget: null }, 'weekly')).toEqual({ tpm: 7, expiresAt: '2026-03-31T22:00:00.000Z' });
  });

  it('binds the budget period only together with an admin budget', () => {
    expect(recordAdminLimits({}, { budgetPeriod: 'daily' }, 'daily')).toEqual({});
    expect(recordAdminLimits({ maxBudget: '1', budgetPeriod: 'monthly' }, { budgetPeriod: 'none' }, 'none')).toEqual({ maxBudget: '1', budgetPeriod: 'none' });
    expect(recordAdminLimits({ maxBudget: '1', budgetPeriod: 'monthly' }, { rpm: 3 }, 'daily')).toEqual({ maxBudget: '1', budgetPeriod: 'monthly', rpm: 3 });
  });

  it('refuses an admin budget finer than the store holds, and a date JavaScript cannot hold', () => {
    expect(refusal(() => recordAdminLimits({}, { maxBudget: 1e-13 }, 'none'))).toBe('maxBudget');
    expect(refusal(() => recordAdminLimits({}, { expiresAt: '2030-06-30T23:59:60Z' }, 'none'))).toBe('expiresAt');
  });
});

describe('parseAdminLimits (the stored column, read defensively)', () => {
  it('keeps known fields of the right type and fails closed on an unusable budget', () => {
    expect(parseAdminLimits(null)).toEqual({});
    expect(parseAdminLimits([1])).toEqual({});
    expect(parseAdminLimits({ rpm: 5, tpm: '7', maxParallel: 1.5, other: 1, expiresAt: 'soon' })).toEqual({ rpm: 5 });
    expect(parseAdminLimits({ maxBudget: 2 })).toEqual({ maxBudget: '2', budgetPeriod: 'none' });
    expect(parseAdminLimits({ maxBudget: 1e-13, budgetPeriod: 'weekly' })).toEqual({ maxBudget: '0', budgetPeriod: 'weekly' });
  });
});

describe('money input', () => {
  it.each([
    [0.1, '0.1'], [1e-12, '0.000000000001'], [1.5e-7, '0.00000015'], [123.456, '123.456'], [0, '0'], [-0, '0'],
    [9999999999999998, '9999999999999998'], [1e21, '1000000000000000000000'], [5e-324, '0.' + '0'.repeat(323) + '5'],
  ])('writes %d as %j', (n, s) => { expect(plainDecimal(n)).toBe(s); });

  it('refuses an amount smaller than the unit instead of storing 0, and too many decimals', () => {
    expect(refusal(() => moneyInput('maxBudget', 0.0000000000001))).toBe('maxBudget');
    expect(() => moneyInput('maxBudget', 0.0000000000001)).toThrow(/smaller than the smallest amount/);
    expect(refusal(() => moneyInput('softBudget', 1.0000000000001))).toBe('softBudget');
    expect(refusal(() => moneyInput('p', '0.0000000000001'))).toBe('p');
    expect(refusal(() => moneyInput('p', 1e16))).toBe('p');
    expect(moneyInput('p', '0.100000000000000')).toBe('0.100000000000000');
    expect(moneyInput('p', 0.000000000001)).toBe('0.000000000001');
  });

  it('round-trips every double it accepts (generated)', () => {
    fc.assert(fc.property(fc.double({ min: 0, max: 1e16, noNaN: true, noDefaultInfinity: true }), (n) => {
      let s: string;
      try { s = moneyInput('m', n); } catch (err) {
        expect((err as ApiError).field).toBe('m');
        return;
      }
      expect(Number(s)).toBe(n === 0 ? 0 : n);
      expect(s).toMatch(/^\d{1,16}(\.\d{1,12})?$/);
    }), { seed: 7, numRuns: 2000 });
  });
});
