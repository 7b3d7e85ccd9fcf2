/**
 * The stack as Llama Stack's own clients see it: llama-stack-client 0.7
 * (chat streamed and not, models with custom_metadata, Responses streamed
 * and not with retrieve/delete, version, providers, routes), Llama Stack
 * 0.2's /v1/inference/chat-completion over plain fetch, and the upstream's
 * Retry-After and x-request-id coming back. Chat and Responses go to the
 * simulator; a small upstream below stands for a server that stamps its
 * answers with x-request-id and refuses with 429 and Retry-After.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import LlamaStackClient from 'llama-stack-client';
import { stackConfig } from '../src/stack/config.js';
import { startStack, type RunningStack } from '../src/stack/server.js';
import { startSimulator, type RunningSimulator } from '../src/simulator/server.js';

const NAME = 'Llama-3.2-3B-Instruct-FP8';
const ID = `vllm-${NAME}/${NAME}`;
const BUSY = 'busy-model';
const BUSY_ID = `vllm-${BUSY}/${BUSY}`;
const TOKEN = 'sk-upstream-secret-token';

/**
 * A model server as LiteMaaS is one: every answer carries an `x-request-id`;
 * BUSY is over its limit (429 with Retry-After), NAME answers a one-line chat
 * completion with the token only.
 */
function stampingUpstream() {
  let n = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = raw ? JSON.parse(raw) as Record<string, unknown> : {};
      const reply = (status: number, b: unknown, extra: Record<string, string> = {}) => {
        const t = JSON.stringify(b);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(t), 'x-request-id': `up-${++n}`, ...extra });
        res.end(t);
      };
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return reply(401, { error: { message: 'bad key', type: 'invalid_request_error', code: 'invalid_api_key' } });
      if (body.model === BUSY) return reply(429, { error: { message: 'Rate limit exceeded: 2 requests per minute.', type: 'rate_limit_error', code: 'rate_limit_exceeded' } }, { 'retry-after': '7' });
      reply(200, { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: body.model, choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'stamped' } }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
    });
  });
  return server;
}

let sim: RunningSimulator;
let up: Server;
let upUrl: string;
let stack: RunningStack;
let sstack: RunningStack;
let client: LlamaStackClient;
let sclient: LlamaStackClient;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, host: '127.0.0.1', servedModelName: NAME, apiKey: TOKEN, quiet: true });
  up = stampingUpstream();
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
  upUrl = `http://127.0.0.1:${(up.address() as AddressInfo).port}/v1`;
  stack = await startStack(stackConfig({ port: 0, host: '127.0.0.1', models: [{ name: NAME, url: `${sim.url}/v1` }, { name: BUSY, url: upUrl }] }, { API_TOKEN: TOKEN }));
  sstack = await startStack(stackConfig({ port: 0, host: '127.0.0.1', models: [{ name: NAME, url: upUrl }] }, { API_TOKEN: TOKEN }));
  client = new LlamaStackClient({ baseURL: stack.url, maxRetries: 0 });
  sclient = new LlamaStackClient({ baseURL: sstack.url, maxRetries: 0 });
});
afterAll(async () => {
  await stack?.close();
  await sstack?.close();
  await sim?.close();
  await new Promise((r) => { up?.close(r); up?.closeAllConnections(); });
});

describe('llama-stack-client 0.7 against the stack', () => {
  it('lists the models with custom_metadata and retrieves one by id', async () => {
    const models = await client.models.list();
    expect(models.map((m) => m.id)).toEqual([ID, BUSY_ID]);
    expect(models[0]!.custom_metadata).toEqual({ model_type: 'llm', provider_id: `vllm-${NAME}`, provider_resource_id: NAME });
    const one = await client.models.retrieve(ID);
    expect(one).toMatchObject({ identifier: ID, provider_id: `vllm-${NAME}`, provider_resource_id: NAME, model_type: 'llm' });
  });

  it('answers a chat completion with the stack\'s model id', async () => {
    const r = await client.chat.completions.create({ model: ID, messages: [{ role: 'user', content: 'Summarise this for me.' }] });
    expect(r.choices[0]!.message.content).toBe('Summarise this for me.');
    expect(r.model).toBe(ID);
    expect(r.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('streams a chat completion piece by piece, every chunk naming the stack\'s model id', async () => {
    const s = await client.chat.completions.create({ model: ID, messages: [{ role: 'user', content: 'Stream these words one by one please.' }], stream: true, stream_options: { include_usage: true } });
    let text = '', chunks = 0, usage = 0;
    const models = new Set<string>();
    for await (const c of s) {
      chunks++;
      models.add(c.model);
      text += c.choices[0]?.delta?.content ?? '';
      usage = c.usage?.completion_tokens ?? usage;
    }
    expect(text).toBe('Stream these words one by one please.');
    expect(chunks).toBeGreaterThan(3);
    expect([...models]).toEqual([ID]);
    expect(usage).toBeGreaterThan(0);
  });

  it('creates a response, then retrieves and deletes it at the server that made it', async () => {
    const r = await client.responses.create({ model: ID, input: 'The stack relays Responses too.' });
    expect(r.model).toBe(ID);
    expect(r.status).toBe('completed');
    const out = r.output[0] as { content: Array<{ text: string }> };
    expect(out.content[0]!.text).toBe('The stack relays Responses too.');
    expect(r.usage!.output_tokens).toBeGreaterThan(0);

    // Two models are configured: the stack finds the simulator by the id it remembered.
    const again = await client.responses.retrieve(r.id);
    expect(again).toMatchObject({ id: r.id, model: ID, status: 'completed' });
    expect(await client.responses.delete(r.id)).toMatchObject({ id: r.id, deleted: true });
    await expect(client.responses.retrieve(r.id)).rejects.toMatchObject({ status: 404 });
    const unknown = await client.responses.retrieve('resp_never_made').catch((e) => e);
    expect([unknown.status, unknown.error.error.message]).toEqual([404, "Response 'resp_never_made' not found: this stack did not create it."]);
  });

  it('streams a response event by event: deltas add up, created and completed name the stack\'s model id', async () => {
    const s = await client.responses.create({ model: ID, input: 'Word by word it comes.', stream: true });
    const types: string[] = [];
    let text = '';
    let created: any, completed: any;
    for await (const e of s as AsyncIterable<any>) {
      types.push(e.type);
      if (e.type === 'response.output_text.delta') text += e.delta;
      if (e.type === 'response.created') created = e.response;
      if (e.type === 'response.completed') completed = e.response;
    }
    expect(text).toBe('Word by word it comes.');
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(types.filter((t) => t === 'response.output_text.delta').length).toBeGreaterThan(3);
    expect(created.model).toBe(ID);
    expect(completed.model).toBe(ID);
    expect(completed.usage.total_tokens).toBeGreaterThan(0);
    // The streamed response's id was remembered too: it can be fetched back.
    expect((await client.responses.retrieve(completed.id)).model).toBe(ID);
  });

  it('keeps the event names of a Responses stream and never shows the upstream name', async () => {
    const r = await fetch(`${stack.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: ID, input: 'a b', stream: true }) });
    const t = await r.text();
    expect(t).toMatch(/^event: response\.created\ndata: \{"type":"response\.created"/);
    expect(t).toContain('event: response.completed\n');
    expect(t).not.toContain(`"model":"${NAME}"`);
  });

  it('reports its version, providers and routes', async () => {
    expect((await client.inspect.version()).version).toMatch(/^\d+\.\d+\.\d+$/);
    expect((await client.inspect.health()).status).toBe('OK');
    const providers = await client.providers.list();
    expect(providers.map((p) => [p.provider_id, p.provider_type, p.api])).toEqual([[`vllm-${NAME}`, 'remote::vllm', 'inference'], [`vllm-${BUSY}`, 'remote::vllm', 'inference']]);
    expect(JSON.stringify(providers)).not.toContain(TOKEN);
    expect((await client.providers.retrieve(`vllm-${NAME}`)).provider_id).toBe(`vllm-${NAME}`);
    const routes = await client.routes.list();
    const has = (route: string, method: string) => routes.some((r) => r.route === route && r.method === method);
    expect(has('/v1/chat/completions', 'POST') && has('/v1/responses', 'POST') && has('/v1/responses/{response_id}', 'DELETE') && has('/v1/inference/chat-completion', 'POST')).toBe(true);
    expect(routes.find((r) => r.route === '/v1/chat/completions')!.provider_types).toEqual(['remote::vllm']);
  });

  it('relays the upstream\'s 429 with its Retry-After and x-request-id', async () => {
    const err = await client.chat.completions.create({ model: BUSY_ID, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    expect(err.status).toBe(429);
    expect(err.headers['retry-after']).toBe('7');
    expect(err.headers['x-request-id']).toMatch(/^up-\d+$/);
    expect(err.error.error.message).toBe('Rate limit exceeded: 2 requests per minute.');
  });

  it('relays the upstream\'s x-request-id on success', async () => {
    const { data, response } = await sclient.chat.completions.create({ model: ID, messages: [{ role: 'user', content: 'which request?' }] }).withResponse();
    expect(response.headers.get('x-request-id')).toMatch(/^up-\d+$/);
    expect(data.model).toBe(ID);
  });
});

describe('the OpenAI-style aliases Llama Stack 0.2 served under /v1/openai/v1', () => {
  it('answers chat and models there too', async () => {
    const r = await fetch(`${stack.url}/v1/openai/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: ID, messages: [{ role: 'user', content: 'alias works' }] }) });
    const b = await r.json() as any;
    expect([b.choices[0].message.content, b.model]).toEqual(['alias works', ID]);
    const models = await (await fetch(`${stack.url}/v1/openai/v1/models`)).json() as any;
    expect(models.data[0].id).toBe(ID);
  });
});

describe('Llama Stack 0.2\'s /v1/inference/chat-completion', () => {
  const post = (body: unknown, base = stack.url) => fetch(`${base}/v1/inference/chat-completion`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('answers a completion_message with stop_reason and token metrics', async () => {
    const r = await post({
      model_id: ID,
      messages: [{ role: 'system', content: 'You summarise.' }, { role: 'user', content: [{ type: 'text', text: 'Keep it short.' }] }],
      sampling_params: { strategy: { type: 'top_p', temperature: 0.7, top_p: 0.9 }, max_tokens: 50 },
    });
    expect(r.status).toBe(200);
    const b = await r.json() as any;
    expect(b.completion_message).toEqual({ role: 'assistant', content: 'Keep it short.', stop_reason: 'end_of_turn', tool_calls: [] });
    const metric = (name: string) => b.metrics.find((m: any) => m.metric === name)?.value;
    expect(metric('completion_tokens')).toBeGreaterThan(0);
    expect(metric('total_tokens')).toBe(metric('prompt_tokens') + metric('completion_tokens'));
  });

  it('streams start, text progress and complete with the metrics on the last event', async () => {
    const r = await post({ model_id: ID, messages: [{ role: 'user', content: 'Stream these words one by one please.' }], sampling_params: { strategy: { type: 'greedy' } }, stream: true });
    expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await r.text()).split('\n\n').filter(Boolean).map((e) => { expect(e.startsWith('data: ')).toBe(true); return JSON.parse(e.slice(6)); });
    expect(events[0].event.event_type).toBe('start');
    const progress = events.filter((e) => e.event.event_type === 'progress');
    expect(progress.length).toBeGreaterThan(3);
    expect(progress.map((e) => e.event.delta.text).join('')).toBe('Stream these words one by one please.');
    const last = events.at(-1);
    expect(last.event).toMatchObject({ event_type: 'complete', delta: { type: 'text', text: '' }, stop_reason: 'end_of_turn' });
    expect(last.metrics.find((m: any) => m.metric === 'completion_tokens').value).toBeGreaterThan(0);
    expect(events.slice(0, -1).every((e) => e.metrics === undefined)).toBe(true);
  });

  it('ends a stream that breaks off with an error event, as Llama Stack does, which its client raises', async () => {
    const flaky = await startSimulator({ port: 0, host: '127.0.0.1', servedModelName: NAME, quiet: true, faultRate: 1, faultKind: 'reset-mid' });
    const fstack = await startStack(stackConfig({ port: 0, host: '127.0.0.1', models: [{ name: NAME, url: `${flaky.url}/v1` }] }, {}));
    try {
      const r = await post({ model_id: ID, messages: [{ role: 'user', content: 'This stream will not reach its end today.' }], stream: true }, fstack.url);
      expect(r.status).toBe(200);
      const events = (await r.text()).split('\n\n').filter(Boolean).map((e) => JSON.parse(e.slice(6)));
      expect(events[0].event.event_type).toBe('start');
      expect(events.at(-1)).toEqual({ error: { message: "The model server's stream broke off before its end." } });
      expect(events.some((e) => e.event?.event_type === 'complete')).toBe(false);
    } finally { await fstack.close(); await flaky.close(); }
  });

  it('answers its errors in its own shape: unknown model 404, upstream 429 with Retry-After', async () => {
    const r = await post({ model_id: 'llama32', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ error: { detail: `Model 'llama32' not found. Known models: ${ID}, ${BUSY_ID}` } });
    const busy = await post({ model_id: BUSY_ID, messages: [{ role: 'user', content: 'hi' }] });
    expect(busy.status).toBe(429);
    expect(busy.headers.get('retry-after')).toBe('7');
    expect(busy.headers.get('x-request-id')).toMatch(/^up-\d+$/);
    expect(await busy.json()).toEqual({ error: { detail: 'Rate limit exceeded: 2 requests per minute.' } });
    const bad = await post({ model_id: ID, messages: [{ role: 'robot', content: 'hi' }] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.detail).toBe('messages[0].role: one of user, system, assistant, tool');
  });
});
