/**
 * @module Validates the alerts section of PUT /admin/settings and merges it
 * into what is stored: thresholds ascending and unique, the webhook an
 * http(s) URL, secrets (webhook secret, SMTP password) encrypted; a secret
 * left out keeps the stored one, null clears it. The schema (schemas.ts)
 * has already bounded every field's type and length.
 */
import type { Cipher } from '../../shared/secrets.js';
import type { AlertSettingsInput } from '../../shared/api-types.js';
import type { StoredAlerts } from '../../notify/alert-config.js';
import { invalid } from '../errors.js';

export function mergeAlerts(cur: StoredAlerts, input: AlertSettingsInput, cipher: Cipher): StoredAlerts {
  const next: StoredAlerts = structuredClone(cur);
  if (input.thresholds !== undefined) {
    const t = input.thresholds;
    for (let i = 1; i < t.length; i++) if (t[i]! <= t[i - 1]!) throw invalid('alerts.thresholds', 'must be unique and in ascending order');
    next.thresholds = [...t];
  }
  if (input.webhookUrl !== undefined) {
    if (input.webhookUrl !== null) checkUrl(input.webhookUrl);
    next.webhookUrl = input.webhookUrl === '' ? null : input.webhookUrl;
  }
  if (input.webhookSecret !== undefined) next.webhookSecretEnc = input.webhookSecret ? cipher.encrypt(input.webhookSecret) : null;
  if (input.email !== undefined) {
    const e = input.email;
    if (e === null) next.email = null;
    else {
      const cur0 = cur.email;
      const host = e.host ?? cur0?.host, port = e.port ?? cur0?.port, from = e.from ?? cur0?.from;
      if (host === undefined) throw invalid('alerts.email.host', 'is required');
      if (port === undefined) throw invalid('alerts.email.port', 'is required');
      if (from === undefined) throw invalid('alerts.email.from', 'is required');
      if (!/^[^@\s<>]+@[^@\s<>]+$/.test(from.replace(/^[^<]*<([^>]*)>\s*$/, '$1'))) throw invalid('alerts.email.from', `'${from}' is not an e-mail address (name <a@b> or a@b)`);
      next.email = {
        host, port, from,
        secure: e.secure ?? cur0?.secure ?? port === 465,
        user: e.user !== undefined ? e.user : cur0?.user ?? null,
        allowInvalidCertificate: e.allowInvalidCertificate ?? cur0?.allowInvalidCertificate ?? false,
        passwordEnc: e.password === undefined ? cur0?.passwordEnc ?? null : e.password ? cipher.encrypt(e.password) : null,
      };
    }
  }
  return next;
}

function checkUrl(u: string): void {
  let url: URL;
  try { url = new URL(u); } catch { throw invalid('alerts.webhookUrl', 'is not a URL'); }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('alerts.webhookUrl', 'must be an http or https URL');
  if (url.username || url.password) throw invalid('alerts.webhookUrl', 'must not carry credentials; use webhookSecret to sign');
}
