/**
 * One contract, every endpoint descriptor (src/gateway/endpoints), on
 * PostgreSQL and PGlite: authentication and scope refused in the endpoint's
 * own error format (Anthropic's on /v1/messages), a model of the wrong kind
 * and a bad body refused with the field named, budgets enforced (free
 * endpoints excepted), and what is billed — read back from usage_events by
 * the request's id — equal to the usage the client itself was shown, priced
 * exactly (cached input, audio minutes, per-request fee), streamed or not;
 * a client that leaves mid-stream is billed; the upstream's model name never
 * shows. The usage readers here are the test's own, written from the APIs'
 * documented shapes, not the gateway's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENDPOINTS, type EndpointName } from '../src/gateway/endpoints/index.js';
import { toPico } from '../src/shared/money.js';
import { settle, startSystem, type StoreKind, type System } from './helpers/system.js';

const UPSTREAM = 'llama32-fp8';
const TEXT = 'The gateway meters every request exactly. Budgets hold across restarts. Keys rotate without downtime. Usage is exported per day.';

/** Prices per model (decimal strings, per 1M tokens / per minute / per request). */
const MODELS = {
  'k-chat': { kind: 'chat', inputPricePer1M: '0.15', outputPricePer1M: '0.60', cachedInputPricePer1M: '0.075', requestPrice: '0.0001', contextLength: 8192 },
  'k-embed': { kind: 'embedding', inputPricePer1M: '0.02', outputPricePer1M: '0', contextLength: 512 },
  'k-rerank': { kind: 'rerank', inputPricePer1M: '0.03', outputPricePer1M: '0', requestPrice: '0.0002', contextLength: 512 },
  'k-audio': { kind: 'audio', inputPricePer1M: '0.10', outputPricePer1M: '0.20', audioPricePerMinute: '0.006', contextLength: 448 },
} as const;
type ModelId = keyof typeof MODELS;

/** A PCM WAV file: 16 kHz, mono, 16-bit, `ms` long. */
function wav(ms: number): Buffer {
  const data = Math.round((16_000 * 2 * ms) / 1000);
  const b = Buffer.alloc(44 + data);
  b.write('RIFF', 0, 'latin1'); b.writeUInt32LE(36 + data, 4); b.write('WAVE', 8, 'latin1');
  b.write('fmt ', 12, 'latin1'); b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
  b.writeUInt32LE(16_000, 24); b.writeUInt32LE(32_000, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34);
  b.write('data', 36, 'latin1'); b.writeUInt32LE(data, 40);
  return b;
}
const AUDIO_MS = 1500;

interface Billed { prompt: number; completion: number; cached: number; audioMs: number }
interface Sse { event: string; data: any }

/** One endpoint's contract inputs and the client's own reading of its usage. */
interface Case {
  name: EndpointName;
  path: string;
  model: ModelId;
  /** A model the endpoint must refuse. */
  wrongKind: ModelId;
  format: 'openai' | 'anthropic';
  free?: boolean;
  body(model: string, stream: boolean): Record<string, unknown>;
  /** A body missing what the API requires, and the field the error names. */
  invalid: { body: Record<string, unknown>; field: string };
  multipart?: boolean;
  streams: boolean;
  usage(body: any): Billed;
  streamUsage?(events: Sse[]): Billed;
  text?(body: any): string;
  streamText?(events: Sse[]): string;
}

const openaiUsage = (u: any): Billed => ({ prompt: u?.prompt_tokens ?? 0, completion: u?.completion_tokens ?? 0, cached: u?.prompt_tokens_details?.cached_tokens ?? 0, audioMs: 0 });
const lastUsage = (events: Sse[]) => openaiUsage([...events].reverse().find((e) => e.data?.usage)?.data.usage);
const chatMessages = [{ role: 'user', content: TEXT }];

const CASES: Case[] = [
  {
    name: 'chat', path: '/v1/chat/completions', model: 'k-chat', wrongKind: 'k-embed', format: 'openai', streams: true,
    body: (model, stream) => ({ model, messages: chatMessages, max_tokens: 40, ...(stream ? { stream, stream_options: { include_usage: true } } : {}) }),
    invalid: { body: { messages: 'hi' }, field: 'messages' },
    usage: (b) => openaiUsage(b.usage), streamUsage: lastUsage,
    text: (b) => b.choices[0].message.content, streamText: (ev) => ev.map((e) => e.data?.choices?.[0]?.delta?.content ?? '').join(''),
  },
  {
    name: 'completions', path: '/v1/completions', model: 'k-chat', wrongKind: 'k-rerank', format: 'openai', streams: true,
    body: (model, stream) => ({ model, prompt: TEXT, max_tokens: 40, ...(stream ? { stream, stream_options: { include_usage: true } } : {}) }),
    invalid: { body: { prompt: 42 }, field: 'prompt' },
    usage: (b) => openaiUsage(b.usage), streamUsage: lastUsage,
    text: (b) => b.choices[0].text, streamText: (ev) => ev.map((e) => e.data?.choices?.[0]?.text ?? '').join(''),
  },
  {
    name: 'embeddings', path: '/v1/embeddings', model: 'k-embed', wrongKind: 'k-chat', format: 'openai', streams: false,
    body: (model) => ({ model, input: ['alpha beta', 'gamma'] }),
    invalid: { body: { input: [] }, field: 'input' },
    usage: (b) => openaiUsage(b.usage),
  },
  {
    name: 'responses', path: '/v1/responses', model: 'k-chat', wrongKind: 'k-audio', format: 'openai', streams: true,
    body: (model, stream) => ({ model, input: TEXT, max_output_tokens: 40, ...(stream ? { stream } : {}) }),
    invalid: { body: { input: 7 }, field: 'input' },
    usage: (b) => ({ prompt: b.usage.input_tokens, completion: b.usage.output_tokens, cached: b.usage.input_tokens_details?.cached_tokens ?? 0, audioMs: 0 }),
    streamUsage: (ev) => {
      const u = ev.find((e) => e.event === 'response.completed')!.data.response.usage;
      return { prompt: u.input_tokens, completion: u.output_tokens, cached: u.input_tokens_details?.cached_tokens ?? 0, audioMs: 0 };
    },
    text: (b) => b.output.flatMap((o: any) => o.content ?? []).map((c: any) => c.text).join(''),
    streamText: (ev) => ev.filter((e) => e.event === 'response.output_text.delta').map((e) => e.data.delta).join(''),
  },
  {
    name: 'messages', path: '/v1/messages', model: 'k-chat', wrongKind: 'k-embed', format: 'anthropic', streams: true,
    body: (model, stream) => ({ model, max_tokens: 40, messages: chatMessages, ...(stream ? { stream } : {}) }),
    invalid: { body: { messages: chatMessages }, field: 'max_tokens' },
    usage: (b) => ({ prompt: b.usage.input_tokens + (b.usage.cache_read_input_tokens ?? 0), completion: b.usage.output_tokens, cached: b.usage.cache_read_input_tokens ?? 0, audioMs: 0 }),
    streamUsage: (ev) => {
      const start = ev.find((e) => e.event === 'message_start')!.data.message.usage;
      const delta = [...ev].reverse().find((e) => e.event === 'message_delta')!.data.usage;
      const input = (delta.input_tokens ?? start.input_tokens) + (delta.cache_read_input_tokens ?? start.cache_read_input_tokens ?? 0);
      return { prompt: input, completion: delta.output_tokens, cached: delta.cache_read_input_tokens ?? start.cache_read_input_tokens ?? 0, audioMs: 0 };
    },
    text: (b) => b.content.map((c: any) => c.text ?? '').join(''),
    streamText: (ev) => ev.filter((e) => e.event === 'content_block_delta').map((e) => e.data.delta.text ?? '').join(''),
  },
  {
    name: 'count_tokens', path: '/v1/messages/count_tokens', model: 'k-chat', wrongKind: 'k-rerank', format: 'anthropic', free: true, streams: false,
    body: (model) => ({ model, messages: chatMessages }),
    invalid: { body: {}, field: 'messages' },
    usage: () => ({ prompt: 0, completion: 0, cached: 0, audioMs: 0 }),
  },
  {
    name: 'rerank', path: '/v2/rerank', model: 'k-rerank', wrongKind: 'k-chat', format: 'openai', streams: false,
    body: (model) => ({ model, query: 'what meters requests?', documents: ['The gateway meters requests.', 'Cats sleep all day.', 'Budgets are exact.'] }),
    invalid: { body: { query: 'q' }, field: 'documents' },
    usage: (b) => ({ prompt: b.usage.prompt_tokens ?? b.usage.total_tokens, completion: 0, cached: 0, audioMs: 0 }),
  },
  {
    name: 'score', path: '/score', model: 'k-rerank', wrongKind: 'k-audio', format: 'openai', streams: false,
    body: (model) => ({ model, text_1: 'what meters requests?', text_2: ['The gateway meters requests.', 'Cats sleep.'] }),
    invalid: { body: { text_2: 'x' }, field: 'text_1' },
    usage: (b) => ({ prompt: b.usage.prompt_tokens, completion: 0, cached: 0, audioMs: 0 }),
  },
  {
    name: 'transcriptions', path: '/v1/audio/transcriptions', model: 'k-audio', wrongKind: 'k-chat', format: 'openai', multipart: true, streams: true,
    body: (model, stream) => ({ model, language: 'en', ...(stream ? { stream: 'true', stream_include_usage: 'true' } : {}) }),
    invalid: { body: {}, field: 'file' },
    // The upstream reports whole seconds of audio; a translation reports none, and the WAV's own duration is billed.
    usage: (b) => ({ prompt: 0, completion: 0, cached: 0, audioMs: b.usage?.type === 'duration' ? b.usage.seconds * 1000 : AUDIO_MS }),
    streamUsage: (ev) => ({ ...lastUsage(ev), audioMs: AUDIO_MS }),
    text: (b) => b.text, streamText: (ev) => ev.map((e) => e.data?.choices?.[0]?.delta?.content ?? '').join(''),
  },
  {
    name: 'translations', path: '/v1/audio/translations', model: 'k-audio', wrongKind: 'k-embed', format: 'openai', multipart: true, streams: false,
    body: (model) => ({ model }),
    invalid: { body: {}, field: 'file' },
    usage: (b) => ({ prompt: 0, completion: 0, cached: 0, audioMs: b.usage?.type === 'duration' ? b.usage.seconds * 1000 : AUDIO_MS }),
    text: (b) => b.text,
  },
  {
    name: 'tokenize', path: '/tokenize', model: 'k-chat', wrongKind: 'k-audio', format: 'openai', free: true, streams: false,
    body: (model) => ({ model, prompt: TEXT }),
    invalid: { body: { prompt: 3 }, field: 'prompt' },
    usage: () => ({ prompt: 0, completion: 0, cached: 0, audioMs: 0 }),
  },
  {
    name: 'detokenize', path: '/detokenize', model: 'k-chat', wrongKind: 'k-audio', format: 'openai', free: true, streams: false,
    body: (model) => ({ model, tokens: knownTokens }),
    invalid: { body: { tokens: 'abc' }, field: 'tokens' },
    usage: () => ({ prompt: 0, completion: 0, cached: 0, audioMs: 0 }),
  },
];

/** Token ids the upstream gave for TEXT (its vocabulary is what it has tokenized). */
let knownTokens: number[] = [];

/** The exact cost of what was billed, in pico-units: the test's own formula. */
function expectedCost(model: ModelId, u: Billed, free: boolean): bigint {
  if (free) return 0n;
  const m = MODELS[model] as Record<string, string | number>;
  const perToken = (v: unknown) => toPico(String(v ?? '0')) / 1_000_000n;
  const input = perToken(m.inputPricePer1M);
  const cached = m.cachedInputPricePer1M === undefined ? input : perToken(m.cachedInputPricePer1M);
  let cost = BigInt(u.prompt - u.cached) * input + BigInt(u.cached) * cached + BigInt(u.completion) * perToken(m.outputPricePer1M);
  cost += toPico(String(m.requestPrice ?? '0'));
  const perMinute = toPico(String(m.audioPricePerMinute ?? '0'));
  cost += (BigInt(u.audioMs) * perMinute + 59_999n) / 60_000n;
  return cost;
}

function parseSse(text: string): Sse[] {
  const out: Sse[] = [];
  for (const block of text.split('\n\n')) {
    if (!block.trim()) continue;
    let event = '';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
    }
    const d = data.join('\n');
    out.push({ event, data: d === '[DONE]' ? '[DONE]' : JSON.parse(d) });
  }
  return out;
}

// vLLM's own framing (LF, compact JSON) on both stores, and an upstream framed otherwise (CRLF, Python's spaced JSON).
const RUNS: Array<{ store: StoreKind; framing: 'lf' | 'crlf' }> = [{ store: 'pglite', framing: 'lf' }, { store: 'postgres', framing: 'lf' }, { store: 'pglite', framing: 'crlf' }];

for (const { store, framing } of RUNS) {
  describe(`endpoint contract on ${store}, upstream framed ${framing === 'lf' ? 'LF, compact JSON' : 'CRLF, spaced JSON'}`, () => {
    let sys: System;
    const keys: Record<'all' | 'narrow' | 'poor', { id: string; key: string }> = {} as never;

    beforeAll(async () => {
      // A little time between tokens, so a client can leave mid-stream.
      sys = await startSystem(store, { itlMs: 3, ...(framing === 'crlf' ? { sseLineEnding: 'crlf', sseJson: 'spaced' } : {}) });
      for (const [id, m] of Object.entries(MODELS)) {
        const r = await sys.admin('POST', '/admin/models', { id, ...m, deployments: [{ url: `${sys.sim.url}/v1`, upstreamModel: UPSTREAM }] });
        expect(r.status, JSON.stringify(r.body)).toBe(201);
      }
      const all = Object.keys(MODELS);
      const u = await sys.admin('POST', '/admin/users', { username: `contract-${store}-${framing}` });
      for (const modelId of all) expect((await sys.admin('POST', `/admin/users/${u.body.id}/subscriptions`, { modelId })).status).toBe(201);
      const mk = async (name: string, extra: Record<string, unknown>) => {
        const k = await sys.admin('POST', `/admin/users/${u.body.id}/api-keys`, { name, ...extra });
        expect(k.status, JSON.stringify(k.body)).toBe(201);
        return { id: k.body.id as string, key: k.body.key as string };
      };
      keys.all = await mk('all', { models: all });
      keys.narrow = await mk('narrow', { models: ['k-embed'] });
      keys.poor = await mk('poor', { models: all, maxBudget: 0 });
      const t = await fetch(`${sys.url}/tokenize`, { method: 'POST', headers: { authorization: `Bearer ${keys.all.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'k-chat', prompt: TEXT }) });
      knownTokens = ((await t.json()) as { tokens: number[] }).tokens.slice(0, 5);
    });
    afterAll(async () => { await sys?.close(); });

    async function call(c: Case, opts: { key?: string | null; body?: Record<string, unknown>; model?: string; stream?: boolean; anthropicHeader?: boolean } = {}) {
      const headers: Record<string, string> = {};
      const k = opts.key === undefined ? keys.all.key : opts.key;
      // Anthropic's clients send the key as x-api-key; everyone else as a bearer token.
      if (k) { if (c.format === 'anthropic') headers['x-api-key'] = k; else headers.authorization = `Bearer ${k}`; }
      const fields = opts.body ?? c.body(opts.model ?? c.model, opts.stream ?? false);
      let body: BodyInit;
      if (c.multipart) {
        const form = new FormData();
        if (!opts.body) form.append('file', new Blob([wav(AUDIO_MS)], { type: 'audio/wav' }), 'speech.wav');
        for (const [f, v] of Object.entries({ model: opts.model ?? c.model, ...fields })) form.append(f, String(v));
        body = form;
      } else {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(opts.body ? { model: opts.model ?? c.model, ...opts.body } : fields);
      }
      const res = await fetch(sys.url + c.path, { method: 'POST', headers, body });
      const text = await res.text();
      return { status: res.status, id: res.headers.get('x-request-id'), text, type: res.headers.get('content-type') ?? '' };
    }

    function expectError(c: Case, r: { status: number; text: string }, status: number, field?: string) {
      expect(r.status, r.text).toBe(status);
      const b = JSON.parse(r.text);
      if (c.format === 'anthropic') {
        expect(b.type).toBe('error');
        expect(typeof b.error.type).toBe('string');
        expect(b.error.message).toMatch(/\w/);
        if (field) expect(b.error.message).toContain(field);
      } else {
        expect(typeof b.error.message).toBe('string');
        expect(typeof b.error.type).toBe('string');
        if (field) expect(b.error.param ?? b.error.message).toContain(field);
      }
    }

    async function billed(id: string) {
      await settle(sys);
      return sys.server.store.db.selectFrom('usage_events').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    }

    it('serves exactly the endpoints the table declares', () => {
      expect(CASES.map((c) => c.name).sort()).toEqual(ENDPOINTS.map((e) => e.name).sort());
    });

    for (const c of CASES) {
      describe(c.name, () => {
        it('refuses a missing key, a key without the model, and a model of the wrong kind, in its own error format', async () => {
          expectError(c, await call(c, { key: null }), 401);
          expectError(c, await call(c, { key: 'sk-not-a-key' }), 401);
          if (c.model !== 'k-embed') expectError(c, await call(c, { key: keys.narrow.key }), 403);
          const wrong = await call(c, { model: c.wrongKind });
          expectError(c, wrong, 400, 'model');
          expect(JSON.parse(wrong.text).error.message).toContain(MODELS[c.wrongKind].kind);
        });

        it('refuses a body the API does not accept with a 400 naming the field', async () => {
          expectError(c, await call(c, { body: c.invalid.body }), 400, c.invalid.field);
        });

        it(c.free ? 'is free: served even on an exhausted budget, billed 0' : 'is refused when the budget cannot cover it', async () => {
          const r = await call(c, { key: keys.poor.key });
          if (c.free) {
            expect(r.status, r.text).toBe(200);
            expect((await billed(r.id!)).cost).toMatch(/^0(\.0+)?$/);
          } else {
            expectError(c, r, 429);
            expect(r.text).toMatch(/budget/i);
          }
        });

        it('bills exactly the usage the client was shown', async () => {
          const r = await call(c);
          expect(r.status, r.text).toBe(200);
          expect(r.text).not.toContain(UPSTREAM);
          const body = JSON.parse(r.text);
          if ('model' in body) expect(body.model).toBe(c.model);
          if (c.text) expect(c.text(body).length).toBeGreaterThan(0);
          const seen = c.usage(body);
          const e = await billed(r.id!);
          expect(e.endpoint).toBe(c.name);
          expect(e.status).toBe(200);
          expect(e.estimated).toBe(false);
          if (!c.free) expect(e.prompt_tokens + e.completion_tokens + e.audio_ms).toBeGreaterThan(0);
          expect({ prompt: e.prompt_tokens, completion: e.completion_tokens, cached: e.cached_tokens, audioMs: e.audio_ms }).toEqual(seen);
          expect(toPico(e.cost)).toBe(expectedCost(c.model, seen, !!c.free));
        });

        if (c.streams) {
          it('bills exactly the usage the client was shown when streamed, with each increment relayed', async () => {
            const r = await call(c, { stream: true });
            expect(r.status, r.text).toBe(200);
            expect(r.type).toMatch(/^text\/event-stream/);
            expect(r.text).not.toContain(UPSTREAM);
            const events = parseSse(r.text);
            expect(c.streamText!(events).length).toBeGreaterThan(0);
            expect(events.filter((ev) => c.streamText!([ev]).length > 0).length).toBeGreaterThan(1);
            const seen = c.streamUsage!(events);
            const e = await billed(r.id!);
            expect(e.stream).toBe(true);
            expect(e.estimated).toBe(false);
            expect({ prompt: e.prompt_tokens, completion: e.completion_tokens, cached: e.cached_tokens, audioMs: e.audio_ms }).toEqual(seen);
            expect(toPico(e.cost)).toBe(expectedCost(c.model, seen, false));
            // The same request unstreamed says the same.
            const whole = c.text?.(JSON.parse((await call(c)).text));
            if (whole !== undefined) expect(c.streamText!(events)).toBe(whole);
          });

          it('bills a client that leaves mid-stream', async () => {
            const ac = new AbortController();
            const headers: Record<string, string> = c.format === 'anthropic' ? { 'x-api-key': keys.all.key } : { authorization: `Bearer ${keys.all.key}` };
            let body: BodyInit;
            if (c.multipart) {
              const form = new FormData();
              form.append('file', new Blob([wav(60_000)], { type: 'audio/wav' }), 'long.wav');
              for (const [f, v] of Object.entries(c.body(c.model, true))) form.append(f, String(v));
              body = form;
            } else {
              headers['content-type'] = 'application/json';
              body = JSON.stringify({ ...c.body(c.model, true), ...(c.name === 'responses' ? { max_output_tokens: 2000 } : { max_tokens: 2000 }), ...(c.name === 'chat' ? { messages: [{ role: 'user', content: TEXT.repeat(30) }] } : c.name === 'completions' ? { prompt: TEXT.repeat(30) } : c.name === 'responses' ? { input: TEXT.repeat(30) } : c.name === 'messages' ? { messages: [{ role: 'user', content: TEXT.repeat(30) }] } : {}) });
            }
            const res = await fetch(sys.url + c.path, { method: 'POST', headers, body, signal: ac.signal });
            const id = res.headers.get('x-request-id')!;
            const reader = res.body!.getReader();
            let got = '';
            while (!/"(delta|content|text)"/.test(got)) {
              const { value, done } = await reader.read();
              if (done) break;
              got += new TextDecoder().decode(value);
            }
            ac.abort();
            await new Promise((r) => setTimeout(r, 200));
            const e = await billed(id);
            expect(e.status).toBe(499);
            expect(e.endpoint).toBe(c.name);
            expect(e.completion_tokens + e.audio_ms).toBeGreaterThan(0);
            expect(toPico(e.cost)).toBeGreaterThan(0n);
          });
        }
      });
    }
  });
}
