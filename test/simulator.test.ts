/**
 * The simulator as the official openai client sees it: deterministic
 * extractive text, usage consistent between JSON and SSE, embeddings, auth,
 * every fault kind, latency knobs, and client disconnects.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { startSimulator, type RunningSimulator } from '../src/simulator/server.js';
import { countTokens, summarize, tokenize, FALLBACK_TEXT } from '../src/simulator/text.js';

const MODEL = 'llama32-fp8';
const TEXT = 'The gateway meters requests. Budgets are exact at 0.15 per 1M! Keys rotate? This fourth sentence is left out.';
const SUMMARY = 'The gateway meters requests. Budgets are exact at 0.15 per 1M! Keys rotate?';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const t0 = Date.now();
  while (!cond() && Date.now() - t0 < ms) await sleep(10);
}

describe('simulator text', () => {
  it('tokenizes losslessly and counts what it tokenizes', () => {
    for (const t of ['', '  lead', 'Hello,   world!\n', 'Supercalifragilisticexpialidocious words split.', 'emoji 😀😀😀😀😀😀😀😀 ok', 'tab\tand\nnewline ']) {
      expect(tokenize(t).join('')).toBe(t);
      expect(countTokens(t)).toBe(tokenize(t).length);
    }
    expect(tokenize('a bb ccc')).toEqual(['a ', 'bb ', 'ccc']);
    expect(tokenize('abcdefghijk next')).toEqual(['abcdefgh', 'ijk ', 'next']);
  });

  it('summarises with the leading sentences, or a fixed sentence without text', () => {
    expect(summarize(TEXT)).toBe(SUMMARY);
    expect(summarize('  one\n\nline   without end  ')).toBe('one line without end');
    expect(summarize('')).toBe(FALLBACK_TEXT);
  });
});

describe('simulator', () => {
  let sim: RunningSimulator;
  let client: OpenAI;
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, servedModelName: `${MODEL}, other`, quiet: true });
    client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'x', maxRetries: 0 });
  });
  afterAll(async () => { await sim?.close(); });

  const chat = (extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) => client.chat.completions.create({
    model: MODEL, messages: [{ role: 'system', content: 'Summarize.' }, { role: 'user', content: TEXT }], ...extra,
  });

  it('serves health and a vLLM-shaped model list', async () => {
    const h = await fetch(`${sim.url}/health`);
    expect(h.status).toBe(200);
    expect(await h.json()).toEqual({ status: 'ok' });
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([MODEL, 'other']);
    expect(models.data[0]).toMatchObject({ object: 'model', owned_by: 'vllm', root: MODEL, max_model_len: 8192 });
  });

  it('answers chat with the leading sentences of the last user message, deterministically, with consistent usage', async () => {
    const r = await chat();
    expect(r.object).toBe('chat.completion');
    expect(r.id).toMatch(/^chatcmpl-/);
    expect(r.model).toBe(MODEL);
    expect(r.choices[0]!.message).toMatchObject({ role: 'assistant', content: SUMMARY });
    expect(r.choices[0]!.finish_reason).toBe('stop');
    expect(r.usage).toEqual({
      prompt_tokens: 4 + countTokens('Summarize.') + 4 + countTokens(TEXT),
      completion_tokens: tokenize(SUMMARY).length,
      total_tokens: 4 + countTokens('Summarize.') + 4 + countTokens(TEXT) + tokenize(SUMMARY).length,
    });
    const again = await chat();
    expect(again.choices[0]!.message.content).toBe(r.choices[0]!.message.content);
    const other = await client.chat.completions.create({ model: 'other', messages: [{ role: 'user', content: TEXT }] });
    expect(other.model).toBe('other');
  });

  it('uses the text parts of array content, and a fixed sentence when there is no text', async () => {
    const parts = await client.chat.completions.create({ model: MODEL, messages: [
      { role: 'user', content: 'An earlier question.' }, { role: 'assistant', content: 'An answer.' },
      { role: 'user', content: [{ type: 'text', text: 'First part.' }, { type: 'image_url', image_url: { url: 'data:,' } }, { type: 'text', text: 'Second part.' }] },
    ] });
    expect(parts.choices[0]!.message.content).toBe('First part. Second part.');
    const empty = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: '' }] });
    expect(empty.choices[0]!.message.content).toBe(FALLBACK_TEXT);
  });

  it('truncates at max_tokens / max_completion_tokens with finish_reason length', async () => {
    for (const extra of [{ max_tokens: 3 }, { max_completion_tokens: 3 }]) {
      const r = await chat(extra);
      expect(r.choices[0]!.finish_reason).toBe('length');
      expect(r.usage!.completion_tokens).toBe(3);
      expect(r.choices[0]!.message.content).toBe(tokenize(SUMMARY).slice(0, 3).join(''));
    }
  });

  it('never generates beyond the context window', async () => {
    const small = await startSimulator({ port: 0, maxModelLen: 30, quiet: true });
    try {
      const c = new OpenAI({ baseURL: `${small.url}/v1`, apiKey: 'x', maxRetries: 0 });
      const r = await c.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: TEXT }], max_tokens: 1000 });
      expect(r.usage!.prompt_tokens).toBe(4 + countTokens(TEXT)); // 24
      expect(r.usage!.total_tokens).toBe(30);
      expect(r.choices[0]!.finish_reason).toBe('length');
      await expect(c.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'word '.repeat(40) }] })).rejects.toMatchObject({ status: 400 });
    } finally { await small.close(); }
  });

  it('streams the same text, one chunk per token, with a usage chunk only when asked', async () => {
    const full = await chat();
    for (const include of [false, true]) {
      const s = await client.chat.completions.create({
        model: MODEL, messages: [{ role: 'system', content: 'Summarize.' }, { role: 'user', content: TEXT }], stream: true,
        ...(include ? { stream_options: { include_usage: true } } : {}),
      });
      let text = '';
      let usage: OpenAI.CompletionUsage | null | undefined;
      let contentChunks = 0;
      let role: string | undefined;
      const finishes: Array<string | null> = [];
      for await (const c of s) {
        expect(c.object).toBe('chat.completion.chunk');
        if (include) expect(c).toHaveProperty('usage'); else expect(c).not.toHaveProperty('usage');
        if (c.usage) { expect(c.choices).toEqual([]); usage = c.usage; }
        const choice = c.choices[0];
        if (!choice) continue;
        role ??= choice.delta.role;
        if (choice.delta.content) { text += choice.delta.content; contentChunks++; }
        finishes.push(choice.finish_reason);
      }
      expect(role).toBe('assistant');
      expect(text).toBe(full.choices[0]!.message.content);
      expect(contentChunks).toBe(full.usage!.completion_tokens);
      expect(finishes.at(-1)).toBe('stop');
      expect(finishes.slice(0, -1).every((f) => f === null)).toBe(true);
      if (include) expect(usage).toEqual(full.usage);
      else expect(usage).toBeUndefined();
    }
  });

  it('frames SSE exactly: usage:null on every chunk, a final choices:[] usage chunk, then [DONE]', async () => {
    const r = await fetch(`${sim.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Two words.' }], stream: true, stream_options: { include_usage: true } }),
    });
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    const events = (await r.text()).split('\n\n').filter(Boolean);
    expect(events.every((e) => e.startsWith('data: '))).toBe(true);
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)));
    expect(chunks.map((c) => c.choices[0]?.delta)).toEqual([{ role: 'assistant', content: '' }, { content: 'Two ' }, { content: 'words.' }, undefined]);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks[2].choices[0].finish_reason).toBe('stop');
    expect(chunks[3]).toMatchObject({ choices: [], usage: { prompt_tokens: 6, completion_tokens: 2, total_tokens: 8 } });
  });

  it('serves completions, streamed and not, with equal usage', async () => {
    const r = await client.completions.create({ model: MODEL, prompt: TEXT, max_tokens: 5 });
    expect(r.object).toBe('text_completion');
    expect(r.choices[0]!.text).toBe('The gateway meters requests. '); // 'requests.' is 9 characters: two tokens
    expect(r.choices[0]!.finish_reason).toBe('length');
    expect(r.usage).toEqual({ prompt_tokens: countTokens(TEXT), completion_tokens: 5, total_tokens: countTokens(TEXT) + 5 });
    const s = await client.completions.create({ model: MODEL, prompt: TEXT, max_tokens: 5, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    let pieces = 0;
    for await (const c of s) {
      if (c.usage) usage = c.usage;
      if (c.choices[0]?.text) { text += c.choices[0].text; pieces++; }
    }
    expect(text).toBe(r.choices[0]!.text);
    expect(pieces).toBe(5);
    // The same prompt again: vLLM's prefix cache now holds its first block.
    expect(usage).toEqual({ ...r.usage, prompt_tokens_details: { cached_tokens: 16 } });
  });

  it('returns deterministic unit embeddings, as floats and as base64', async () => {
    const f = await client.embeddings.create({ model: MODEL, input: ['alpha', 'beta'], encoding_format: 'float' });
    const b = await client.embeddings.create({ model: MODEL, input: 'alpha' }); // the client asks for base64 and decodes it
    expect(f.object).toBe('list');
    expect(f.model).toBe(MODEL);
    expect(f.data.map((d) => d.index)).toEqual([0, 1]);
    expect(f.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 });
    const v = f.data[0]!.embedding;
    expect(v).toHaveLength(384);
    expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    expect(b.data[0]!.embedding).toEqual(v); // float32 values, exactly
    expect(f.data[1]!.embedding).not.toEqual(v);
    const again = await client.embeddings.create({ model: MODEL, input: ['alpha'], encoding_format: 'float' });
    expect(again.data[0]!.embedding).toEqual(v);
    const small = await client.embeddings.create({ model: MODEL, input: [[1, 2, 3]], dimensions: 16, encoding_format: 'float' });
    expect(small.data[0]!.embedding).toHaveLength(16);
    expect(small.usage.prompt_tokens).toBe(3);
    expect(Math.hypot(...small.data[0]!.embedding)).toBeCloseTo(1, 5);
  });

  it('checks the bearer token when configured', async () => {
    const locked = await startSimulator({ port: 0, apiKey: 'secret', quiet: true });
    try {
      const wrong = new OpenAI({ baseURL: `${locked.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
      const err = await wrong.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((err as OpenAI.APIError).error).toEqual({ message: expect.any(String), type: 'invalid_request_error', param: null, code: 'invalid_api_key' });
      const ok = await new OpenAI({ baseURL: `${locked.url}/v1`, apiKey: 'secret', maxRetries: 0 }).models.list();
      expect(ok.data[0]!.id).toBe(MODEL);
      expect((await fetch(`${locked.url}/health`)).status).toBe(200);
    } finally { await locked.close(); }
  });

  it('answers bad requests with OpenAI-format errors', async () => {
    await expect(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client.chat.completions.create({ model: MODEL, messages: [] })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], max_tokens: 0 })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    const post = (path: string, body: string) => fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    for (const [path, body, status] of [
      ['/v1/chat/completions', '{not json', 400], ['/v1/chat/completions', '[1]', 400], ['/v1/chat/completions', '{"model":"llama32-fp8"}', 400],
      ['/v1/chat/completions', '{"messages":[null]}', 400], ['/v1/completions', '{"prompt":{}}', 400], ['/v1/embeddings', '{"input":[{}]}', 400],
      ['/v1/embeddings', '{"input":"x","dimensions":1e12}', 400], ['/v1/nothing', '{}', 404],
    ] as const) {
      const r = await post(path, body);
      expect(r.status, `${path} ${body}`).toBe(status);
      const e = (await r.json()) as { error: Record<string, unknown> };
      expect(Object.keys(e.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    }
  });

  describe('faults, as the client sees them', () => {
    const call = (fault: string, stream = false, c = client) => c.chat.completions.create(
      { model: MODEL, messages: [{ role: 'user', content: TEXT }], stream }, { headers: { 'x-sim-fault': fault } },
    );

    it('429 with retry-after, 500 and 503', async () => {
      const e429 = await call('429').catch((e: unknown) => e) as OpenAI.APIError;
      expect(e429).toBeInstanceOf(OpenAI.RateLimitError);
      expect(e429.headers?.get('retry-after')).toBe('1');
      expect(e429.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded', param: null });
      await expect(call('500')).rejects.toMatchObject({ status: 500 });
      await expect(call('500')).rejects.toBeInstanceOf(OpenAI.InternalServerError);
      await expect(call('503')).rejects.toMatchObject({ status: 503 });
    });

    it('reset: the connection drops before any byte', async () => {
      const e = await call('reset').catch((x: unknown) => x);
      expect(e).toBeInstanceOf(OpenAI.APIConnectionError);
    });

    it('reset-mid: some chunks, then the connection drops', async () => {
      const s = await call('reset-mid', true);
      let text = '';
      const e = await (async () => { for await (const c of s) text += c.choices[0]?.delta?.content ?? ''; })().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(Error);
      expect(text.length).toBeGreaterThan(0);
      expect(SUMMARY.startsWith(text) && text !== SUMMARY).toBe(true);
      await expect(call('reset-mid', false)).rejects.toBeInstanceOf(Error);
    });

    it('hang: no answer until the client gives up, which counts as an abort', async () => {
      const before = sim.stats.aborted;
      const impatient = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 300 });
      const t0 = performance.now();
      await expect(call('hang', false, impatient)).rejects.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
      await until(() => sim.stats.aborted > before);
      expect(sim.stats.aborted).toBe(before + 1);
    });

    it('by rate, from the options', async () => {
      const failing = await startSimulator({ port: 0, faultRate: 1, faultKind: '503', quiet: true });
      try {
        const c = new OpenAI({ baseURL: `${failing.url}/v1`, apiKey: 'x', maxRetries: 0 });
        await expect(c.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 503 });
        await expect(c.embeddings.create({ model: MODEL, input: 'x' })).rejects.toMatchObject({ status: 503 });
        expect(failing.stats.requests).toBe(2);
      } finally { await failing.close(); }
    });
  });

  it('honours time to first token, per request and by option', async () => {
    let t0 = performance.now();
    await chat({}).then(() => undefined);
    const fast = performance.now() - t0;
    t0 = performance.now();
    await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: TEXT }] }, { headers: { 'x-sim-ttft-ms': '150' } });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(148);
    expect(fast).toBeLessThan(148);

    const slow = await startSimulator({ port: 0, ttftMs: 120, quiet: true });
    try {
      const c = new OpenAI({ baseURL: `${slow.url}/v1`, apiKey: 'x', maxRetries: 0 });
      t0 = performance.now();
      const s = await c.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: TEXT }], stream: true });
      for await (const chunk of s) { void chunk; break; }
      expect(performance.now() - t0).toBeGreaterThanOrEqual(118);
    } finally { await slow.close(); }
  });

  it('spaces streamed tokens by the inter-token latency', async () => {
    const t0 = performance.now();
    const stamps: number[] = [];
    const s = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'one two three four five' }], stream: true }, { headers: { 'x-sim-itl-ms': '40' } });
    for await (const c of s) if (c.choices[0]?.delta?.content) stamps.push(performance.now() - t0);
    expect(stamps).toHaveLength(5);
    // The server sleeps 40 ms between the five tokens, so the last cannot arrive sooner than 4 × 40 ms after the
    // request (measured from the start: gaps seen by a busy client can shrink when chunks arrive together).
    expect(stamps.at(-1)!).toBeGreaterThanOrEqual(4 * 40 - 2);
  });

  it('stops generating when the client disconnects mid-stream, and counts it', async () => {
    const before = sim.stats.aborted;
    const ac = new AbortController();
    const s = await client.chat.completions.create(
      { model: MODEL, messages: [{ role: 'user', content: 'word '.repeat(300) }], max_tokens: 200, stream: true },
      { headers: { 'x-sim-itl-ms': '20' }, signal: ac.signal },
    );
    let pieces = 0;
    await (async () => { for await (const c of s) { if (c.choices[0]?.delta?.content && ++pieces === 3) ac.abort(); } })().catch(() => undefined);
    await until(() => sim.stats.aborted > before);
    expect(sim.stats.aborted).toBe(before + 1);
    // The server is still fine for the next request.
    expect((await chat()).choices[0]!.message.content).toBe(SUMMARY);
  });
});
