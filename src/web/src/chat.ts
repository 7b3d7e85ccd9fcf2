/**
 * @module One streamed chat completion against the gateway (`/v1` on this origin): POST with
 * `stream: true` and `include_usage`, then read the SSE body as it arrives, handing each content
 * delta to `onDelta`. Times the first token and the whole reply.
 */

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
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

interface Chunk {
  choices?: { delta?: { content?: string | null } }[];
  usage?: ChatUsage | null;
  error?: { message?: string } | string;
}

function chunkError(error: Chunk['error']): string {
  return typeof error === 'string' ? error : error?.message ?? 'The model stopped with an error.';
}

async function responseError(res: Response): Promise<GatewayError> {
  let message = `The gateway answered ${res.status} ${res.statusText}`.trim();
  try {
    const body = (await res.json()) as { error?: { message?: string } | string };
    if (body.error) message = chunkError(body.error);
  } catch {
    // Not JSON: keep the status line.
  }
  return new GatewayError(message, res.status);
}

export async function streamChat(options: {
  apiKey: string;
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  signal: AbortSignal;
  onDelta: (text: string) => void;
}): Promise<ChatResult> {
  const started = performance.now();
  const res = await fetch('/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: options.model,
      messages: options.messages,
      stream: true,
      stream_options: { include_usage: true },
      ...(options.temperature !== undefined && { temperature: options.temperature }),
      ...(options.maxTokens !== undefined && { max_tokens: options.maxTokens }),
    }),
    signal: options.signal,
  });
  if (!res.ok) throw await responseError(res);
  if (!res.body) throw new GatewayError('The gateway sent no body.');

  const result: ChatResult = { totalMs: 0 };
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let done = false;
  while (!done) {
    const read = await reader.read();
    if (read.done) break;
    buffer += read.value;
    const lines = buffer.split(/\r?\n/);
    buffer = lines.pop() ?? ''; // the last piece may be half a line
    for (const line of lines) {
      if (!line.startsWith('data:')) continue; // comments, event names, blank separators
      const data = line.slice(5).trim();
      if (data === '[DONE]') {
        done = true;
        break;
      }
      const chunk = JSON.parse(data) as Chunk;
      if (chunk.error) throw new GatewayError(chunkError(chunk.error));
      const text = chunk.choices?.[0]?.delta?.content;
      if (text) {
        result.firstTokenMs ??= performance.now() - started;
        options.onDelta(text);
      }
      if (chunk.usage) result.usage = chunk.usage;
    }
  }
  if (done) await reader.cancel().catch(() => undefined);
  result.totalMs = performance.now() - started;
  return result;
}
