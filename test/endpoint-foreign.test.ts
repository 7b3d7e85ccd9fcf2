/**
 * The per-endpoint descriptors against what a hostile review tried (issue 9):
 * upstreams framed or shaped otherwise than vLLM (no usage, no terminal
 * event, the model's name in error events), audio whose length is hidden or
 * forged, compressed audio reserved by its real length, and free endpoints
 * that must still count toward tpm.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toPico } from '../src/shared/money.js';
import { settle, startSystem, type System } from './helpers/system.js';

const SIM_UP = 'llama32-fp8';
const FOREIGN_UP = 'secret-upstream-name';

/** A foreign upstream: a handler per path. */
type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;
const handlers = new Map<string, Handler>();
let foreign: Server;
let foreignUrl = '';

function sse(res: ServerResponse, events: Array<[string | null, unknown]>): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const [ev, data] of events) res.write(`${ev ? `event: ${ev}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  res.end();
}
const json = (res: ServerResponse, o: unknown, status = 200) => { const b = JSON.stringify(o); res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(b) }); res.end(b); };

/** MPEG-1 Layer III at 128 kbit/s, 44.1 kHz: `frames` frames of 1152 samples (26.1 ms) each, silent. */
function mp3(frames: number): Buffer {
  const f = Buffer.alloc(417);
  f[0] = 0xff; f[1] = 0xfb; f[2] = 0x90; f[3] = 0x44;
  return Buffer.concat(Array.from({ length: frames }, () => f));
}

/** PCM WAV, 16 kHz mono 16-bit, `ms` long; byteRate overridable (a decoder uses the sample rate, not this field). */
function wav(ms: number, byteRate = 32_000): Buffer {
  const data = Math.round((16_000 * 2 * ms) / 1000);
  const b = Buffer.alloc(44 + data);
  b.write('RIFF', 0, 'latin1'); b.writeUInt32LE(36 + data, 4); b.write('WAVE', 8, 'latin1');
  b.write('fmt ', 12, 'latin1'); b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
  b.writeUInt32LE(16_000, 24); b.writeUInt32LE(byteRate, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34);
  b.write('data', 36, 'latin1'); b.writeUInt32LE(data, 40);
  return b;
}

let sys: System;
let key = '';
let key2 = '';
let tpmKey = '';

async function billed(id: string) {
  await settle(sys);
  return sys.server.store.db.selectFrom('usage_events').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}, k = key) {
  const res = await fetch(sys.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, id: res.headers.get('x-request-id')!, text: await res.text() };
}

async function postForm(path: string, fields: Record<string, string | Blob>, k = key, filename = 'a.mp3') {
  const form = new FormData();
  for (const [f, v] of Object.entries(fields)) { if (typeof v === 'string') form.append(f, v); else form.append(f, v, filename); }
  const res = await fetch(sys.url + path, { method: 'POST', headers: { authorization: `Bearer ${k}` }, body: form });
  return { status: res.status, id: res.headers.get('x-request-id')!, text: await res.text() };
}

beforeAll(async () => {
  foreign = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const h = handlers.get(req.url!.split('?')[0]!);
      if (!h) { json(res, { error: { message: 'no handler' } }, 404); return; }
      h(req, Buffer.concat(parts), res);
    });
  });
  await new Promise<void>((r) => foreign.listen(0, '127.0.0.1', r));
  foreignUrl = `http://127.0.0.1:${(foreign.address() as AddressInfo).port}/v1`;

  sys = await startSystem('pglite');
  const sim = [{ url: `${sys.sim.url}/v1`, upstreamModel: SIM_UP }];
  const fx = [{ url: foreignUrl, upstreamModel: FOREIGN_UP }];
  const models: Record<string, Record<string, unknown>> = {
    'r-audio': { kind: 'audio', inputPricePer1M: '0', outputPricePer1M: '0', audioPricePerMinute: '0.006', contextLength: 448, deployments: sim },
    'r-chat': { kind: 'chat', inputPricePer1M: '0.15', outputPricePer1M: '0.60', contextLength: 8192, deployments: sim },
    'f-chat': { kind: 'chat', inputPricePer1M: '0.15', outputPricePer1M: '0.60', contextLength: 8192, deployments: fx },
    'f-rerank': { kind: 'rerank', inputPricePer1M: '0.03', outputPricePer1M: '0', requestPrice: '0.0002', contextLength: 512, deployments: fx },
    'f-embed': { kind: 'embedding', inputPricePer1M: '0.02', outputPricePer1M: '0', contextLength: 512, deployments: fx },
  };
  for (const [id, m] of Object.entries(models)) {
    const r = await sys.admin('POST', '/admin/models', { id, ...m });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }
  const ids = Object.keys(models);
  const mkUser = async (name: string) => {
    const u = await sys.admin('POST', '/admin/users', { username: name });
    for (const modelId of ids) expect((await sys.admin('POST', `/admin/users/${u.body.id}/subscriptions`, { modelId })).status).toBe(201);
    return u.body.id as string;
  };
  const u1 = await mkUser('review-a');
  const u2 = await mkUser('review-b');
  const mk = async (uid: string, extra: Record<string, unknown> = {}) => {
    const k = await sys.admin('POST', `/admin/users/${uid}/api-keys`, { name: 'k', models: ids, ...extra });
    expect(k.status, JSON.stringify(k.body)).toBe(201);
    return k.body.key as string;
  };
  key = await mk(u1);
  key2 = await mk(u2);
  tpmKey = await mk(u1, { tpm: 1000 });
}, 60_000);

afterAll(async () => {
  await sys?.close();
  await new Promise((r) => foreign?.close(r));
});

describe('audio minutes are always billed', () => {
  it('bills audio minutes for a non-WAV upload answered as verbose_json (no usage, duration as a string)', async () => {
    // 160 000 bytes of non-WAV audio: the simulator (16 000 B/s for non-WAV) hears 10 s and answers {duration:"10", text, segments}.
    const r = await postForm('/v1/audio/transcriptions', { model: 'r-audio', response_format: 'verbose_json', file: new Blob([Buffer.alloc(160_000, 7)], { type: 'audio/mpeg' }) });
    expect(r.status, r.text).toBe(200);
    expect(JSON.parse(r.text).duration).toBe('10');
    const e = await billed(r.id);
    expect(e.audio_ms, 'audio the upstream says lasted 10 s').toBeGreaterThan(0);
    expect(toPico(e.cost)).toBeGreaterThan(0n);
  });

  it('bills audio minutes for a streamed non-WAV transcription (the stream reports tokens only)', async () => {
    const r = await postForm('/v1/audio/transcriptions', { model: 'r-audio', stream: 'true', file: new Blob([Buffer.alloc(160_000, 7)], { type: 'audio/mpeg' }) });
    expect(r.status, r.text).toBe(200);
    const e = await billed(r.id);
    expect(e.audio_ms).toBeGreaterThan(0);
    expect(toPico(e.cost)).toBeGreaterThan(0n);
  });

  it('bills a 60 s WAV as 60 s even when its redundant byteRate field is forged (streamed: the duration comes from the gateway)', async () => {
    // sample rate 16 kHz, block align 2, 1 920 000 data bytes = 60 s for any decoder; byteRate says 0xFFFFFFFF.
    const r = await postForm('/v1/audio/transcriptions', { model: 'r-audio', stream: 'true', file: new Blob([wav(60_000, 0xffffffff)], { type: 'audio/wav' }) }, key, 'a.wav');
    expect(r.status, r.text).toBe(200);
    const e = await billed(r.id);
    expect(e.audio_ms, `billed ${e.audio_ms} ms, cost ${e.cost}`).toBeGreaterThanOrEqual(60_000);
  });
});

describe('audio reservations', () => {
  it('reserves a 9.6 MB mp3 by its real length (10 min at 128 kbit/s, $0.06), not by its size, on a $1 budget', async () => {
    const u = await sys.admin('POST', '/admin/users', { username: 'review-budget' });
    expect((await sys.admin('POST', `/admin/users/${u.body.id}/subscriptions`, { modelId: 'r-audio' })).status).toBe(201);
    const k = await sys.admin('POST', `/admin/users/${u.body.id}/api-keys`, { name: 'b', models: ['r-audio'], maxBudget: 1 });
    expect(k.status, JSON.stringify(k.body)).toBe(201);
    const r = await postForm('/v1/audio/transcriptions', { model: 'r-audio', stream: 'true', file: new Blob([mp3(23_000)], { type: 'audio/mpeg' }) }, k.body.key);
    expect(r.status, r.text).toBe(200);
    // Streamed, the upstream reports no duration: the container's (23 000 frames × 1152 / 44 100 s) is billed.
    const e = await billed(r.id);
    expect(Math.abs(e.audio_ms - (23_000 * 1152 * 1000) / 44_100)).toBeLessThan(5);
    expect(e.estimated).toBe(false);
    // The same size of bytes that no decoder recognises is reserved at the lowest speech bitrate: refused on this budget.
    const junk = await postForm('/v1/audio/transcriptions', { model: 'r-audio', file: new Blob([Buffer.alloc(mp3(23_000).length, 7)], { type: 'audio/mpeg' }) }, k.body.key);
    expect(junk.status, junk.text).toBe(429);
  });
});

describe('foreign upstream shapes', () => {
  it('bills the output of an Anthropic stream that ends cleanly after content, without message_delta/message_stop', async () => {
    handlers.set('/v1/messages', (_q, _b, res) => sse(res, [
      ['message_start', { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: FOREIGN_UP, content: [], usage: { input_tokens: 10, output_tokens: 1 } } }],
      ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
      ...Array.from({ length: 100 }, () => ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lorem ipsum dolor sit amet ' } }] as [string, unknown]),
    ]));
    const r = await post('/v1/messages', { model: 'f-chat', max_tokens: 4000, stream: true, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': key, authorization: '' });
    expect(r.status, r.text).toBe(200);
    const deltas = (r.text.match(/content_block_delta/g) ?? []).length / 2;
    expect(deltas).toBe(100);
    const e = await billed(r.id);
    // 2 700 characters delivered: the gateway's own estimate rule gives ≥ 100 tokens (one per content event).
    expect(e.completion_tokens, `billed ${e.completion_tokens} completion tokens, estimated=${e.estimated}`).toBeGreaterThanOrEqual(100);
  });

  it('never shows the upstream model name in an Anthropic error event or an OpenAI error chunk mid-stream', async () => {
    handlers.set('/v1/messages', (_q, _b, res) => sse(res, [
      ['message_start', { type: 'message_start', message: { id: 'msg_2', type: 'message', role: 'assistant', model: FOREIGN_UP, content: [], usage: { input_tokens: 10, output_tokens: 1 } } }],
      ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hello' } }],
      ['error', { type: 'error', error: { type: 'overloaded_error', message: `Model ${FOREIGN_UP} is overloaded` } }],
    ]));
    handlers.set('/v1/chat/completions', (_q, _b, res) => sse(res, [
      [null, { id: 'c1', object: 'chat.completion.chunk', model: FOREIGN_UP, choices: [{ index: 0, delta: { content: 'hi' } }] }],
      [null, { error: { object: 'error', message: `The model ${FOREIGN_UP} ran out of KV cache`, type: 'InternalServerError', code: 500 } }],
      [null, '[DONE]'],
    ]));
    const a = await post('/v1/messages', { model: 'f-chat', max_tokens: 40, stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const c = await post('/v1/chat/completions', { model: 'f-chat', max_tokens: 40, stream: true, messages: [{ role: 'user', content: 'hi' }] });
    expect(a.status).toBe(200);
    expect(c.status).toBe(200);
    expect.soft(a.text, 'Anthropic error event').not.toContain(FOREIGN_UP);
    expect.soft(c.text, 'OpenAI error chunk').not.toContain(FOREIGN_UP);
  });

  it('bills a rerank (and its per-request fee) whose answer carries no usage', async () => {
    handlers.set('/v1/rerank', (_q, _b, res) => json(res, { id: 'r1', model: FOREIGN_UP, results: [{ index: 0, relevance_score: 0.9 }, { index: 1, relevance_score: 0.1 }] }));
    const r = await post('/v1/rerank', { model: 'f-rerank', query: 'what meters requests? '.repeat(20), documents: ['The gateway meters requests. '.repeat(20), 'Cats sleep all day. '.repeat(20)] });
    expect(r.status, r.text).toBe(200);
    const e = await billed(r.id);
    expect(toPico(e.cost), `billed ${e.cost} for ${e.prompt_tokens} prompt tokens`).toBeGreaterThanOrEqual(toPico('0.0002'));
    expect(e.prompt_tokens).toBeGreaterThan(0);
  });

  it('bills an embeddings answer that carries no usage', async () => {
    handlers.set('/v1/embeddings', (_q, _b, res) => json(res, { object: 'list', model: FOREIGN_UP, data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }] }));
    const r = await post('/v1/embeddings', { model: 'f-embed', input: 'some long text to embed '.repeat(50) });
    expect(r.status, r.text).toBe(200);
    const e = await billed(r.id);
    expect(e.prompt_tokens, `billed ${e.prompt_tokens} tokens, cost ${e.cost}`).toBeGreaterThan(0);
  });

  it('bills a Responses stream whose usage comes only in response.incomplete', async () => {
    handlers.set('/v1/responses', (_q, _b, res) => sse(res, [
      ['response.created', { type: 'response.created', response: { id: 'resp_x1', object: 'response', model: FOREIGN_UP, status: 'in_progress', usage: null } }],
      ['response.output_text.delta', { type: 'response.output_text.delta', delta: 'hello there' }],
      ['response.incomplete', { type: 'response.incomplete', response: { id: 'resp_x1', object: 'response', model: FOREIGN_UP, status: 'incomplete', usage: { input_tokens: 12, output_tokens: 34, input_tokens_details: { cached_tokens: 999 } } } }],
    ]));
    const r = await post('/v1/responses', { model: 'f-chat', input: 'hi', stream: true, max_output_tokens: 100 });
    expect(r.status).toBe(200);
    expect(r.text).not.toContain(FOREIGN_UP);
    const e = await billed(r.id);
    expect([e.prompt_tokens, e.completion_tokens, e.cached_tokens]).toEqual([12, 34, 12]);
  });
});

describe('free endpoints', () => {
  it('tokenize counts toward the key\'s tpm: 1 MB prompts cannot be tokenized without bound', async () => {
    const prompt = 'word '.repeat(200_000); // ~1 MB, ~200 000 tokens of upstream work each
    let served = 0;
    for (let i = 0; i < 10; i++) if ((await post('/tokenize', { model: 'r-chat', prompt }, {}, tpmKey)).status === 200) served++;
    // tpm is 1000: at most the first (one oversized request per empty minute) should pass.
    expect(served, `${served} × 1 MB tokenize served to a key with tpm 1000`).toBeLessThanOrEqual(1);
  });

  it('once tpm is used up (here by the tokenize calls above), billed requests and tokenize are both refused', async () => {
    expect((await post('/v1/chat/completions', { model: 'r-chat', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, {}, tpmKey)).status).toBe(429);
    expect((await post('/tokenize', { model: 'r-chat', prompt: 'hi' }, {}, tpmKey)).status).toBe(429);
  });
});

describe('what held under review', () => {
  it('a stored response is reached by its key only; odd ids are 404s', async () => {
    const r = await post('/v1/responses', { model: 'r-chat', input: 'hello', max_output_tokens: 10 });
    expect(r.status, r.text).toBe(200);
    const id = JSON.parse(r.text).id as string;
    await new Promise((res) => setTimeout(res, 300));
    const get = (k: string, p: string, method = 'GET') => fetch(`${sys.url}/v1/responses/${p}`, { method, headers: { authorization: `Bearer ${k}` } });
    expect((await get(key, encodeURIComponent(id))).status).toBe(200);
    expect((await get(key2, id)).status).toBe(404);
    expect((await get(key2, id, 'DELETE')).status).toBe(404);
    expect((await get(key2, `${id}/cancel`, 'POST')).status).toBe(404);
    for (const p of ['%', '%2F', '..', '%2e%2e', `${id}%2Fx`, `${id}/x`]) expect((await get(key, p)).status, p).toBe(404);
    expect((await get(key, id, 'PUT')).status).toBe(405);
    // Authorization wins over x-api-key; the other tenant's key in either header never reaches it.
    const both = await fetch(`${sys.url}/v1/responses/${id}`, { headers: { authorization: `Bearer ${key2}`, 'x-api-key': key } });
    expect(both.status).toBe(404);
    const cont = await post('/v1/responses', { model: 'r-chat', input: 'more', previous_response_id: id, max_output_tokens: 5 }, {}, key2);
    expect(cont.status).toBe(404);
  });

  it('multipart edge cases are 4xx', async () => {
    const raw = (ct: string, body: string) => fetch(`${sys.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': ct }, body });
    expect((await raw('multipart/form-data;', 'x')).status).toBe(400);
    expect((await raw('multipart/form-data; boundary=zz', '--zz\r\nContent-Disposition: form-data; name="model"\r\n\r\nr-audio\r\n--zz--\r\n')).status).toBe(400);
    expect((await raw('application/json', '{}')).status).toBe(415);
    expect((await postForm('/v1/audio/transcriptions', { model: 'r-audio', file: 'not a file' })).status).toBe(400);
    expect((await postForm('/v1/audio/transcriptions', { model: 'r-audio', stream: 'maybe', file: new Blob([wav(500)]) })).status).toBe(400);
    expect((await postForm('/v1/audio/transcriptions', { __proto__x: 'a', model: 'r-audio', file: new Blob([wav(500)]), }, key, 'a.wav')).status).toBe(200);
    const many: Record<string, string | Blob> = { model: 'r-audio', file: new Blob([wav(500)]) };
    for (let i = 0; i < 20_000; i++) many[`f${i}`] = 'x';
    const r = await postForm('/v1/audio/transcriptions', many, key, 'a.wav');
    expect(r.status).toBeLessThan(500);
  });
});
