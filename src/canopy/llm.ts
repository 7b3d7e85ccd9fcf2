/**
 * @module Canopy's only dependency on Llama Stack: a streaming
 * `/v1/chat/completions` call (plus `/v1/models`), through the same upstream
 * client the gateway uses. Deltas are handed on as they arrive; every way it
 * can fail becomes one sentence a person can act on.
 */
import { StringDecoder } from 'node:string_decoder';
import { SseReader } from '../gateway/sse.js';
import { UpstreamClients, readBody, type Exchange } from '../gateway/upstream.js';

export interface ChatMessage { role: 'system' | 'user' | 'assistant'; content: string }
export interface ChatCall { model: string; messages: ChatMessage[]; maxTokens: number; temperature: number }
export interface StreamHandlers { delta(text: string): void }

const TIMEOUT_MS = 300_000;

export class LlamaStackClient {
  private readonly clients = new UpstreamClients(32);

  constructor(readonly baseUrl: string) {}

  /** Streams one chat completion; resolves when done, rejects with a readable Error. */
  async chat(call: ChatCall, on: StreamHandlers, signal: AbortSignal): Promise<void> {
    const body = JSON.stringify({ model: call.model, messages: call.messages, max_tokens: call.maxTokens, temperature: call.temperature, stream: true });
    const x = this.clients.send({ url: `${this.baseUrl}/v1`, token: null, timeoutMs: TIMEOUT_MS }, '/chat/completions', body, 'text/event-stream');
    const onAbort = () => x.abort(new Error('client left'));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await x.started;
      if (x.error) throw new Error(`Llama Stack at ${this.baseUrl} cannot be reached (${(x.error as { code?: string }).code ?? x.error.message}).`);
      if (x.status < 200 || x.status >= 300) throw new Error(await refusal(x));
      await relaySse(x, on);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  async models(): Promise<string[]> {
    const x = this.clients.send({ url: `${this.baseUrl}/v1`, token: null, timeoutMs: 10_000 }, '/models', null);
    await x.started;
    if (x.error || x.status !== 200) return [];
    const j = JSON.parse((await readBody(x)).toString('utf8')) as { data?: Array<{ identifier?: string; id?: string }> };
    return (j.data ?? []).map((m) => m.identifier ?? m.id ?? '').filter(Boolean);
  }

  close(): Promise<void> { return this.clients.close(); }
}

/** A non-2xx answer as a sentence: who refused, with their own message (e.g. LiteMaaS's "API key revoked"). */
async function refusal(x: Exchange): Promise<string> {
  const text = (await readBody(x).catch(() => Buffer.alloc(0))).toString('utf8');
  let detail = text.slice(0, 300);
  try {
    const j = JSON.parse(text) as { error?: { message?: string } | string; detail?: string; message?: string };
    detail = (typeof j.error === 'object' ? j.error?.message : j.error) ?? j.detail ?? j.message ?? detail;
  } catch { /* not JSON: keep the text */ }
  const who = x.status === 401 || x.status === 403 ? 'The model service refused the API key'
    : x.status === 404 ? 'The model was not found'
      : x.status === 429 ? 'The model service is rate-limiting or the budget is used up'
        : `The model service failed (${x.status})`;
  return `${who}: ${detail}`;
}

/**
 * Reads upstream SSE (any framing a Llama Stack or gateway may send; the
 * gateway's WHATWG reader) and hands on each content delta; an error event
 * or a cut-off stream rejects.
 */
function relaySse(x: Exchange, on: StreamHandlers): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const decoder = new StringDecoder('utf8'); // a character split across chunks stays whole
    const reader = new SseReader(({ data }) => {
      if (data === '[DONE]') { done = true; return; }
      let j: { choices?: Array<{ delta?: { content?: string } }>; error?: { message?: string } };
      try { j = JSON.parse(data); } catch { return; }
      if (j.error) throw new Error(`The model service failed mid-answer: ${j.error.message ?? 'unknown error'}`);
      const t = j.choices?.[0]?.delta?.content;
      if (t) on.delta(t);
    });
    x.consume({
      data: (c) => {
        try { reader.push(decoder.write(c)); } catch (err) { x.abort(err as Error); reject(err); }
      },
      end: () => {
        try { reader.push(decoder.end()); reader.end(); } catch (err) { return reject(err); }
        if (done) resolve(); else reject(new Error('The answer was cut off: the model service closed the stream early.'));
      },
      error: (err) => reject(new Error(`The answer was cut off: ${(err as { code?: string }).code ?? err.message}.`)),
    });
  });
}
