/**
 * @module One streamed reply from the gateway (`/v1` on this origin), through Chat Completions
 * (`/v1/chat/completions` with `include_usage`) or the Responses API (`/v1/responses`): POST with
 * `stream: true`, read the event stream as it arrives, hand each text delta to `onDelta`, keep the
 * usage. Both APIs share the reader; each has a small function that says what one event means.
 * Times the first token and the whole reply.
 */

import i18n from './i18n';
export type ChatApi = 'chat' | 'responses';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Usage in Chat Completions' terms, whichever API answered. */
export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  /** Prompt tokens served from the upstream's prefix cache. */
  cached_tokens?: number;
}

export interface ChatResult {
  usage?: ChatUsage;
  /** Milliseconds from sending to the first content delta. */
  firstTokenMs?: number;
  /** Milliseconds from sending to the end of the stream. */
  totalMs: number;
}

export class GatewayError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'GatewayError';
  }
}

/** What one event of a stream means to the playground. */
export interface StreamEvent {
  delta?: string;
  usage?: ChatUsage;
  error?: string;
  /** The API's own end of stream (before the connection closes). */
  done?: boolean;
}

type ErrorField = { message?: string } | string | null | undefined;
const errorText = (error: ErrorField, fallback = i18n.t('errors.modelStopped')) =>
  typeof error === 'string' ? error : error?.message ?? fallback;
const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** A Chat Completions chunk: `choices[0].delta.content`, `usage`, or an `error`. */
export function chatEvent(data: any): StreamEvent {
  if (data?.error) return { error: errorText(data.error) };
  const out: StreamEvent = {};
  const text = data?.choices?.[0]?.delta?.content;
  if (typeof text === 'string' && text) out.delta = text;
  if (data?.usage) {
    const cached = data.usage.prompt_tokens_details?.cached_tokens;
    out.usage = { prompt_tokens: count(data.usage.prompt_tokens), completion_tokens: count(data.usage.completion_tokens), ...(cached ? { cached_tokens: count(cached) } : {}) };
  }
  return out;
}

/**
 * A Responses API event, by its `type`: `response.output_text.delta` carries text in `delta`;
 * `response.completed` ends the reply with `response.usage` (input/output tokens);
 * `response.failed`, `response.incomplete` and `error` end it with a reason. Others (created,
 * in_progress, output_item.added, content_part.*, output_text.done…) say nothing new here.
 */
export function responsesEvent(data: any): StreamEvent {
  switch (data?.type) {
    case 'response.output_text.delta':
      return typeof data.delta === 'string' && data.delta ? { delta: data.delta } : {};
    case 'response.completed': {
      const u = data.response?.usage;
      if (!u) return { done: true };
      const cached = u.input_tokens_details?.cached_tokens;
      return { done: true, usage: { prompt_tokens: count(u.input_tokens), completion_tokens: count(u.output_tokens), ...(cached ? { cached_tokens: count(cached) } : {}) } };
    }
    case 'response.failed':
      return { error: errorText(data.response?.error) };
    case 'response.incomplete': {
      const why = data.response?.incomplete_details?.reason;
      // Running out of max_output_tokens is a finished reply, as a chat completion's finish_reason "length" is.
      if (why === 'max_output_tokens') return responsesEvent({ ...data, type: 'response.completed' });
      return { error: `The reply stopped early${why ? ` (${why})` : ''}.` };
    }
    case 'error':
      return { error: errorText(data.error ?? data.message) };
    default:
      return data?.error ? { error: errorText(data.error) } : {};
  }
}

/** The `data` of each event of an SSE body, joined across lines, as events complete. */
export async function* sseData(body: ReadableStream<BufferSource>): AsyncGenerator<string> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let data: string[] = [];
  try {
    for (;;) {
      const read = await reader.read();
      if (read.done) break;
      buffer += read.value;
      // A CR at the end may be the first half of a CRLF: keep it with the unfinished line.
      const held = buffer.endsWith('\r') ? '\r' : '';
      const lines = (held ? buffer.slice(0, -1) : buffer).split(/\r\n|\r|\n/);
      buffer = (lines.pop() ?? '') + held; // the last piece may be half a line
      for (const line of lines) {
        if (line === '') {
          if (data.length) yield data.join('\n');
          data = [];
        } else if (line.startsWith('data:')) {
          data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
        } // comments, `event:` names (the JSON repeats them as `type`), ids
      }
    }
    buffer = buffer.replace(/\r$/, '');
    if (buffer.startsWith('data:')) data.push(buffer.slice(buffer.startsWith('data: ') ? 6 : 5));
    if (data.length) yield data.join('\n');
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

async function responseError(res: Response): Promise<GatewayError> {
  let message = `The gateway answered ${res.status} ${res.statusText}`.trim();
  try {
    const body = (await res.json()) as { error?: ErrorField };
    if (body.error) message = errorText(body.error);
  } catch {
    // Not JSON: keep the status line.
  }
  return new GatewayError(message, res.status);
}

function requestBody(api: ChatApi, o: { model: string; messages: ChatMessage[]; temperature?: number; maxTokens?: number }) {
  const temperature = o.temperature !== undefined ? { temperature: o.temperature } : {};
  if (api === 'chat') {
    return {
      model: o.model, messages: o.messages, stream: true, stream_options: { include_usage: true },
      ...temperature, ...(o.maxTokens !== undefined && { max_tokens: o.maxTokens }),
    };
  }
  const system = o.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
  return {
    model: o.model, stream: true, store: false,
    ...(system && { instructions: system }),
    input: o.messages.filter((m) => m.role !== 'system').map(({ role, content }) => ({ role, content })),
    ...temperature, ...(o.maxTokens !== undefined && { max_output_tokens: o.maxTokens }),
  };
}

export async function streamChat(options: {
  api?: ChatApi;
  apiKey: string;
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  signal: AbortSignal;
  onDelta: (text: string) => void;
}): Promise<ChatResult> {
  const api = options.api ?? 'chat';
  const started = performance.now();
  const res = await fetch(api === 'chat' ? '/v1/chat/completions' : '/v1/responses', {
    method: 'POST',
    headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(requestBody(api, options)),
    signal: options.signal,
  });
  if (!res.ok) throw await responseError(res);
  if (!res.body) throw new GatewayError(i18n.t('errors.noBody'));

  const read = api === 'chat' ? chatEvent : responsesEvent;
  const result: ChatResult = { totalMs: 0 };
  for await (const data of sseData(res.body)) {
    if (data.trim() === '[DONE]') break;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      continue; // not an event the playground reads
    }
    const event = read(parsed);
    if (event.error) throw new GatewayError(event.error);
    if (event.delta) {
      result.firstTokenMs ??= performance.now() - started;
      options.onDelta(event.delta);
    }
    if (event.usage) result.usage = event.usage;
    if (event.done) break;
  }
  result.totalMs = performance.now() - started;
  return result;
}
