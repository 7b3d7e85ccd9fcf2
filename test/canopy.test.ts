/**
 * Canopy's backend: config validation that names the bad key, the feature
 * flags, streaming through two hops (Canopy → stack → LiteMaaS → model)
 * without buffering, A/B, the tutor, feedback and its YAML export, and an
 * upstream refusal (a revoked key) reaching the client as an error line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { canopyConfig, CanopyConfigError } from '../src/canopy/config.js';
import { startCanopy, type RunningCanopy } from '../src/canopy/server.js';
import { stackConfig } from '../src/stack/config.js';
import { startStack, type RunningStack } from '../src/stack/server.js';
import { CANOPY_DEMO_CONFIG } from '../src/commands/start.js';
import { MODEL, provision, settle, startSystem, type System } from './helpers/system.js';

const STACK_ID = `vllm-${MODEL}/${MODEL}`;
const ITL_MS = 40;
const dataDir = mkdtempSync(join(tmpdir(), 'canopy-'));
let sys: System, stack: RunningStack, canopy: RunningCanopy;
let key: { keyId: string; key: string };

interface Streamed { events: Array<Record<string, string>>; done: boolean; firstAt: number; endAt: number }

/** POSTs to Canopy and reads its SSE, timing the first delta and the end. */
async function post(path: string, body: unknown, base = canopy.url): Promise<Streamed & { status: number }> {
  const t0 = performance.now();
  const r = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!r.headers.get('content-type')?.startsWith('text/event-stream')) return { status: r.status, events: [await r.json() as Record<string, string>], done: false, firstAt: 0, endAt: 0 };
  const reader = r.body!.getReader();
  const dec = new TextDecoder();
  let buf = '', firstAt = 0, done = false;
  const events: Array<Record<string, string>> = [];
  for (;;) {
    const { value, done: end } = await reader.read();
    if (end) break;
    buf += dec.decode(value, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i); buf = buf.slice(i + 1);
      if (!l.startsWith('data: ')) continue;
      if (l === 'data: [DONE]') { done = true; continue; }
      const e = JSON.parse(l.slice(6)) as Record<string, string>;
      if (e.delta && !firstAt) firstAt = performance.now() - t0;
      events.push(e);
    }
  }
  return { status: r.status, events, done, firstAt, endAt: performance.now() - t0 };
}
const text = (s: Streamed, variant?: string) => s.events.filter((e) => e.delta && (!variant || e.variant === variant)).map((e) => e.delta).join('');

beforeAll(async () => {
  sys = await startSystem('postgres', { itlMs: ITL_MS });
  key = await provision(sys, { key: { name: 'canopy-experiments' } });
  stack = await startStack(stackConfig({ port: 0, host: '127.0.0.1', models: [{ name: MODEL, url: `${sys.url}/v1` }] }, { API_TOKEN: key.key }));
  const cfg = CANOPY_DEMO_CONFIG(stack.url);
  canopy = await startCanopy(canopyConfig({ ...cfg, ab_testing: { enabled: true } }, {}), { port: 0, host: '127.0.0.1', dataDir, logLevel: 'silent' });
});
afterAll(async () => {
  await canopy?.close(); await stack?.close(); await sys?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('canopy config', () => {
  const base = { LLAMA_STACK_URL: 'http://stack:8321', summarize: { enabled: true, model: STACK_ID, prompt: 'Summarise.' } };
  const bad = (raw: unknown, env: NodeJS.ProcessEnv = {}) => { try { canopyConfig(raw, env); return 'accepted'; } catch (e) { expect(e).toBeInstanceOf(CanopyConfigError); return (e as Error).message; } };

  it('takes the workshop\'s values with their defaults', () => {
    const c = canopyConfig({ ...base, summarize: { ...base.summarize, max_tokens: 2048 }, feedback: { enabled: true } }, {});
    expect(c.summarize).toMatchObject({ enabled: true, model: STACK_ID, maxTokens: 2048, temperature: 0.7, promptB: null });
    expect(c.socraticTutor.enabled).toBe(false);
    expect(c.feedback).toBe(true);
    expect(canopyConfig({ ...base }, {}).summarize.maxTokens).toBe(4096);
    expect(canopyConfig(base, { LLAMA_STACK_URL: 'http://other:8321/' }).llamaStackUrl).toBe('http://other:8321');
  });

  it('names the bad key', () => {
    expect(bad({ ...base, summarise: {} })).toMatch(/^summarise: unknown key/);
    expect(bad({ ...base, summarize: { ...base.summarize, max_token: 10 } })).toMatch(/^summarize\.max_token: unknown key/);
    expect(bad({ ...base, summarize: { enabled: true, prompt: 'x' } })).toBe('summarize.model: required when summarize is enabled');
    expect(bad({ ...base, summarize: { ...base.summarize, temperature: 3 } })).toBe('summarize.temperature: must be a number from 0 to 2');
    expect(bad({ ...base, summarize: { ...base.summarize, enabled: 'yes' } })).toBe('summarize.enabled: must be true or false');
    expect(bad({ ...base, ab_testing: { enabled: true } })).toMatch(/^summarize\.prompt_b: required when ab_testing is enabled/);
    expect(bad({ summarize: base.summarize })).toMatch(/^LLAMA_STACK_URL: required/);
    expect(bad({ ...base, feedback: { enabled: true, store: 'x' } })).toMatch(/^feedback\.store: unknown key/);
  });
});

describe('canopy', () => {
  it('checks its models against the stack\'s list and names a model the stack does not serve', async () => {
    expect(await canopy.checkModels()).toEqual([]);
    const wrong = await startCanopy(canopyConfig({ LLAMA_STACK_URL: stack.url, summarize: { enabled: true, model: 'vllm-llama32-fp8/llama32-fp8', prompt: 'p' } }, {}), { port: 0, host: '127.0.0.1', dataDir, logLevel: 'silent' });
    try {
      expect(await wrong.checkModels()).toEqual([`summarize.model 'vllm-llama32-fp8/llama32-fp8' is not among Llama Stack's models (${STACK_ID})`]);
    } finally { await wrong.close(); }
  });

  it('reports its feature flags and the model each feature uses', async () => {
    expect(await (await fetch(`${canopy.url}/feature-flags`)).json()).toEqual({
      summarize: true, 'socratic-tutor': true, 'information-search': false, 'student-assistant': false, feedback: true, ab_testing: true,
    });
    const info = await (await fetch(`${canopy.url}/info`)).json() as any;
    expect(info.features.summarize.model).toBe(STACK_ID);
  });

  it('streams a summary through the stack and LiteMaaS without buffering: the first delta arrives long before the end', async () => {
    const input = 'Canopy streams every word as it is produced. The stack relays each chunk. LiteMaaS meters the request. Nothing waits for the whole answer to be ready.';
    const s = await post('/summarize', { prompt: input });
    expect(s.status).toBe(200);
    expect(s.done).toBe(true);
    expect(s.events.some((e) => e.error)).toBe(false);
    const answer = text(s);
    expect(answer.length).toBeGreaterThan(20);
    const words = answer.split(/\s+/).length;
    // The simulator spends ITL_MS per token, so the whole answer takes at least words × ITL_MS at the model.
    expect(s.endAt).toBeGreaterThan(words * ITL_MS * 0.8);
    expect(s.firstAt).toBeLessThan(s.endAt / 3);
    expect(s.events.filter((e) => e.delta).length).toBeGreaterThan(5);
  });

  it('attributes the usage to the canopy-experiments key', async () => {
    await settle(sys);
    const rows = (await sys.admin('GET', '/admin/usage/summary?groupBy=key')).body.rows;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ keyId: key.keyId, keyName: 'canopy-experiments' });
    expect(rows[0].requests).toBeGreaterThanOrEqual(1);
  });

  it('continues the conversation, runs A/B side by side, and tutors', async () => {
    const chat = await post('/summarize/chat', { messages: [{ role: 'user', content: 'First text.' }, { role: 'assistant', content: 'A summary.' }, { role: 'user', content: 'Shorter please.' }] });
    expect(chat.done).toBe(true);
    expect(text(chat)).not.toBe('');
    const ab = await post('/summarize/ab', { prompt: 'Compare two prompts on this text. Both answers stream at once.' });
    expect(ab.done).toBe(true);
    expect(text(ab, 'a')).not.toBe('');
    expect(text(ab, 'b')).not.toBe('');
    const order = ab.events.filter((e) => e.delta).map((e) => e.variant).join('');
    expect(order).toMatch(/ab|ba/); // interleaved, not one after the other
    const tutor = await post('/socratic-tutor', { messages: [{ role: 'user', content: 'Why is the sky blue?' }] });
    expect(text(tutor)).not.toBe('');
  });

  it('keeps feedback and exports it as a YAML evaluation dataset', async () => {
    const r = await fetch(`${canopy.url}/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ feature: 'summarize', prompt: 'in', response: 'out', rating: 'up', variant: 'a' }) });
    expect(r.status).toBe(201);
    const bad = await fetch(`${canopy.url}/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ feature: 'summarize', prompt: 'in', response: 'out', rating: 'meh' }) });
    expect(bad.status).toBe(400);
    expect((await bad.json() as any).error).toMatch(/^rating/);
    const y = await fetch(`${canopy.url}/feedback/export`);
    expect(y.headers.get('content-disposition')).toMatch(/canopy-feedback\.yaml/);
    const doc = parse(await y.text());
    expect(doc).toMatchObject({ dataset: 'canopy-feedback', count: 1, examples: [{ feature: 'summarize', model: STACK_ID, variant: 'a', input: 'in', output: 'out', rating: 'up' }] });
  });

  it('answers a disabled feature with 404 and a clear message, and a bad body with 400 naming the field', async () => {
    const off = await startCanopy(canopyConfig({ LLAMA_STACK_URL: stack.url, summarize: { enabled: false } }, {}), { port: 0, host: '127.0.0.1', dataDir, logLevel: 'silent' });
    try {
      const r = await post('/summarize', { prompt: 'x' }, off.url);
      expect(r.status).toBe(404);
      expect(r.events[0]!.error).toBe('The summarize feature is disabled in this Canopy\'s configuration (summarize.enabled: false).');
    } finally { await off.close(); }
    const missing = await post('/summarize', {});
    expect(missing.status).toBe(400);
    expect(missing.events[0]!.error).toBe('prompt: is required');
  });

  it('sends the feature\'s model, prompt and sampling settings to Llama Stack, and prompt_b for the B side', async () => {
    const seen: Array<{ path: string; body: any }> = [];
    const fake = createServer((req, res) => {
      let b = '';
      req.on('data', (c) => { b += c; });
      req.on('end', () => {
        seen.push({ path: req.url!, body: JSON.parse(b) });
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end('data: {"choices":[{"delta":{"content":"ok"}}]}\n\ndata: [DONE]\n\n');
      });
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(fake.address() as { port: number }).port}`;
    const c = await startCanopy(canopyConfig({
      LLAMA_STACK_URL: url,
      summarize: { enabled: true, model: 'vllm-granite/granite', prompt: 'PROMPT A', prompt_b: 'PROMPT B', max_tokens: 123, temperature: 0.2 },
      ab_testing: { enabled: true },
    }, {}), { port: 0, host: '127.0.0.1', dataDir, logLevel: 'silent' });
    try {
      expect(text(await post('/summarize', { prompt: 'the text' }, c.url))).toBe('ok');
      expect(seen[0]).toEqual({ path: '/v1/chat/completions', body: {
        model: 'vllm-granite/granite', stream: true, max_tokens: 123, temperature: 0.2,
        messages: [{ role: 'system', content: 'PROMPT A' }, { role: 'user', content: 'the text' }],
      } });
      await post('/summarize/ab', { prompt: 'the text' }, c.url);
      expect(seen.slice(1).map((x) => x.body.messages[0].content).sort()).toEqual(['PROMPT A', 'PROMPT B']);
    } finally {
      await c.close();
      await new Promise((r) => fake.close(r));
    }
  });

  it('a person who closes the page mid-answer stops the whole chain, and LiteMaaS still bills what was streamed', async () => {
    const ac = new AbortController();
    const r = await fetch(`${canopy.url}/summarize`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, signal: ac.signal,
      body: JSON.stringify({ prompt: 'A long text that will not be read to the end. '.repeat(20) }),
    });
    const reader = r.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('"delta"');
    ac.abort();
    await expect.poll(async () => {
      await settle(sys);
      const e = await sys.server.store.db.selectFrom('usage_events').select(['status', 'completion_tokens', 'estimated', 'error_code'])
        .where('key_id', '=', key.keyId).where('status', '=', 499).execute();
      return e.map((x) => [x.error_code, x.estimated, x.completion_tokens > 0]);
    }, { timeout: 5000 }).toEqual([['client_disconnected', true, true]]);
  });

  it('turns a revoked key into an error line the UI can show, not a hang', async () => {
    expect((await sys.admin('DELETE', `/admin/api-keys/${key.keyId}`)).status).toBe(200);
    const s = await post('/summarize', { prompt: 'This request uses a revoked key.' });
    expect(s.status).toBe(200);
    expect(s.done).toBe(true);
    expect(s.events).toHaveLength(1);
    expect(s.events[0]!.error).toMatch(/^The model service refused the API key: .*revoked/i);
  });
});
