/**
 * @module The settings' key defaults and maximums applied to a key request.
 * Defaults fill what the request leaves out; maximums bound what a person
 * asks for on their own keys (a field left out under a maximum gets the
 * maximum, so every such key is bounded).
 */
import { invalid } from '../errors.js';
import type { KeyInput } from './api-keys.js';
import type { Settings } from './settings.js';

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
