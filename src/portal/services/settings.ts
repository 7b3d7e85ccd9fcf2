/**
 * @module Platform settings (one jsonb row per section): the currency costs
 * are shown in, the defaults a new key gets, and the maximums a user may ask
 * for on their own keys. Admins creating keys on a user's behalf are not
 * held to the maximums. Budget alerts (thresholds, webhook, SMTP) are the
 * `alerts` row; their secrets are stored encrypted and never read back.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import type { AlertSettingsInput, BrandInput, KeyDefaults, KeyMaximums, Settings } from '../../shared/api-types.js';
import { DEFAULT_BRAND, mergeBrand, readBrand } from './brand.js';
import type { Cipher } from '../../shared/secrets.js';
import { alertsView, readStoredAlerts } from '../../notify/alert-config.js';
import { invalid } from '../errors.js';
import { optionalMoney } from './money-input.js';
import { mergeAlerts } from './alert-settings.js';

export type { KeyDefaults, KeyMaximums, Settings };
/** A PUT: a section left out keeps its stored value. */
export type SettingsInput = { currency?: string; keyDefaults?: Partial<KeyDefaults>; keyMaximums?: Partial<KeyMaximums>; alerts?: AlertSettingsInput; teams?: { selfService: boolean }; brand?: BrandInput };

export const DEFAULT_SETTINGS: Settings = {
  currency: 'USD',
  keyDefaults: { budgetPeriod: 'monthly', maxBudget: null, rpm: null, tpm: null, expiresInDays: null },
  keyMaximums: { maxBudget: null, rpm: null, tpm: null, expiresInDays: null },
  teams: { selfService: false },
  brand: DEFAULT_BRAND,
};

export class SettingsService {
  constructor(private readonly db: Kysely<Database>, private readonly cipher: Cipher | null = null) {}

  async get(): Promise<Settings> {
    const rows = await this.db.selectFrom('settings').select(['key', 'value']).where('key', 'in', ['currency', 'keyDefaults', 'keyMaximums', 'teams', 'brand']).execute();
    const s: Settings = structuredClone(DEFAULT_SETTINGS);
    for (const r of rows) {
      if (r.key === 'currency' && typeof r.value === 'string') s.currency = r.value;
      if (r.key === 'keyDefaults') Object.assign(s.keyDefaults, r.value);
      if (r.key === 'keyMaximums') Object.assign(s.keyMaximums, r.value);
      if (r.key === 'brand') s.brand = readBrand(r.value);
      if (r.key === 'teams' && r.value && typeof r.value === 'object') s.teams = { selfService: (r.value as { selfService?: unknown }).selfService === true };
    }
    return s;
  }

  /** The key settings plus the alerts section (admins only: /config never shows it). */
  async getWithAlerts(): Promise<Settings> {
    return { ...(await this.get()), alerts: alertsView(await readStoredAlerts(this.db)) };
  }

  async put(input: SettingsInput): Promise<Settings> {
    const { alerts, ...rest } = input;
    const cur = await this.get();
    const next: Omit<Settings, 'alerts'> = {
      currency: rest.currency ?? cur.currency,
      keyDefaults: { ...cur.keyDefaults, ...rest.keyDefaults }, keyMaximums: { ...cur.keyMaximums, ...rest.keyMaximums },
      teams: rest.teams ?? cur.teams,
      brand: rest.brand === undefined ? cur.brand : mergeBrand(cur.brand ?? DEFAULT_BRAND, rest.brand),
    };
    if (!isCurrency(next.currency)) throw invalid('currency', `'${next.currency}' is not an ISO 4217 currency code`);
    const d = next.keyDefaults, m = next.keyMaximums;
    // Copied onto keys' numeric(28,12) budgets: an amount finer than the store would become 0 there.
    optionalMoney('keyDefaults.maxBudget', d.maxBudget);
    optionalMoney('keyMaximums.maxBudget', m.maxBudget);
    for (const f of ['maxBudget', 'rpm', 'tpm', 'expiresInDays'] as const) {
      const dv = d[f], mv = m[f];
      if (mv !== null && dv !== null && dv > mv) throw invalid(`keyDefaults.${f}`, `must not exceed keyMaximums.${f} (${mv})`);
    }
    const rows: Record<string, unknown> = { ...next };
    if (alerts !== undefined) {
      if (!this.cipher) throw new Error('settings service built without a cipher cannot store alert secrets');
      rows.alerts = mergeAlerts(await readStoredAlerts(this.db), alerts, this.cipher);
    }
    await this.db.transaction().execute(async (tx) => {
      for (const [key, value] of Object.entries(rows)) {
        await tx.insertInto('settings').values({ key, value: JSON.stringify(value) })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(value) })).execute();
      }
    });
    return this.getWithAlerts();
  }
}

function isCurrency(c: string): boolean {
  if (!/^[A-Z]{3}$/.test(c)) return false;
  try { new Intl.NumberFormat('en', { style: 'currency', currency: c }); return true; } catch { return false; }
}
