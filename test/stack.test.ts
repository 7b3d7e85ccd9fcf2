/**
 * The Llama-Stack-compatible router: the workshop's `models:` form, ids
 * `vllm-<name>/<name>`, the token from API_TOKEN when the entry has none,
 * relay of chat, completions, embeddings and SSE to a token-checking
 * upstream with answers naming the stack's id, clear errors, and the mapping
 * of Llama Stack 0.2's chat-completion API to and from OpenAI chat.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { stackConfig, loadStackConfig, StackConfigError } from '../src/stack/config.js';
import { startStack, type RunningStack } from '../src/stack/server.js';
import { LegacyStream, legacyResponse, parseLegacyChat } from '../src/stack/legacy-inference.js';
import { startSimulator, type RunningSimulator } from '../src/simulator/server.js';

const NAME = 'Llama-3.2-3B-Instruct-FP8';
const ID = `vllm-${NAME}/${NAME}`;
const TOKEN = 'sk-upstream-secret-token';
let sim: RunningSimulator;
let stack: RunningStack;

beforeAll(async () => {
  // The upstream insists on the token, as LiteMaaS does.
  sim = await startSimulator({ port: 0, host: '127.0.0.1', servedModelName: NAME, apiKey: TOKEN, quiet: true });
  stack = await startStack(stackConfig({ port: 0, host: '127.0.0.1', models: [{ name: NAME, url: `${sim.url}/v1` }] }, { API_TOKEN: TOKEN }));
});
afterAll(async () => { await stack?.close(); await sim?.close(); });

describe('stack config', () => {
  it('maps each entry to provider vllm-<name> and model vllm-<name>/<name>, token from API_TOKEN when absent', () => {
    const c = stackConfig({ models: [{ name: NAME, url: 'https://litemaas.example/v1/' }, { name: 'granite', url: 'http://vllm:8000/v1', token: 'own' }] }, { API_TOKEN: 'from-env' });
    expect(c.models.map((m) => [m.id, m.providerId, m.name, m.url, m.token, m.tokenSource])).toEqual([
      [ID, `vllm-${NAME}`, NAME, 'https://litemaas.example/v1', 'from-env', 'API_TOKEN'],
      ['vllm-granite/granite', 'vllm-granite', 'granite', 'http://vllm:8000/v1', 'own', 'config'],
    ]);
    expect(c.port).toBe(8321);
    expect(stackConfig({ models: [{ name: 'x', url: 'http://a/v1' }] }, {}).models[0]!.tokenSource).toBe('none');
  });

  it('refuses a bad config with a message that names the key', () => {
    const bad = (raw: unknown) => { try { stackConfig(raw, {}); return 'accepted'; } catch (e) { expect(e).toBeInstanceOf(StackConfigError); return (e as Error).message; } };
    expect(bad({})).toMatch(/^models: a non-empty list/);
    expect(bad({ models: [{ name: 'x', url: 'http://a/v1', tokn: 'y' }] })).toMatch(/^models\[0\]\.tokn: unknown key/);
    expect(bad({ models: [{ name: 'x' }] })).toMatch(/^models\[0\]\.url: required/);
    expect(bad({ models: [{ name: 'x', url: 'ftp://a' }] })).toMatch(/^models\[0\]\.url: must be http or https/);
    expect(bad({ models: [{ name: 'x', url: 'http://a' }, { name: 'x', url: 'http://b' }] })).toMatch(/^models\[1\]\.name: 'x' is listed twice/);
    expect(bad({ model: [] })).toMatch(/^model: unknown key/);
  });

  it('reads the workshop\'s YAML file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stack-'));
    try {
      writeFileSync(join(dir, 'stack.yaml'), `models:\n  - name: ${NAME}\n    url: https://litemaas-litellm-user1-maas.apps.example.com/v1\n    token: sk-xxxx\n`);
      expect(loadStackConfig(join(dir, 'stack.yaml'), {}).models[0]).toMatchObject({ id: ID, token: 'sk-xxxx' });
      writeFileSync(join(dir, 'bad.yaml'), 'models: [\n');
      expect(() => loadStackConfig(join(dir, 'bad.yaml'), {})).toThrow(/not valid YAML/);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});

describe('stack router', () => {
  it('lists its models in Llama Stack\'s shape', async () => {
    const r = await (await fetch(`${stack.url}/v1/models`)).json() as { data: any[] };
    expect(r.data).toEqual([expect.objectContaining({ identifier: ID, provider_id: `vllm-${NAME}`, provider_resource_id: NAME, model_type: 'llm', id: ID })]);
    expect((await fetch(`${stack.url}/v1/health`)).status).toBe(200);
  });

  it('relays chat, completions and embeddings with model <name> and the token', async () => {
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'unused-by-the-stack', maxRetries: 0 });
    const chat = await client.chat.completions.create({ model: ID, messages: [{ role: 'user', content: 'The stack relays this. It adds the token.' }] });
    expect(chat.choices[0]!.message.content).toBe('The stack relays this. It adds the token.');
    expect(chat.model).toBe(ID); // the upstream was asked for NAME (the simulator refuses any other), the answer names the stack's id
    const comp = await client.completions.create({ model: ID, prompt: 'Complete me.', max_tokens: 5 });
    expect(comp.usage!.completion_tokens).toBeGreaterThan(0);
    const emb = await client.embeddings.create({ model: ID, input: 'embed me' });
    expect(emb.data[0]!.embedding.length).toBeGreaterThan(0);
  });

  it('relays a stream chunk by chunk, ending with [DONE]', async () => {
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const s = await client.chat.completions.create({ model: ID, messages: [{ role: 'user', content: 'Stream these words one by one please.' }], stream: true, stream_options: { include_usage: true } });
    let text = '', chunks = 0, usage = 0;
    for await (const c of s) { chunks++; text += c.choices[0]?.delta?.content ?? ''; usage = c.usage?.completion_tokens ?? usage; }
    expect(text).toBe('Stream these words one by one please.');
    expect(chunks).toBeGreaterThan(3);
    expect(usage).toBeGreaterThan(0);
  });

  it('answers an unknown model with a 404 that lists the known ids, and bad JSON with a 400', async () => {
    const r = await fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'llama32-fp8', messages: [] }) });
    expect(r.status).toBe(404);
    const body = await r.json() as { error: { message: string } };
    expect(body.error.message).toBe(`Model 'llama32-fp8' not found. Known models: ${ID}`);
    const bad = await fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
    expect(bad.status).toBe(400);
  });

  it('passes the upstream\'s refusal through when the token is wrong', async () => {
    const wrong = await startStack(stackConfig({ port: 0, host: '127.0.0.1', models: [{ name: NAME, url: `${sim.url}/v1`, token: 'sk-wrong' }] }, {}));
    try {
      const r = await fetch(`${wrong.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: ID, messages: [{ role: 'user', content: 'hi' }] }) });
      expect(r.status).toBe(401);
    } finally { await wrong.close(); }
  });

  it('says which model server cannot be reached', async () => {
    const down = await startStack(stackConfig({ port: 0, host: '127.0.0.1', models: [{ name: NAME, url: 'http://127.0.0.1:9/v1' }] }, {}));
    try {
      const r = await fetch(`${down.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: ID, messages: [{ role: 'user', content: 'hi' }] }) });
      expect(r.status).toBe(502);
      expect((await r.json() as any).error.message).toMatch(/could not be reached \(ECONNREFUSED\)/);
    } finally { await down.close(); }
  });
});

describe('Llama Stack 0.2 chat-completion mapping', () => {
  it('turns messages, sampling, tool definitions and tool_config into an OpenAI chat body', () => {
    const r = parseLegacyChat(JSON.stringify({
      model_id: ID, stream: true,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'What is in this picture?' }, { type: 'image', image: { url: { uri: 'https://example.com/a.png' } } }] },
        { role: 'assistant', content: '', stop_reason: 'end_of_message', tool_calls: [{ call_id: 'c1', tool_name: 'get_weather', arguments: { city: 'Paris' } }] },
        { role: 'tool', call_id: 'c1', content: 'sunny' },
      ],
      sampling_params: { strategy: { type: 'top_k', top_k: 5 }, max_tokens: 64, stop: ['\n\n'] },
      tools: [{ tool_name: 'get_weather', description: 'Weather now', parameters: { city: { param_type: 'str', description: 'City' }, days: { param_type: 'list[int]', required: false } } }],
      tool_config: { tool_choice: 'required' },
    }));
    expect([r.modelId, r.stream]).toEqual([ID, true]);
    expect(JSON.parse(r.toOpenAI(NAME))).toEqual({
      model: NAME,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'What is in this picture?' }, { type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] },
        { role: 'assistant', content: '', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
      ],
      top_k: 5, max_tokens: 64, stop: ['\n\n'],
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather now', parameters: { type: 'object', properties: { city: { type: 'string', description: 'City' }, days: { type: 'array', items: { type: 'integer' } } }, required: ['city'] } } }],
      tool_choice: 'required',
      stream: true, stream_options: { include_usage: true },
    });
    expect(() => parseLegacyChat(JSON.stringify({ model_id: ID, messages: [{ role: 'user', content: 'x' }], sampling_params: { strategy: { type: 'beam' } } })))
      .toThrow('sampling_params.strategy.type: greedy, top_p or top_k');
  });

  it('answers a tool call as a completion_message with end_of_message and parsed arguments', () => {
    const b = legacyResponse({
      choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: null, tool_calls: [{ id: 'c9', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] } }],
      usage: { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 },
    });
    expect(b.completion_message).toEqual({ role: 'assistant', content: '', stop_reason: 'end_of_message', tool_calls: [{ call_id: 'c9', tool_name: 'get_weather', arguments: { city: 'Oslo' }, arguments_json: '{"city":"Oslo"}' }] });
    expect(b.metrics).toEqual([{ metric: 'prompt_tokens', value: 10, unit: null }, { metric: 'completion_tokens', value: 4, unit: null }, { metric: 'total_tokens', value: 14, unit: null }]);
  });

  it('streams a tool call as in-progress argument text, then the parsed call, then complete', () => {
    const s = new LegacyStream();
    const events = (text: string) => text.split('\n\n').filter(Boolean).map((e) => JSON.parse(e.slice('data: '.length)));
    const out = [
      ...events(s.start()),
      ...events(s.chunk({ choices: [{ index: 0, delta: { role: 'assistant', tool_calls: [{ index: 0, id: 'c2', type: 'function', function: { name: 'get_weather', arguments: '' } }] } }] })),
      ...events(s.chunk({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] } }] })),
      ...events(s.chunk({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '"Rome"}' } }] }, finish_reason: 'tool_calls' }] })),
      ...events(s.chunk({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } })),
      ...events(s.end()),
    ];
    expect(out.map((e) => [e.event.event_type, e.event.delta.type, e.event.delta.parse_status ?? null])).toEqual([
      ['start', 'text', null], ['progress', 'tool_call', 'in_progress'], ['progress', 'tool_call', 'in_progress'], ['progress', 'tool_call', 'succeeded'], ['complete', 'text', null],
    ]);
    expect(out[3].event.delta.tool_call).toEqual({ call_id: 'c2', tool_name: 'get_weather', arguments: { city: 'Rome' }, arguments_json: '{"city":"Rome"}' });
    expect(out[4].event.stop_reason).toBe('end_of_message');
    expect(out[4].metrics.map((m: any) => m.value)).toEqual([3, 2, 5]);
  });

  it('passes an upstream error event on as the stream\'s last event, with no complete after it', () => {
    const s = new LegacyStream();
    const text = s.start() + s.chunk({ choices: [{ index: 0, delta: { content: 'Half' } }] }) + s.chunk({ error: { message: 'engine died', type: 'internal_error' } })
      + s.chunk({ choices: [{ index: 0, delta: { content: ' more' } }] }) + s.end();
    const events = text.split('\n\n').filter(Boolean).map((e) => JSON.parse(e.slice('data: '.length)));
    expect(events.map((e) => e.event?.event_type ?? 'error')).toEqual(['start', 'progress', 'error']);
    expect(events[2]).toEqual({ error: { message: 'engine died' } });
  });
});
