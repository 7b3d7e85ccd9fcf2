/**
 * @module Who may set what on a key, as pure functions.
 * - Settings: defaults fill what a request leaves out; maximums bound what a
 *   person asks for on their own keys (a field left out under a maximum gets
 *   the maximum, so every such key is bounded).
 * - Admin limits: a limit an administrator set on a key (budget and its
 *   period, rpm, tpm, max parallel, expiry) is recorded on the key. Its owner
 *   may only tighten it — a lower number, a longer budget period, an earlier
 *   expiry — and never lift it (null); what no admin set stays theirs to
 *   change within the maximums. Without this, an owner could PATCH away the
 *   budget an admin put on them.
 */
import { invalid } from '../errors.js';
import type { KeyInput, KeyPatch } from './api-keys.js';
import type { Settings } from './settings.js';
import type { BudgetPeriod } from '../../store/schema.js';
import { toPico } from '../../shared/money.js';
import { moneyInput } from './money-input.js';

const DAY_MS = 86_400_000;

export function applyKeyDefaults(input: KeyInput, s: Settings, now = Date.now()): KeyInput {
  const d = s.keyDefaults;
  return {
    ...input,
    maxBudget: input.maxBudget !== undefined ? input.maxBudget : d.maxBudget,
    budgetPeriod: input.budgetPeriod ?? d.budgetPeriod,
    rpm: input.rpm !== undefined ? input.rpm : d.rpm,
    tpm: input.tpm !== undefined ? input.tpm : d.tpm,
    expiresAt: input.expiresAt !== undefined ? input.expiresAt
      : d.expiresInDays !== null ? new Date(now + d.expiresInDays * DAY_MS).toISOString() : null,
  };
}

/** Checks a person's own key (after defaults) against the maximums; `patch` checks only the fields sent. */
export function enforceKeyMaximums(input: Partial<KeyInput>, s: Settings, patch: boolean, now = Date.now()): Partial<KeyInput> {
  const m = s.keyMaximums;
  const out = { ...input };
  for (const f of ['maxBudget', 'rpm', 'tpm'] as const) {
    const max = m[f];
    if (max === null) continue;
    if (out[f] === undefined && patch) continue;
    if (out[f] === undefined || out[f] === null) { out[f] = max; continue; }
    if (out[f]! > max) throw invalid(f, `must be at most ${max} (the administrator's maximum)`);
  }
  if (m.expiresInDays !== null && !(patch && out.expiresAt === undefined)) {
    const latest = now + m.expiresInDays * DAY_MS;
    if (out.expiresAt === undefined || out.expiresAt === null) out.expiresAt = new Date(latest).toISOString();
    else if (Date.parse(out.expiresAt) > latest + 60_000) throw invalid('expiresAt', `must be within ${m.expiresInDays} days (the administrator's maximum)`);
  }
  return out;
}

/** The limits an administrator set on one key (the `admin_limits` column); a field absent was not set by an admin. */
export interface AdminLimits {
  maxBudget?: string;
  /** Recorded with an admin budget: the budget is per this period. */
  budgetPeriod?: BudgetPeriod;
  rpm?: number;
  tpm?: number;
  maxParallel?: number;
  expiresAt?: string;
}

const COUNTS = ['rpm', 'tpm', 'maxParallel'] as const;
const PERIODS: readonly BudgetPeriod[] = ['none', 'daily', 'weekly', 'monthly'];
// The same amount allowed per longer period is less spending: a lifetime budget ('none') is the tightest.
const PERIOD_LENGTH: Record<BudgetPeriod, number> = { daily: 0, weekly: 1, monthly: 2, none: 3 };

/** The stored column, read defensively: only known fields of the right type count. */
export function parseAdminLimits(v: unknown): AdminLimits {
  const o = (v && typeof v === 'object' && !Array.isArray(v) ? v : {}) as Record<string, unknown>;
  const out: AdminLimits = {};
  if (typeof o.maxBudget === 'string' || typeof o.maxBudget === 'number') {
    // An amount the store could not hold was stored as 0 (before money-input.ts): fail closed, as 0.
    try { out.maxBudget = moneyInput('maxBudget', o.maxBudget); } catch { out.maxBudget = '0'; }
  }
  if (out.maxBudget !== undefined) {
    out.budgetPeriod = PERIODS.includes(o.budgetPeriod as BudgetPeriod) ? o.budgetPeriod as BudgetPeriod : 'none';
  }
  for (const f of COUNTS) if (typeof o[f] === 'number' && Number.isInteger(o[f])) out[f] = o[f] as number;
  if (typeof o.expiresAt === 'string' && !Number.isNaN(Date.parse(o.expiresAt))) out.expiresAt = new Date(o.expiresAt).toISOString();
  return out;
}

/**
 * The admin limits after an administrator creates or edits a key with `sent`:
 * a value sets the limit, null lifts it, a field left out keeps what was.
 * `period` is the key's budget period after the change.
 */
export function recordAdminLimits(prev: AdminLimits, sent: KeyPatch, period: BudgetPeriod): AdminLimits {
  const out: AdminLimits = { ...prev };
  if (sent.maxBudget === null) { delete out.maxBudget; delete out.budgetPeriod; }
  else if (sent.maxBudget !== undefined) out.maxBudget = moneyInput('maxBudget', sent.maxBudget);
  if (out.maxBudget !== undefined && (sent.maxBudget !== undefined || sent.budgetPeriod !== undefined)) out.budgetPeriod = period;
  for (const f of COUNTS) {
    const v = sent[f];
    if (v === null) delete out[f]; else if (v !== undefined) out[f] = v;
  }
  if (sent.expiresAt === null) delete out.expiresAt;
  else if (sent.expiresAt !== undefined) {
    // The date-time format lets a leap second (23:59:60) through; JavaScript cannot represent it.
    const t = Date.parse(sent.expiresAt);
    if (Number.isNaN(t)) throw invalid('expiresAt', 'must be an ISO-8601 date-time');
    out.expiresAt = new Date(t).toISOString();
  }
  return out;
}

const setBy = 'set by an administrator';

/**
 * An owner's edit of their own key, checked: admin-set limits may only be
 * tightened, the rest is held to the settings' maximums. Returns the patch
 * to apply (a maximum may fill a limit sent as null), or a 400 naming the field.
 */
export function checkOwnerPatch(patch: KeyPatch, admin: AdminLimits, s: Settings, now = Date.now()): KeyPatch {
  if (admin.maxBudget !== undefined) {
    if (patch.maxBudget === null) throw invalid('maxBudget', `cannot be removed: a budget of ${Number(admin.maxBudget)} was ${setBy}`);
    if (patch.maxBudget !== undefined && toPico(moneyInput('maxBudget', patch.maxBudget)) > toPico(admin.maxBudget)) {
      throw invalid('maxBudget', `must be at most ${Number(admin.maxBudget)} (${setBy})`);
    }
    const p = admin.budgetPeriod ?? 'none';
    if (patch.budgetPeriod !== undefined && PERIOD_LENGTH[patch.budgetPeriod] < PERIOD_LENGTH[p]) {
      const allowed = PERIODS.filter((x) => PERIOD_LENGTH[x] >= PERIOD_LENGTH[p]).join(' or ');
      throw invalid('budgetPeriod', `must be ${allowed}: the budget ${setBy} is per ${p === 'none' ? 'lifetime' : p} period, and a shorter one would allow more spending`);
    }
  }
  for (const f of COUNTS) {
    const bound = admin[f];
    if (bound === undefined) continue;
    if (patch[f] === null) throw invalid(f, `cannot be removed: ${bound} was ${setBy}`);
    if (patch[f] !== undefined && patch[f]! > bound) throw invalid(f, `must be at most ${bound} (${setBy})`);
  }
  if (admin.expiresAt !== undefined) {
    if (patch.expiresAt === null) throw invalid('expiresAt', `cannot be removed: an expiry of ${admin.expiresAt} was ${setBy}`);
    if (patch.expiresAt !== undefined && !(Date.parse(patch.expiresAt) <= Date.parse(admin.expiresAt))) {
      throw invalid('expiresAt', `must be no later than ${admin.expiresAt} (${setBy})`);
    }
  }
  // What no admin set: the settings' maximums, as for a new key.
  const free: KeyPatch = { ...patch };
  if (admin.maxBudget !== undefined) delete free.maxBudget;
  if (admin.rpm !== undefined) delete free.rpm;
  if (admin.tpm !== undefined) delete free.tpm;
  if (admin.expiresAt !== undefined) delete free.expiresAt;
  return { ...patch, ...enforceKeyMaximums(free, s, true, now) };
}
