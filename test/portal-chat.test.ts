/**
 * The playground's streaming client (src/web/src/chat.ts) without a browser:
 * what it sends for Chat Completions and for the Responses API, and how it
 * reads each stream — text from `response.output_text.delta`, usage from
 * `response.completed`, errors from `response.failed` — whatever the chunking
 * (one byte at a time, CRLF, a character split across chunks).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { chatEvent, responsesEvent, sseData, streamChat, GatewayError } from '../src/web/src/chat.js';

const enc = new TextEncoder();

/** A body that arrives `size` bytes at a time. */
function body(text: string, size: number): ReadableStream<Uint8Array> {
  const bytes = enc.encode(text);
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

const sse = (events: Array<[string | null, unknown]>, eol = '\n') =>
  events.map(([name, data]) => (name ? `event: ${name}${eol}` : '') + `data: ${typeof data === 'string' ? data : JSON.stringify(data)}${eol}${eol}`).join('');

const RESPONSES = sse([
  ['response.created', { type: 'response.created', response: { id: 'resp_1', status: 'in_progress' } }],
  ['response.output_item.added', { type: 'response.output_item.added', output_index: 0, item: { type: 'message', content: [] } }],
  ['response.output_text.delta', { type: 'response.output_text.delta', output_index: 0, content_index: 0, delta: 'Bonjour' }],
  ['response.output_text.delta', { type: 'response.output_text.delta', output_index: 0, content_index: 0, delta: ', café ☕' }],
  ['response.output_text.done', { type: 'response.output_text.done', text: 'Bonjour, café ☕' }],
  ['response.completed', { type: 'response.completed', response: { id: 'resp_1', status: 'completed', usage: { input_tokens: 12, input_tokens_details: { cached_tokens: 8 }, output_tokens: 5, total_tokens: 17 } } }],
]);

function stubFetch(status: number, text: string, size = 7) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return new Response(body(text, size), { status, headers: { 'content-type': status === 200 ? 'text/event-stream' : 'application/json' } });
  });
  return calls;
}

const run = (api: 'chat' | 'responses') => {
  const deltas: string[] = [];
  const done = streamChat({
    api, apiKey: 'sk-test', model: 'm', temperature: 0.5, maxTokens: 64, signal: new AbortController().signal,
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }, { role: 'user', content: 'Again' }],
    onDelta: (d) => deltas.push(d),
  });
  return { deltas, done };
};

afterEach(() => { vi.unstubAllGlobals(); });

describe('playground streaming', () => {
  it('sends the Responses API request: instructions from the system prompt, the turns as input, max_output_tokens', async () => {
    const calls = stubFetch(200, RESPONSES);
    const { done } = run('responses');
    await done;
    expect(calls[0]!.url).toBe('/v1/responses');
    expect((calls[0]!.init.headers as Record<string, string>).authorization).toBe('Bearer sk-test');
    expect(JSON.parse(calls[0]!.init.body as string)).toEqual({
      model: 'm', stream: true, store: false, instructions: 'Be brief.', temperature: 0.5, max_output_tokens: 64,
      input: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }, { role: 'user', content: 'Again' }],
    });
  });

  it.each([1, 3, 7, 4096])('reads Responses deltas and the completed usage, %i bytes at a time', async (size) => {
    stubFetch(200, RESPONSES, size);
    const { deltas, done } = run('responses');
    const r = await done;
    expect(deltas.join('')).toBe('Bonjour, café ☕');
    expect(r.usage).toEqual({ prompt_tokens: 12, completion_tokens: 5, cached_tokens: 8 });
    expect(r.firstTokenMs).toBeGreaterThanOrEqual(0);
  });

  it('reads CRLF-framed streams and multi-line data', async () => {
    const text = RESPONSES.replace(/\n/g, '\r\n');
    stubFetch(200, text, 5);
    const { deltas, done } = run('responses');
    expect((await done).usage?.completion_tokens).toBe(5);
    expect(deltas.join('')).toBe('Bonjour, café ☕');
    const multi: string[] = [];
    for await (const d of sseData(body('event: x\ndata: {"a":\ndata: 1}\n\n: comment\ndata: last', 2))) multi.push(d);
    expect(multi).toEqual(['{"a":\n1}', 'last']);
    // A CRLF split between two chunks is one line end, not an empty line that would end the event.
    const crlf: string[] = [];
    for await (const d of sseData(body('data: a\r\ndata: b\r\n\r\n', 8))) crlf.push(d);
    expect(crlf).toEqual(['a\nb']);
  });

  it('stops at a failed response with its reason', async () => {
    stubFetch(200, sse([
      ['response.output_text.delta', { type: 'response.output_text.delta', delta: 'Par' }],
      ['response.failed', { type: 'response.failed', response: { status: 'failed', error: { code: 'server_error', message: 'The upstream broke.' } } }],
    ]));
    const { deltas, done } = run('responses');
    await expect(done).rejects.toThrow(new GatewayError('The upstream broke.'));
    expect(deltas).toEqual(['Par']);
  });

  it('reads the other Responses events as they mean', () => {
    expect(responsesEvent({ type: 'error', message: 'bad' })).toEqual({ error: 'bad' });
    expect(responsesEvent({ type: 'response.incomplete', response: { incomplete_details: { reason: 'max_output_tokens' }, usage: { input_tokens: 1, output_tokens: 64 } } }))
      .toEqual({ done: true, usage: { prompt_tokens: 1, completion_tokens: 64 } });
    expect(responsesEvent({ type: 'response.incomplete', response: { incomplete_details: { reason: 'content_filter' } } }).error).toMatch(/content_filter/);
    expect(responsesEvent({ type: 'response.in_progress', response: {} })).toEqual({});
    expect(responsesEvent({ type: 'response.output_text.delta', delta: '' })).toEqual({});
  });

  it('keeps Chat Completions as it was: include_usage, max_tokens, content deltas until [DONE]', async () => {
    const calls = stubFetch(200, sse([
      [null, { choices: [{ delta: { role: 'assistant' } }] }],
      [null, { choices: [{ delta: { content: 'Hel' } }] }],
      [null, { choices: [{ delta: { content: 'lo' } }] }],
      [null, { choices: [], usage: { prompt_tokens: 9, completion_tokens: 2, prompt_tokens_details: { cached_tokens: 4 } } }],
      [null, '[DONE]'],
    ]), 3);
    const { deltas, done } = run('chat');
    const r = await done;
    expect(calls[0]!.url).toBe('/v1/chat/completions');
    const sent = JSON.parse(calls[0]!.init.body as string);
    expect(sent).toMatchObject({ model: 'm', stream: true, stream_options: { include_usage: true }, max_tokens: 64, temperature: 0.5 });
    expect(sent.messages[0]).toEqual({ role: 'system', content: 'Be brief.' });
    expect(deltas.join('')).toBe('Hello');
    expect(r.usage).toEqual({ prompt_tokens: 9, completion_tokens: 2, cached_tokens: 4 });
    expect(chatEvent({ error: { message: 'budget' } })).toEqual({ error: 'budget' });
  });

  it('turns a refusal into the gateway\'s message', async () => {
    stubFetch(429, JSON.stringify({ error: { message: 'Budget exceeded for this key', type: 'budget_exceeded' } }));
    const { done } = run('responses');
    await expect(done).rejects.toMatchObject({ name: 'GatewayError', status: 429, message: 'Budget exceeded for this key' });
  });
});
