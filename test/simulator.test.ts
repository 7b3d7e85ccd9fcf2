/**
 * The simulator as the openai client sees it: deterministic extractive text,
 * consistent usage between JSON and SSE, embeddings, auth, faults, latency.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { startSimulator, type RunningSimulator } from '../src/simulator/server.js';
import { tokenize } from '../src/simulator/text.js';

const TEXT = 'The gateway meters requests. Budgets are exact. Keys rotate. This fourth sentence is left out.';

describe('simulator', () => {
  let sim: RunningSimulator;
  let client: OpenAI;
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, servedModelName: 'llama32-fp8', quiet: true });
    client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'x', maxRetries: 0 });
  });
  afterAll(async () => { await sim?.close(); });

  it('tokenizes losslessly', () => {
    const t = 'Hello,   world! Supercalifragilistic words split.';
    expect(tokenize(t).join('')).toBe(t);
  });

  it('answers with the leading sentences of the last user message, with consistent usage', async () => {
    const r = await client.chat.completions.create({ model: 'llama32-fp8', messages: [{ role: 'system', content: 'Summarize.' }, { role: 'user', content: TEXT }] });
    expect(r.choices[0]!.message.content).toBe('The gateway meters requests. Budgets are exact. Keys rotate.');
    expect(r.choices[0]!.finish_reason).toBe('stop');
    expect(r.usage!.completion_tokens).toBe(tokenize(r.choices[0]!.message.content!).length);
    expect(r.usage!.prompt_tokens).toBe(4 + tokenize('Summarize.').length + 4 + tokenize(TEXT).length);
    const again = await client.chat.completions.create({ model: 'llama32-fp8', messages: [{ role: 'system', content: 'Summarize.' }, { role: 'user', content: TEXT }] });
    expect(again.choices[0]!.message.content).toBe(r.choices[0]!.message.content);
  });

  it('truncates at max_tokens with finish_reason length', async () => {
    const r = await client.chat.completions.create({ model: 'llama32-fp8', messages: [{ role: 'user', content: TEXT }], max_tokens: 3 });
    expect(r.usage!.completion_tokens).toBe(3);
    expect(r.choices[0]!.finish_reason).toBe('length');
  });

  it('streams the same text, with a usage chunk only when asked', async () => {
    const full = await client.chat.completions.create({ model: 'llama32-fp8', messages: [{ role: 'user', content: TEXT }] });
    for (const include of [false, true]) {
      const s = await client.chat.completions.create({ model: 'llama32-fp8', messages: [{ role: 'user', content: TEXT }], stream: true, ...(include ? { stream_options: { include_usage: true } } : {}) });
      let text = '';
      let usage: OpenAI.CompletionUsage | null = null;
      let contentChunks = 0;
      for await (const c of s) {
        if (c.usage) usage = c.usage;
        const d = c.choices[0]?.delta?.content;
        if (d) { text += d; contentChunks++; }
      }
      expect(text).toBe(full.choices[0]!.message.content);
      if (include) {
        expect(usage).toEqual(full.usage);
        expect(contentChunks).toBe(full.usage!.completion_tokens);
      } else {
        expect(usage).toBeNull();
      }
    }
  });

  it('serves completions', async () => {
    const r = await client.completions.create({ model: 'llama32-fp8', prompt: TEXT, max_tokens: 5 });
    expect(r.choices[0]!.text).toBe('The gateway meters requests. '); // 'requests.' is 9 characters: two tokens
    expect(r.usage).toEqual({ prompt_tokens: tokenize(TEXT).length, completion_tokens: 5, total_tokens: tokenize(TEXT).length + 5 });
  });

  it('returns deterministic unit embeddings, as floats and as base64', async () => {
    const f = await client.embeddings.create({ model: 'llama32-fp8', input: ['alpha', 'beta'], encoding_format: 'float' });
    const b = await client.embeddings.create({ model: 'llama32-fp8', input: ['alpha'] }); // the client asks base64 and decodes it
    expect(f.data).toHaveLength(2);
    const v = f.data[0]!.embedding;
    expect(v).toHaveLength(384);
    expect(Math.sqrt(v.reduce((n, x) => n + x * x, 0))).toBeCloseTo(1, 5);
    b.data[0]!.embedding.forEach((x, i) => expect(x).toBeCloseTo(v[i]!, 6));
    expect(f.data[1]!.embedding).not.toEqual(v);
  });

  it('checks the bearer token when configured', async () => {
    const locked = await startSimulator({ port: 0, apiKey: 'secret', quiet: true });
    try {
      await expect(new OpenAI({ baseURL: `${locked.url}/v1`, apiKey: 'wrong', maxRetries: 0 }).models.list()).rejects.toMatchObject({ status: 401 });
      const ok = await new OpenAI({ baseURL: `${locked.url}/v1`, apiKey: 'secret', maxRetries: 0 }).models.list();
      expect(ok.data[0]!.id).toBe('llama32-fp8');
    } finally { await locked.close(); }
  });

  it('injects faults per request', async () => {
    const call = (fault: string, stream = false) => fetch(`${sim.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-sim-fault': fault },
      body: JSON.stringify({ model: 'llama32-fp8', messages: [{ role: 'user', content: TEXT }], stream }),
    });
    for (const code of [429, 500, 503]) {
      const r = await call(String(code));
      expect(r.status).toBe(code);
      expect(((await r.json()) as { error: { message: string } }).error.message).toContain('Simulated');
    }
    await expect(call('reset')).rejects.toThrow();
    const mid = await call('reset-mid', true);
    expect(mid.status).toBe(200);
    await expect(mid.text()).rejects.toThrow();
    const ac = new AbortController();
    const hang = call('hang');
    setTimeout(() => ac.abort(), 200);
    await expect(Promise.race([hang, new Promise((_, rej) => ac.signal.addEventListener('abort', () => rej(new Error('hung'))))])).rejects.toThrow('hung');
  });

  it('honours time to first token', async () => {
    const t0 = performance.now();
    const r = await fetch(`${sim.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-sim-ttft-ms': '150' },
      body: JSON.stringify({ model: 'llama32-fp8', messages: [{ role: 'user', content: TEXT }] }),
    });
    await r.json();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(145);
  });

  it('answers unknown models and paths with OpenAI-format errors', async () => {
    await expect(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 404 });
    const r = await fetch(`${sim.url}/v1/nothing`, { method: 'POST', body: '{}' });
    expect(r.status).toBe(404);
  });
});
