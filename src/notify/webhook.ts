/**
 * @module One webhook POST: the JSON body signed with HMAC-SHA256 over its
 * exact bytes (`x-litemaas-signature: sha256=<hex>`), with the delivery's id
 * and a timestamp so a receiver can drop duplicates and stale replays. The
 * body carries `text`, so a Slack incoming webhook shows it as it is.
 */
import { createHmac } from 'node:crypto';
import { request } from 'undici';

export interface SendResult { ok: boolean; statusCode: number | null; error: string | null }

export function sign(body: string, secret: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

export async function postWebhook(url: string, body: string, o: { id: string; secret: string | null; timeoutMs: number }): Promise<SendResult> {
  const headers: Record<string, string> = {
    'content-type': 'application/json', 'user-agent': 'LiteMaaS-Webhook/1',
    'x-litemaas-delivery': o.id, 'x-litemaas-timestamp': String(Math.floor(Date.now() / 1000)),
  };
  if (o.secret) headers['x-litemaas-signature'] = sign(body, o.secret);
  try {
    const res = await request(url, { method: 'POST', headers, body, headersTimeout: o.timeoutMs, bodyTimeout: o.timeoutMs });
    await res.body.dump();
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    return { ok, statusCode: res.statusCode, error: ok ? null : `HTTP ${res.statusCode}` };
  } catch (err) {
    return { ok: false, statusCode: null, error: (err as Error).message || String(err) };
  }
}
