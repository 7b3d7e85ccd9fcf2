/**
 * @module One e-mail through the configured SMTP server (nodemailer). A new
 * transport per send: alerts are rare, and settings changed in the portal
 * apply to the next send without a restart.
 */
import nodemailer from 'nodemailer';
import type { AlertConfig } from './alert-config.js';
import type { SendResult } from './webhook.js';

export async function sendEmail(cfg: AlertConfig['email'], msg: { to: string; subject: string; text: string }, timeoutMs: number): Promise<SendResult> {
  if (!cfg) return { ok: false, statusCode: null, error: 'e-mail is not configured (settings alerts.email)' };
  const transport = nodemailer.createTransport({
    host: cfg.host, port: cfg.port, secure: cfg.secure,
    auth: cfg.user ? { user: cfg.user, pass: cfg.password ?? '' } : undefined,
    tls: { rejectUnauthorized: !cfg.allowInvalidCertificate },
    connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs,
  });
  try {
    await transport.sendMail({ from: cfg.from, to: msg.to, subject: msg.subject, text: msg.text });
    return { ok: true, statusCode: null, error: null };
  } catch (err) {
    const e = err as Error & { responseCode?: number };
    return { ok: false, statusCode: e.responseCode ?? null, error: e.message || String(err) };
  } finally {
    transport.close();
  }
}
