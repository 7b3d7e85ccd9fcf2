/**
 * @module "Test configuration": one real call to an upstream the admin is
 * about to register (or has registered), reporting what a person needs to
 * fix it — reachable? token accepted? model name known? — without echoing
 * the token.
 */
import { request } from 'undici';
import type { ModelTestResult } from '../../shared/api-types.js';

export interface TestInput { url: string; upstreamModel: string; token: string | null; kind: 'chat' | 'completion' | 'embedding' }
export type TestResult = ModelTestResult;

export async function testDeployment(t: TestInput, timeoutMs = 15_000): Promise<TestResult> {
  const base = t.url.replace(/\/+$/, '');
  const [path, body] = t.kind === 'embedding'
    ? ['/embeddings', { model: t.upstreamModel, input: 'LiteMaaS configuration test' }]
    : t.kind === 'completion'
      ? ['/completions', { model: t.upstreamModel, prompt: 'Say hello.', max_tokens: 16 }]
      : ['/chat/completions', { model: t.upstreamModel, messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 16 }];
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  try {
    const res = await request(base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(t.token ? { authorization: `Bearer ${t.token}` } : {}) },
      body: JSON.stringify(body),
      headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
    });
    const text = await res.body.text();
    let json: any = null;
    try { json = JSON.parse(text); } catch { /* not JSON: reported below */ }
    if (res.statusCode === 401 || res.statusCode === 403) return { ok: false, status: res.statusCode, latencyMs: ms(), message: 'The upstream refused the token (check the token).' };
    if (res.statusCode === 404) return { ok: false, status: 404, latencyMs: ms(), message: `Not found: check that the URL ends in /v1 and that the upstream serves '${t.upstreamModel}'.` };
    if (res.statusCode >= 400) {
      const detail = typeof json?.error?.message === 'string' ? json.error.message : typeof json?.message === 'string' ? json.message : text.slice(0, 200);
      return { ok: false, status: res.statusCode, latencyMs: ms(), message: `The upstream answered ${res.statusCode}: ${detail}` };
    }
    if (!json) return { ok: false, status: res.statusCode, latencyMs: ms(), message: 'The upstream answered, but not with JSON: is this an OpenAI-compatible /v1 URL?' };
    const reply = json.choices?.[0]?.message?.content ?? json.choices?.[0]?.text ?? (Array.isArray(json.data) ? `${json.data[0]?.embedding?.length ?? 0}-dimensional embedding` : undefined);
    return { ok: true, status: res.statusCode, latencyMs: ms(), message: `OK: '${t.upstreamModel}' answered in ${ms()} ms.`, ...(typeof reply === 'string' ? { reply: reply.slice(0, 500) } : {}) };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const why = e.code === 'ECONNREFUSED' ? 'connection refused' : e.code === 'ENOTFOUND' ? 'host not found'
      : e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' ? `no answer within ${timeoutMs} ms` : (e.code ?? e.message ?? 'network error');
    return { ok: false, status: null, latencyMs: ms(), message: `Could not reach ${base}: ${why}.` };
  }
}
