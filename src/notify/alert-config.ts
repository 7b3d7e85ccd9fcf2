/**
 * @module The alerts section of the settings table as stored (secrets
 * AES-GCM-encrypted) and as the notifier reads it (secrets decrypted, in
 * memory only). The admin API validates and writes it
 * (portal/services/alert-settings.ts); this module only reads.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Cipher } from '../shared/secrets.js';
import type { AlertSettings } from '../shared/api-types.js';

export const DEFAULT_THRESHOLDS = [50, 80, 100];

/** The settings row `alerts` (jsonb). */
export interface StoredAlerts {
  thresholds: number[];
  webhookUrl: string | null;
  webhookSecretEnc: string | null;
  email: {
    host: string; port: number; secure: boolean; user: string | null; from: string;
    allowInvalidCertificate: boolean; passwordEnc: string | null;
  } | null;
}

export const DEFAULT_ALERTS: StoredAlerts = { thresholds: DEFAULT_THRESHOLDS, webhookUrl: null, webhookSecretEnc: null, email: null };

/** What the notifier uses: secrets in clear. */
export interface AlertConfig {
  thresholds: number[];
  webhookUrl: string | null;
  webhookSecret: string | null;
  email: (Omit<NonNullable<StoredAlerts['email']>, 'passwordEnc'> & { password: string | null }) | null;
  /** A stored secret this process cannot decrypt (LITEMAAS_SECRET differs between replicas): sends fail with this, never go unsigned. */
  secretError: string | null;
}

export async function readStoredAlerts(db: Kysely<Database>): Promise<StoredAlerts> {
  const row = await db.selectFrom('settings').select('value').where('key', '=', 'alerts').executeTakeFirst();
  const v = (row?.value ?? {}) as Partial<StoredAlerts>;
  return { ...DEFAULT_ALERTS, ...v };
}

export async function readAlertConfig(db: Kysely<Database>, cipher: Cipher): Promise<AlertConfig> {
  const s = await readStoredAlerts(db);
  const { passwordEnc, ...email } = s.email ?? { passwordEnc: null };
  let secretError: string | null = null;
  const open = (sealed: string | null): string | null => {
    if (!sealed) return null;
    try { return cipher.decrypt(sealed); } catch { secretError = 'a stored alert secret cannot be decrypted: is LITEMAAS_SECRET the same on every replica?'; return null; }
  };
  const webhookSecret = open(s.webhookSecretEnc);
  const password = open(passwordEnc);
  return {
    thresholds: s.thresholds,
    webhookUrl: s.webhookUrl,
    webhookSecret,
    email: s.email ? { ...(email as Omit<NonNullable<StoredAlerts['email']>, 'passwordEnc'>), password } : null,
    secretError,
  };
}

/** The API's view: no secret, only whether one is set. */
export function alertsView(s: StoredAlerts): AlertSettings {
  return {
    thresholds: s.thresholds,
    webhookUrl: s.webhookUrl,
    webhookSecretSet: s.webhookSecretEnc !== null,
    email: s.email ? {
      host: s.email.host, port: s.email.port, secure: s.email.secure, user: s.email.user, from: s.email.from,
      allowInvalidCertificate: s.email.allowInvalidCertificate, passwordSet: s.email.passwordEnc !== null,
    } : null,
  };
}

/** The currency amounts are shown in (settings `currency`, USD by default). */
export async function readCurrency(db: Kysely<Database>): Promise<string> {
  const row = await db.selectFrom('settings').select('value').where('key', '=', 'currency').executeTakeFirst();
  return typeof row?.value === 'string' ? row.value : 'USD';
}
