/**
 * @module "Test configuration": one real call to an upstream the admin is
 * about to register (or has registered), reporting what a person needs to
 * fix it — reachable? token accepted? model name known? — without echoing
 * the token.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import type { ModelKind, ModelTestResult } from '../../shared/api-types.js';

export interface TestInput { url: string; upstreamModel: string; token: string | null; kind: ModelKind }
export type TestResult = ModelTestResult;

/** Half a second of silence as 16 kHz mono 16-bit PCM WAV: the smallest honest file a speech model accepts. */
export function silentWav(ms = 500, rate = 16_000): Buffer {
  const data = Math.round((rate * ms) / 1000) * 2;
  const b = Buffer.alloc(44 + data);
  b.write('RIFF', 0); b.writeUInt32LE(36 + data, 4); b.write('WAVE', 8);
  b.write('fmt ', 12); b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24); b.writeUInt32LE(rate * 2, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34);
  b.write('data', 36); b.writeUInt32LE(data, 40);
  return b;
}

function multipart(fields: Record<string, string>, file: { name: string; type: string; data: Buffer }): { type: string; body: Buffer } {
  const boundary = `litemaas-${randomBytes(12).toString('hex')}`;
  const parts: Buffer[] = Object.entries(fields).map(([k, v]) => Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: ${file.type}\r\n\r\n`), file.data, Buffer.from(`\r\n--${boundary}--\r\n`));
  return { type: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(parts) };
}

/** The smallest request of each kind: what path, what content type, what body. */
function probe(kind: ModelKind, model: string): { path: string; type: string; body: string | Buffer } {
  const json = (path: string, body: object) => ({ path, type: 'application/json', body: JSON.stringify(body) });
  switch (kind) {
    case 'embedding': return json('/embeddings', { model, input: 'LiteMaaS configuration test' });
    case 'completion': return json('/completions', { model, prompt: 'Say hello.', max_tokens: 16 });
    case 'rerank': return json('/rerank', { model, query: 'What is LiteMaaS?', documents: ['LiteMaaS serves models.', 'Bananas are yellow.'] });
    case 'audio': {
      const form = multipart({ model }, { name: 'silence.wav', type: 'audio/wav', data: silentWav() });
      return { path: '/audio/transcriptions', ...form };
    }
    default: return json('/chat/completions', { model, messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 16 });
  }
}

/** What the upstream answered, in a few words for the admin. */
function replyOf(json: any): string | undefined {
  if (typeof json?.choices?.[0]?.message?.content === 'string') return json.choices[0].message.content;
  if (typeof json?.choices?.[0]?.text === 'string') return json.choices[0].text;
  if (Array.isArray(json?.data) && Array.isArray(json.data[0]?.embedding)) return `${json.data[0].embedding.length}-dimensional embedding`;
  if (Array.isArray(json?.results)) {
    const top = json.results[0] as { index?: number; relevance_score?: number } | undefined;
    return `${json.results.length} documents ranked` + (typeof top?.relevance_score === 'number' ? `; best: document ${top.index} (score ${top.relevance_score.toFixed(3)})` : '');
  }
  if (typeof json?.text === 'string') return json.text.trim() ? `Transcribed: ${json.text}` : 'Transcribed half a second of silence (empty text, as expected).';
  return undefined;
}

export async function testDeployment(t: TestInput, timeoutMs = 15_000): Promise<TestResult> {
  const base = t.url.replace(/\/+$/, '');
  const { path, type, body } = probe(t.kind, t.upstreamModel);
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  try {
    const res = await request(base + path, {
      method: 'POST',
      headers: { 'content-type': type, ...(t.token ? { authorization: `Bearer ${t.token}` } : {}) },
      body,
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
    const reply = replyOf(json);
    return { ok: true, status: res.statusCode, latencyMs: ms(), message: `OK: '${t.upstreamModel}' answered in ${ms()} ms.`, ...(typeof reply === 'string' ? { reply: reply.slice(0, 500) } : {}) };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const why = e.code === 'ECONNREFUSED' ? 'connection refused' : e.code === 'ENOTFOUND' ? 'host not found'
      : e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' ? `no answer within ${timeoutMs} ms` : (e.code ?? e.message ?? 'network error');
    return { ok: false, status: null, latencyMs: ms(), message: `Could not reach ${base}: ${why}.` };
  }
}
