/**
 * The simulator's other vLLM APIs — Responses, Anthropic Messages, rerank and
 * score, audio, tokenize — and chat's tools, JSON schema output, logprobs,
 * images and prefix-cache usage: shapes as vLLM answers them, streamed usage
 * equal to non-streamed usage, SSE framing options, faults in each API's
 * error shape, and the official openai client against it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import OpenAI from 'openai';
import { startSimulator, type RunningSimulator } from '../src/simulator/server.js';
import { valueFor } from '../src/simulator/schema.js';
import { audioDuration, transcript } from '../src/simulator/audio.js';
import { IMAGE_TOKENS, countTokens, summarize } from '../src/simulator/text.js';

const MODEL = 'llama32-fp8';
const TEXT = 'Rerankers order documents. Gateways meter every token! Simulators answer deterministically? This sentence is dropped.';
const WEATHER = {
  type: 'object',
  properties: {
    city: { type: 'string', minLength: 2 },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
    days: { type: 'integer', minimum: 1, maximum: 7 },
  },
  required: ['city', 'unit'],
  additionalProperties: false,
};

interface Ev { event?: string; data: string }
/** Server-sent events as a client reads them (LF or CRLF). */
function parseSse(text: string): Ev[] {
  const out: Ev[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    if (!block.trim()) continue;
    const ev: Ev = { data: '' };
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event: ')) ev.event = line.slice(7);
      else if (line.startsWith('data: ')) ev.data += line.slice(6);
    }
    out.push(ev);
  }
  return out;
}
const json = (e: Ev) => JSON.parse(e.data) as Record<string, any>;

/** A small JSON Schema checker: type, enum, const, required, properties, additionalProperties, items, bounds, anyOf, $ref. */
function valid(v: unknown, s: any, root: any = s): boolean {
  if (s === true || s === undefined) return true;
  if (typeof s.$ref === 'string') return valid(v, s.$ref.slice(2).split('/').reduce((o: any, k: string) => o?.[k], root), root);
  if ('const' in s && JSON.stringify(v) !== JSON.stringify(s.const)) return false;
  if (Array.isArray(s.enum) && !s.enum.some((e: unknown) => JSON.stringify(e) === JSON.stringify(v))) return false;
  if (Array.isArray(s.anyOf) && !s.anyOf.some((b: any) => valid(v, b, root))) return false;
  const t = s.type;
  if (t === 'object') {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
    const o = v as Record<string, unknown>;
    for (const k of s.required ?? []) if (!(k in o)) return false;
    for (const [k, x] of Object.entries(o)) {
      if (s.properties?.[k]) { if (!valid(x, s.properties[k], root)) return false; } else if (s.additionalProperties === false) return false;
    }
  } else if (t === 'array') {
    if (!Array.isArray(v)) return false;
    if (s.minItems !== undefined && v.length < s.minItems) return false;
    if (s.maxItems !== undefined && v.length > s.maxItems) return false;
    if (!v.every((x) => valid(x, s.items, root))) return false;
  } else if (t === 'string') {
    if (typeof v !== 'string') return false;
    if (s.minLength !== undefined && v.length < s.minLength) return false;
    if (s.maxLength !== undefined && v.length > s.maxLength) return false;
  } else if (t === 'integer' || t === 'number') {
    if (typeof v !== 'number' || (t === 'integer' && !Number.isInteger(v))) return false;
    if (s.minimum !== undefined && v < s.minimum) return false;
    if (s.maximum !== undefined && v > s.maximum) return false;
    if (s.exclusiveMinimum !== undefined && v <= s.exclusiveMinimum) return false;
    if (s.exclusiveMaximum !== undefined && v >= s.exclusiveMaximum) return false;
  } else if (t === 'boolean') { if (typeof v !== 'boolean') return false; } else if (t === 'null') { if (v !== null) return false; }
  return true;
}

/** A WAV header for `seconds` of 16-bit mono PCM at `rate` Hz, with a LIST chunk before the data. */
function wav(seconds: number, rate = 16_000): Buffer {
  const data = Math.round(seconds * rate) * 2;
  const list = Buffer.from('LIST\x04\x00\x00\x00INFO', 'latin1');
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1'); h.writeUInt32LE(36 + list.length + data, 4); h.write('WAVE', 8, 'latin1');
  h.write('fmt ', 12, 'latin1'); h.writeUInt32LE(16, 16); h.writeUInt16LE(1, 20); h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24); h.writeUInt32LE(rate * 2, 28); h.writeUInt16LE(2, 32); h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1'); h.writeUInt32LE(data, 40);
  return Buffer.concat([h.subarray(0, 36), list, h.subarray(36), Buffer.alloc(data)]);
}

describe('simulator APIs', () => {
  let sim: RunningSimulator; // prefix cache on (the default)
  let plain: RunningSimulator; // no prompt-token details: repeated requests report identical usage
  let client: OpenAI;
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, quiet: true });
    plain = await startSimulator({ port: 0, quiet: true, promptTokensDetails: false });
    client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'x', maxRetries: 0 });
  });
  afterAll(async () => { await sim?.close(); await plain?.close(); });

  const post = (s: RunningSimulator, path: string, body: unknown, headers: Record<string, string> = {}) => fetch(`${s.url}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
  });

  describe('Responses API', () => {
    it('answers a string input, bounded by max_output_tokens, in vLLM\'s shape', async () => {
      const r = await post(plain, '/v1/responses', { model: MODEL, input: TEXT, instructions: 'Summarize.' });
      expect(r.status).toBe(200);
      const b = await r.json() as any;
      expect(b).toMatchObject({ object: 'response', model: MODEL, status: 'completed', instructions: 'Summarize.', incomplete_details: null, background: false });
      expect(b.id).toMatch(/^resp_[0-9a-f]{32}$/);
      expect(b.output).toHaveLength(1);
      expect(b.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: summarize(TEXT), annotations: [] }] });
      expect(b.output[0].id).toMatch(/^msg_/);
      const inputTokens = 2 * 4 + countTokens('Summarize.') + countTokens(TEXT);
      expect(b.usage).toEqual({
        input_tokens: inputTokens, input_tokens_details: { cached_tokens: 0, input_tokens_per_turn: [], cached_tokens_per_turn: [] },
        output_tokens: countTokens(summarize(TEXT)),
        output_tokens_details: { reasoning_tokens: 0, tool_output_tokens: 0, output_tokens_per_turn: [], tool_output_tokens_per_turn: [] },
        total_tokens: inputTokens + countTokens(summarize(TEXT)),
      });
      const cut = await (await post(plain, '/v1/responses', { model: MODEL, input: [{ role: 'user', content: [{ type: 'input_text', text: TEXT }] }], max_output_tokens: 3 })).json() as any;
      expect(cut).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, max_output_tokens: 3 });
      expect(cut.usage.output_tokens).toBe(3);
    });

    it('streams named events with sequence numbers, one delta per token, no [DONE], and the same usage', async () => {
      const req = { model: MODEL, input: TEXT, max_output_tokens: 7 };
      const full = await (await post(plain, '/v1/responses', req)).json() as any;
      const r = await post(plain, '/v1/responses', { ...req, stream: true });
      expect(r.headers.get('content-type')).toBe('text/event-stream');
      const raw = await r.text();
      expect(raw).not.toContain('[DONE]');
      const evs = parseSse(raw);
      for (const e of evs) expect(json(e).type).toBe(e.event);
      expect(evs.map((e) => json(e).sequence_number)).toEqual(evs.map((_, i) => i));
      const types = evs.map((e) => e.event);
      expect(types).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added',
        ...Array(7).fill('response.output_text.delta'), 'response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
      const deltas = evs.filter((e) => e.event === 'response.output_text.delta').map((e) => json(e).delta).join('');
      expect(deltas).toBe(full.output[0].content[0].text);
      expect(json(evs[0]!).response).toMatchObject({ status: 'in_progress', output: [], usage: null });
      const done = json(evs.at(-1)!).response;
      expect(done.usage).toEqual(full.usage);
      expect(done.status).toBe('incomplete');
      expect(done.output[0].content[0].text).toBe(deltas);
    });

    it('works with the official client, streamed and not', async () => {
      const r = await client.responses.create({ model: MODEL, input: TEXT });
      expect(r.output_text).toBe(summarize(TEXT));
      expect(r.usage?.input_tokens).toBe(4 + countTokens(TEXT));
      const s = await client.responses.create({ model: MODEL, input: TEXT, stream: true });
      let text = '';
      let completed: OpenAI.Responses.Response | undefined;
      for await (const e of s) {
        if (e.type === 'response.output_text.delta') text += e.delta;
        if (e.type === 'response.completed') completed = e.response;
      }
      expect(text).toBe(summarize(TEXT));
      expect(completed?.usage?.output_tokens).toBe(r.usage?.output_tokens);
    });

    it('stores responses: get, cancel (400: not background), delete, 404 for unknown ids; previous_response_id counts', async () => {
      const first = await (await post(plain, '/v1/responses', { model: MODEL, input: 'Hello there. Second.' })).json() as any;
      const got = await fetch(`${plain.url}/v1/responses/${first.id}`);
      expect(got.status).toBe(200);
      expect(await got.json()).toEqual(first);
      const cancel = await fetch(`${plain.url}/v1/responses/${first.id}/cancel`, { method: 'POST' });
      expect(cancel.status).toBe(400);
      expect((await cancel.json() as any).error).toMatchObject({ message: 'Cannot cancel a synchronous response.', param: 'response_id' });

      const next = await (await post(plain, '/v1/responses', { model: MODEL, input: 'And now?', previous_response_id: first.id })).json() as any;
      expect(next.previous_response_id).toBe(first.id);
      expect(next.usage.input_tokens).toBe(first.usage.input_tokens + 4 + first.usage.output_tokens + 4 + countTokens('And now?'));

      const unstored = await (await post(plain, '/v1/responses', { model: MODEL, input: 'x', store: false })).json() as any;
      expect((await fetch(`${plain.url}/v1/responses/${unstored.id}`)).status).toBe(404);

      const del = await fetch(`${plain.url}/v1/responses/${first.id}`, { method: 'DELETE' });
      expect(await del.json()).toEqual({ id: first.id, object: 'response', deleted: true });
      for (const [path, method] of [[`/v1/responses/${first.id}`, 'GET'], [`/v1/responses/${first.id}/cancel`, 'POST'], ['/v1/responses/resp_nope', 'DELETE']] as const) {
        const r = await fetch(`${plain.url}${path}`, { method });
        expect(r.status).toBe(404);
        expect((await r.json() as any).error).toMatchObject({ type: 'invalid_request_error', param: 'response_id', code: 404 });
      }
      const prev = await post(plain, '/v1/responses', { model: MODEL, input: 'x', previous_response_id: 'resp_missing' });
      expect(prev.status).toBe(404);
      expect((await prev.json() as any).error.message).toBe("Response with id 'resp_missing' not found.");
    });

    it('answers function tools with a function_call item, streamed as argument deltas', async () => {
      const tools = [{ type: 'function', name: 'get_weather', description: 'Weather', parameters: WEATHER }];
      const full = await (await post(plain, '/v1/responses', { model: MODEL, input: 'Weather in Paris?', tools })).json() as any;
      expect(full.output[0]).toMatchObject({ type: 'function_call', name: 'get_weather', status: 'completed' });
      expect(valid(JSON.parse(full.output[0].arguments), WEATHER)).toBe(true);
      const evs = parseSse(await (await post(plain, '/v1/responses', { model: MODEL, input: 'Weather in Paris?', tools, stream: true })).text());
      const args = evs.filter((e) => e.event === 'response.function_call_arguments.delta').map((e) => json(e).delta).join('');
      expect(args).toBe(full.output[0].arguments);
      expect(json(evs.find((e) => e.event === 'response.function_call_arguments.done')!).arguments).toBe(args);
      expect(json(evs.at(-1)!).response.usage).toEqual(full.usage);
      const none = await (await post(plain, '/v1/responses', { model: MODEL, input: 'Weather in Paris?', tools, tool_choice: 'none' })).json() as any;
      expect(none.output[0].type).toBe('message');
    });
  });

  describe('Anthropic Messages API', () => {
    const req = { model: MODEL, max_tokens: 100, system: [{ type: 'text', text: 'Be brief.' }], messages: [{ role: 'user', content: TEXT }] };

    it('answers in Anthropic\'s shape with usage; count_tokens counts the same prompt', async () => {
      const b = await (await post(plain, '/v1/messages', req)).json() as any;
      const input = 8 + countTokens('Be brief.') + countTokens(TEXT);
      expect(b).toEqual({ id: expect.stringMatching(/^chatcmpl-/), type: 'message', role: 'assistant', content: [{ type: 'text', text: summarize(TEXT) }],
        model: MODEL, stop_reason: 'end_turn', usage: { input_tokens: input, output_tokens: countTokens(summarize(TEXT)) } });
      const c = await (await post(plain, '/v1/messages/count_tokens', { model: MODEL, system: 'Be brief.', messages: req.messages })).json();
      expect(c).toEqual({ input_tokens: input, context_management: { original_input_tokens: input } });
      const cut = await (await post(plain, '/v1/messages', { ...req, max_tokens: 2 })).json() as any;
      expect(cut).toMatchObject({ stop_reason: 'max_tokens', usage: { output_tokens: 2 } });
    });

    it('streams vLLM\'s event sequence; message_delta carries the same usage', async () => {
      const full = await (await post(plain, '/v1/messages', req)).json() as any;
      const evs = parseSse(await (await post(plain, '/v1/messages', { ...req, stream: true })).text());
      for (const e of evs) expect(json(e).type).toBe(e.event);
      const n = countTokens(summarize(TEXT));
      expect(evs.map((e) => e.event)).toEqual(['message_start', 'content_block_start', ...Array(n).fill('content_block_delta'), 'content_block_stop', 'message_delta', 'message_stop']);
      expect(json(evs[0]!).message.usage).toEqual({ input_tokens: full.usage.input_tokens, output_tokens: 0 });
      expect(evs.filter((e) => e.event === 'content_block_delta').map((e) => json(e).delta.text).join('')).toBe(full.content[0].text);
      expect(json(evs.at(-2)!)).toEqual({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: full.usage });
    });

    it('answers tools with a tool_use block (input_json_delta when streamed)', async () => {
      const tools = [{ name: 'get_weather', description: 'Weather', input_schema: WEATHER }];
      const b = await (await post(plain, '/v1/messages', { ...req, tools, tool_choice: { type: 'any' } })).json() as any;
      expect(b.stop_reason).toBe('tool_use');
      expect(b.content[0]).toMatchObject({ type: 'tool_use', name: 'get_weather' });
      expect(valid(b.content[0].input, WEATHER)).toBe(true);
      const evs = parseSse(await (await post(plain, '/v1/messages', { ...req, tools, stream: true })).text());
      expect(json(evs[1]!).content_block).toMatchObject({ type: 'tool_use', name: 'get_weather', input: {} });
      const partial = evs.filter((e) => e.event === 'content_block_delta').map((e) => json(e).delta.partial_json).join('');
      expect(JSON.parse(partial)).toEqual(b.content[0].input);
      expect(json(evs.at(-2)!).usage).toEqual(b.usage);
    });

    it('errors in Anthropic\'s shape, faults included', async () => {
      const missing = await post(plain, '/v1/messages', { model: MODEL, messages: [] });
      expect(missing.status).toBe(400);
      expect(await missing.json()).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } });
      const unknown = await post(plain, '/v1/messages', { ...req, model: 'nope' });
      expect(unknown.status).toBe(404);
      expect((await unknown.json() as any).type).toBe('error');
      const fault = await post(plain, '/v1/messages', req, { 'x-sim-fault': '429' });
      expect(fault.status).toBe(429);
      expect(await fault.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    });
  });

  describe('rerank and score', () => {
    const docs = ['Paris is the capital of France.', 'Bananas are yellow.', 'The capital city of France is Paris, on the Seine.'];

    it('reranks on every path, sorted by a deterministic relevance, top_n honoured', async () => {
      for (const path of ['/rerank', '/v1/rerank', '/v2/rerank']) {
        const b = await (await post(sim, path, { model: MODEL, query: 'capital of France', documents: docs, top_n: 2 })).json() as any;
        expect(b.model).toBe(MODEL);
        expect(b.results).toHaveLength(2);
        expect(b.results.map((r: any) => r.index)).toEqual([0, 2]);
        expect(b.results[0].document).toEqual({ text: docs[0], multi_modal: null });
        expect(b.results[0].relevance_score).toBeGreaterThan(b.results[1].relevance_score);
        const tokens = docs.reduce((n, d) => n + countTokens('capital of France') + countTokens(d) + 3, 0);
        expect(b.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
      }
    });

    it('scores text_1/text_2 and vLLM\'s other pair names, one-to-many and one-to-one', async () => {
      for (const [a, b] of [['text_1', 'text_2'], ['queries', 'documents'], ['queries', 'items'], ['data_1', 'data_2']]) {
        const r = await (await post(sim, '/v1/score', { model: MODEL, [a!]: 'capital of France', [b!]: docs })).json() as any;
        expect(r).toMatchObject({ object: 'list', model: MODEL });
        expect(r.data.map((d: any) => d.object)).toEqual(['score', 'score', 'score']);
        expect(r.data[1].score).toBe(0);
        expect(r.usage).toMatchObject({ completion_tokens: 0, prompt_tokens: r.usage.total_tokens });
      }
      const pairs = await (await post(sim, '/score', { model: MODEL, text_1: ['a b', 'c'], text_2: ['a b', 'd'] })).json() as any;
      expect(pairs.data.map((d: any) => d.score)).toEqual([1, 0]);
      expect((await post(sim, '/score', { model: MODEL, text_1: ['a', 'b'], text_2: ['a', 'b', 'c'] })).status).toBe(400);
      const fault = await post(sim, '/rerank', { model: MODEL, query: 'q', documents: ['d'] }, { 'x-sim-fault': '503' });
      expect(fault.status).toBe(503);
      expect((await fault.json() as any).error.code).toBe(503);
    });
  });

  describe('audio', () => {
    const form = (fields: Record<string, string>, file: Buffer = wav(3.5), name = 'a.wav') => {
      const f = new FormData();
      f.append('file', new Blob([new Uint8Array(file)]), name);
      for (const [k, v] of Object.entries(fields)) f.append(k, v);
      return f;
    };
    const send = (path: string, f: FormData) => fetch(`${sim.url}${path}`, { method: 'POST', body: f });

    it('reads the duration from a WAV header, else from the byte length', () => {
      expect(audioDuration(wav(3.5))).toBeCloseTo(3.5, 6);
      expect(audioDuration(wav(2, 8000))).toBeCloseTo(2, 6);
      expect(audioDuration(Buffer.alloc(48_000))).toBe(3);
    });

    it('transcribes (json with duration usage, verbose_json) and translates (text only)', async () => {
      const j = await (await send('/v1/audio/transcriptions', form({ model: MODEL }))).json();
      expect(j).toEqual({ text: transcript(3.5), usage: { type: 'duration', seconds: 4 } });
      const long = await (await send('/v1/audio/transcriptions', form({ response_format: 'text' }, wav(25)))).json() as any;
      expect(long.text).toBe(transcript(25));
      expect(long.text.split('. ').length).toBe(3);
      const v = await (await send('/v1/audio/transcriptions', form({ response_format: 'verbose_json', language: 'fr' }))).json() as any;
      expect(v).toMatchObject({ duration: '3.5', language: 'fr', text: transcript(3.5) });
      expect(v.segments[0]).toMatchObject({ id: 0, start: 0, end: 3.5, text: transcript(3.5) });
      expect(await (await send('/v1/audio/translations', form({}))).json()).toEqual({ text: transcript(3.5) });
      const srt = await send('/v1/audio/transcriptions', form({ response_format: 'srt' }));
      expect(srt.status).toBe(400);
      expect((await send('/v1/audio/transcriptions', form({ stream_include_usage: 'true' }))).status).toBe(400);
    });

    it('streams transcription.chunk deltas, token usage last, then [DONE]', async () => {
      const evs = parseSse(await (await send('/v1/audio/transcriptions', form({ stream: 'true', stream_include_usage: 'true', prompt: 'Two words' }))).text());
      expect(evs.at(-1)!.data).toBe('[DONE]');
      const chunks = evs.slice(0, -1).map(json);
      expect(chunks.every((c) => c.object === 'transcription.chunk')).toBe(true);
      const usage = chunks.at(-1)!;
      expect(usage.choices).toEqual([]);
      const text = chunks.slice(0, -1).map((c) => c.choices[0].delta.content).join('');
      expect(text).toBe(transcript(3.5));
      expect(chunks.at(-2)!.choices[0].finish_reason).toBe('stop');
      expect(usage.usage).toEqual({ prompt_tokens: 6, completion_tokens: countTokens(text), total_tokens: 6 + countTokens(text) });
      const tr = parseSse(await (await send('/v1/audio/translations', form({ stream: 'true' }))).text());
      expect(json(tr[0]!).object).toBe('translation.chunk');
    });
  });

  describe('tokenize', () => {
    it('tokenizes prompts and chats (counts as in usage) and detokenizes back', async () => {
      const t = await (await post(sim, '/tokenize', { model: MODEL, prompt: TEXT, return_token_strs: true })).json() as any;
      expect(t).toMatchObject({ count: countTokens(TEXT), max_model_len: 8192 });
      expect(t.tokens).toHaveLength(t.count);
      expect(t.token_strs.join('')).toBe(TEXT);
      expect(await (await post(sim, '/detokenize', { model: MODEL, tokens: t.tokens })).json()).toEqual({ prompt: TEXT });
      const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: TEXT }];
      const c = await (await post(sim, '/tokenize', { model: MODEL, messages })).json() as any;
      const chat = await (await post(plain, '/v1/chat/completions', { model: MODEL, messages })).json() as any;
      expect(c.count).toBe(chat.usage.prompt_tokens);
      expect(c.token_strs).toBeNull();
    });
  });

  describe('chat extras', () => {
    it('answers tools with a parseable tool call (finish_reason tool_calls), streamed as tool_calls deltas with the same usage', async () => {
      const body = { model: MODEL, messages: [{ role: 'user', content: 'Weather?' }], tools: [{ type: 'function', function: { name: 'get_weather', parameters: WEATHER } }] };
      const full = await (await post(plain, '/v1/chat/completions', body)).json() as any;
      const choice = full.choices[0];
      expect(choice.finish_reason).toBe('tool_calls');
      expect(choice.message.content).toBeNull();
      expect(choice.message.tool_calls[0]).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
      expect(valid(JSON.parse(choice.message.tool_calls[0].function.arguments), WEATHER)).toBe(true);
      const evs = parseSse(await (await post(plain, '/v1/chat/completions', { ...body, stream: true, stream_options: { include_usage: true } })).text());
      const chunks = evs.filter((e) => e.data !== '[DONE]').map(json);
      const args = chunks.flatMap((c) => c.choices.flatMap((ch: any) => ch.delta.tool_calls ?? [])).map((t: any) => t.function.arguments ?? '').join('');
      expect(args).toBe(choice.message.tool_calls[0].function.arguments);
      expect(chunks.at(-1)!.usage).toEqual(full.usage);
      expect(chunks.at(-2)!.choices[0].finish_reason).toBe('tool_calls');
      const none = await (await post(plain, '/v1/chat/completions', { ...body, tool_choice: 'none' })).json() as any;
      expect(none.choices[0].finish_reason).toBe('stop');
    });

    it('writes JSON valid for a json_schema response_format (chat.completions.parse)', async () => {
      const schema = {
        type: 'object', additionalProperties: false, required: ['title', 'tags', 'score', 'nested', 'kind', 'ok'],
        properties: {
          title: { type: 'string' }, tags: { type: 'array', items: { type: 'string' }, minItems: 2 }, score: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
          nested: { $ref: '#/$defs/inner' }, kind: { anyOf: [{ type: 'null' }, { type: 'integer', minimum: 3 }] }, ok: { type: 'boolean' },
        },
        $defs: { inner: { type: 'object', properties: { n: { type: 'integer', minimum: 10 } }, required: ['n'], additionalProperties: false } },
      };
      const r = await client.chat.completions.parse({ model: MODEL, messages: [{ role: 'user', content: 'Describe.' }],
        response_format: { type: 'json_schema', json_schema: { name: 'thing', schema, strict: true } } });
      const parsed = r.choices[0]!.message.parsed as Record<string, unknown>;
      expect(valid(parsed, schema)).toBe(true);
      const obj = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi.' }], response_format: { type: 'json_object' } });
      expect(JSON.parse(obj.choices[0]!.message.content!)).toEqual({ response: 'Hi.' });
    });

    it('generates values valid for generated schemas', () => {
      const leaf = fc.oneof(
        fc.record({ type: fc.constant('string'), minLength: fc.nat(5) }),
        fc.record({ type: fc.constant('integer'), minimum: fc.integer({ min: -5, max: 5 }), maximum: fc.integer({ min: 6, max: 9 }) }),
        fc.record({ type: fc.constant('number'), exclusiveMinimum: fc.integer({ min: -5, max: 5 }) }),
        fc.constant({ type: 'boolean' }), fc.constant({ type: 'null' }),
        fc.record({ enum: fc.array(fc.string(), { minLength: 1, maxLength: 3 }) }),
      );
      const { schema } = fc.letrec((tie) => ({
        schema: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('object'), tie('array')),
        object: fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), tie('schema'), { maxKeys: 3 }).chain((props) =>
          fc.subarray(Object.keys(props)).map((required) => ({ type: 'object', properties: props, required, additionalProperties: false }))),
        array: fc.record({ type: fc.constant('array'), items: tie('schema'), minItems: fc.nat(3) }),
      }));
      fc.assert(fc.property(schema, (s) => valid(valueFor(s), s)), { numRuns: 200 });
    });

    it('reports deterministic logprobs in OpenAI\'s shape', async () => {
      const body = { model: MODEL, messages: [{ role: 'user', content: 'One two three.' }], logprobs: true, top_logprobs: 2 };
      const a = await (await post(plain, '/v1/chat/completions', body)).json() as any;
      const b = await (await post(plain, '/v1/chat/completions', body)).json() as any;
      const content = a.choices[0].logprobs.content;
      expect(content.map((c: any) => c.token).join('')).toBe('One two three.');
      expect(content[0]).toMatchObject({ token: 'One ', bytes: [...Buffer.from('One ')] });
      expect(content[0].logprob).toBeLessThan(0);
      expect(content[0].top_logprobs).toHaveLength(2);
      expect(b.choices[0].logprobs).toEqual(a.choices[0].logprobs);
      const s = parseSse(await (await post(plain, '/v1/chat/completions', { ...body, stream: true })).text()).filter((e) => e.data !== '[DONE]').map(json);
      expect(s.flatMap((c) => c.choices[0].logprobs?.content ?? [])).toEqual(content);
      const cmpl = await (await post(plain, '/v1/completions', { model: MODEL, prompt: 'One two three.', logprobs: 1 })).json() as any;
      expect(cmpl.choices[0].logprobs).toMatchObject({ tokens: ['One ', 'two ', 'three.'], text_offset: [0, 4, 8] });
    });

    it('counts image parts and reports cached_tokens for a repeated prefix, in chat, Responses alike', async () => {
      const sys = 'You are a careful assistant. '.repeat(12);
      const img = await (await post(plain, '/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }] })).json() as any;
      expect(img.usage.prompt_tokens).toBe(4 + countTokens('What is this?') + IMAGE_TOKENS);
      const ask = (q: string) => post(sim, '/v1/chat/completions', { model: 'llama32-fp8', messages: [{ role: 'system', content: sys }, { role: 'user', content: q }] }).then((r) => r.json()) as Promise<any>;
      const first = await ask('First question?');
      expect(first.usage.prompt_tokens_details).toBeUndefined();
      const second = await ask('Second question, longer than the first one?');
      const cached = second.usage.prompt_tokens_details.cached_tokens;
      expect(cached % 16).toBe(0);
      expect(cached).toBeGreaterThanOrEqual(48);
      expect(cached).toBeLessThan(second.usage.prompt_tokens);
      const again = await ask('Second question, longer than the first one?');
      expect(again.usage.prompt_tokens_details.cached_tokens).toBe(Math.floor((again.usage.prompt_tokens - 1) / 16) * 16);
      const resp = await (await post(sim, '/v1/responses', { model: MODEL, instructions: sys, input: 'Second question, longer than the first one?' })).json() as any;
      expect(resp.usage.input_tokens_details.cached_tokens).toBe(again.usage.prompt_tokens_details.cached_tokens);
      const off = await (await post(plain, '/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: sys }] })).json() as any;
      const off2 = await (await post(plain, '/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: sys }] })).json() as any;
      expect(off2.usage).toEqual(off.usage);
      expect(off2.usage.prompt_tokens_details).toBeUndefined();
    });
  });

  describe('SSE framing', () => {
    it('CRLF and spaced JSON change the bytes, not the parsed events, on every streamed API', async () => {
      const cases: Array<[string, unknown]> = [
        ['/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'Héllo wörld. Again.' }], stream: true, stream_options: { include_usage: true } }],
        ['/v1/completions', { model: MODEL, prompt: 'Héllo wörld.', stream: true }],
        ['/v1/responses', { model: MODEL, input: 'Héllo wörld.', stream: true }],
        ['/v1/messages', { model: MODEL, max_tokens: 20, messages: [{ role: 'user', content: 'Héllo wörld.' }], stream: true }],
      ];
      const stable = (evs: Ev[]) => evs.map((e) => ({ event: e.event, data: e.data === '[DONE]' ? e.data : JSON.parse(e.data) }));
      const scrub = (x: unknown) => JSON.parse(JSON.stringify(x).replace(/"(chatcmpl|cmpl)-[0-9a-f]+"|"(resp|msg)_[0-9a-f]+"/g, '"_"').replace(/"(created(_at)?)":\d+/g, '"$1":0'));
      for (const [path, body] of cases) {
        const lf = await (await post(plain, path, body)).text();
        const crlf = await (await post(plain, path, body, { 'x-sim-sse-line-ending': 'crlf', 'x-sim-sse-json': 'spaced' })).text();
        expect(crlf).not.toBe(lf);
        expect(crlf).toContain('\r\n\r\n');
        expect(crlf.replace(/\r\n/g, '')).not.toMatch(/\n/);
        expect(crlf).toMatch(/": /);
        expect(crlf).toContain('\\u00e9'); // ensure_ascii, as Python's json.dumps
        expect(scrub(stable(parseSse(crlf)))).toEqual(scrub(stable(parseSse(lf))));
      }
      const viaOption = await startSimulator({ port: 0, quiet: true, sseLineEnding: 'crlf', sseJson: 'spaced' });
      try {
        const t = await (await post(viaOption, '/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'Hi.' }], stream: true })).text();
        expect(t.startsWith('data: {"id": ')).toBe(true);
        expect(t.endsWith('data: [DONE]\r\n\r\n')).toBe(true);
      } finally { await viaOption.close(); }
    });
  });
});
