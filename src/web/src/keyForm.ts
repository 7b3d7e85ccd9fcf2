/**
 * @module The API key form's state and its translation to a request body. Numbers stay strings
 * while typed (so "" means "no limit") and become numbers or null on submit.
 */
import i18n from './i18n';
import type { ApiKey, BudgetPeriod, KeyPolicy } from './types';

export type Expiry = 'keep' | 'never' | '30' | '60' | '90' | '180' | '365' | 'custom';

export interface KeyFormState {
  name: string;
  description: string;
  models: string[];
  maxBudget: string;
  budgetPeriod: BudgetPeriod;
  rpm: string;
  tpm: string;
  expiry: Expiry;
  expiryDate: string;
}

export interface KeyBody {
  name: string;
  description: string | null;
  models: string[];
  maxBudget: number | null;
  budgetPeriod: BudgetPeriod;
  rpm: number | null;
  tpm: number | null;
  expiresAt?: string | null;
}

export class FieldError extends Error {
  constructor(readonly field: keyof KeyFormState, message: string) {
    super(message);
  }
}

const text = (value: number | null | undefined) => (value === null || value === undefined ? '' : String(value));

const presetDays = ['30', '60', '90', '180', '365'] as const;

/** Expiry choices allowed under the admin's maximum lifetime (none: all of them, "never" included). */
export function allowedExpiries(maxDays: number | null | undefined): Expiry[] {
  if (!maxDays) return ['never', ...presetDays, 'custom'];
  return [...presetDays.filter((days) => Number(days) <= maxDays), 'custom'];
}

function expiryFor(days: number | null | undefined): Pick<KeyFormState, 'expiry' | 'expiryDate'> {
  if (!days) return { expiry: 'never', expiryDate: '' };
  const preset = presetDays.find((p) => Number(p) === days);
  if (preset) return { expiry: preset, expiryDate: '' };
  return { expiry: 'custom', expiryDate: new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10) };
}

export function initialKeyForm(
  key: ApiKey | undefined,
  defaults: KeyPolicy | undefined,
  models: string[] = [],
  maxDays?: number | null,
): KeyFormState {
  if (key) {
    return {
      name: key.name,
      description: key.description ?? '',
      models: key.models,
      maxBudget: text(key.maxBudget),
      budgetPeriod: key.budgetPeriod,
      rpm: text(key.rpm),
      tpm: text(key.tpm),
      expiry: key.expiresAt ? 'keep' : 'never',
      expiryDate: '',
    };
  }
  // The default lifetime, but never longer than the maximum (a key without expiry would be refused).
  const days = maxDays ? Math.min(defaults?.expiresInDays ?? maxDays, maxDays) : defaults?.expiresInDays;
  return {
    name: '',
    description: '',
    models,
    maxBudget: text(defaults?.maxBudget),
    budgetPeriod: defaults?.budgetPeriod ?? 'monthly',
    rpm: text(defaults?.rpm),
    tpm: text(defaults?.tpm),
    ...expiryFor(days),
  };
}

function number(field: keyof KeyFormState, value: string, integer: boolean): number | null {
  if (value.trim() === '') return null;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new FieldError(field, i18n.t('keyForm.error.positive'));
  if (integer && (!Number.isInteger(parsed) || parsed < 1)) throw new FieldError(field, i18n.t('keyForm.error.whole'));
  return parsed;
}

function expiresAt(state: KeyFormState): string | null | undefined {
  if (state.expiry === 'keep') return undefined;
  if (state.expiry === 'never') return null;
  if (state.expiry === 'custom') {
    const end = new Date(`${state.expiryDate}T23:59:59Z`);
    if (!state.expiryDate || Number.isNaN(end.getTime())) throw new FieldError('expiryDate', i18n.t('keyForm.error.pickDate'));
    if (end.getTime() < Date.now()) throw new FieldError('expiryDate', i18n.t('keyForm.error.future'));
    return end.toISOString();
  }
  return new Date(Date.now() + Number(state.expiry) * 86_400_000).toISOString();
}

/** Throws FieldError naming the first field that is not right. */
export function keyBody(state: KeyFormState): KeyBody {
  const name = state.name.trim();
  if (!name) throw new FieldError('name', i18n.t('keyForm.error.name'));
  if (state.models.length === 0) throw new FieldError('models', i18n.t('keyForm.error.models'));
  const body: KeyBody = {
    name,
    description: state.description.trim() || null,
    models: state.models,
    maxBudget: number('maxBudget', state.maxBudget, false),
    budgetPeriod: state.budgetPeriod,
    rpm: number('rpm', state.rpm, true),
    tpm: number('tpm', state.tpm, true),
  };
  const expiry = expiresAt(state);
  if (expiry !== undefined) body.expiresAt = expiry;
  return body;
}
