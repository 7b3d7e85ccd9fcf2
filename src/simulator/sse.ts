/**
 * @module Server-sent events. Chat/completions exactly as OpenAI/vLLM frame
 * them: one `data: <json>\n\n` per token piece (chat opens with a role chunk),
 * the finish_reason on the last content chunk, `"usage":null` on every chunk
 * and a final `choices: []` usage chunk only when
 * `stream_options.include_usage`, then `data: [DONE]`. A tool call streams as
 * `tool_calls` deltas (the name, then one per argument piece). The other
 * APIs build their own frames and share the writer and the framing options:
 * CRLF line endings and Python-style spaced JSON, for testing clients.
 */
import type { ServerResponse } from 'node:http';
import type { RequestClock } from './clock.js';
import type { Plan } from './completions.js';
import { chatLogprob, completionLogprobs } from './logprobs.js';
import { pyJson } from './json.js';

const DONE = 'data: [DONE]\n\n';

/**
 * The stream as frames: frame i is what is written for token i (the first
 * also carries the role chunk, the last also the usage chunk and [DONE]).
 */
export function sseFrames(p: Plan): string[] {
  const chat = p.kind === 'chat';
  const head = `data: {"id":"${p.id}","object":"${chat ? 'chat.completion.chunk' : 'text_completion'}","created":${p.created},"model":${JSON.stringify(p.model)},"choices":[`;
  const tail = p.includeUsage ? '],"usage":null}\n\n' : ']}\n\n';
  const finish = (f: string | null) => (f ? `"${f}"` : 'null');
  let offset = 0;
  const logprobs = (piece: string): string => {
    if (p.logprobs === null) return 'null';
    if (chat) return JSON.stringify({ content: [chatLogprob(piece, p.logprobs)] });
    const lp = JSON.stringify(completionLogprobs([piece], p.logprobs, offset));
    offset += piece.length;
    return lp;
  };
  const choice = (text: string, f: string | null) => (chat
    ? `{"index":0,"delta":{"content":${JSON.stringify(text)}},"logprobs":${logprobs(text)},"finish_reason":${finish(f)}}`
    : `{"index":0,"text":${JSON.stringify(text)},"logprobs":${logprobs(text)},"finish_reason":${finish(f)}}`);

  let frames: string[];
  if (p.toolCall) {
    const t = p.toolCall;
    const last = t.argPieces.length;
    const delta = (d: unknown, i: number) => `${head}{"index":0,"delta":${JSON.stringify({ tool_calls: [d] })},"logprobs":null,"finish_reason":${finish(i === last ? p.finishReason : null)}}${tail}`;
    frames = [delta({ index: 0, id: t.id, type: 'function', function: { name: t.name, arguments: '' } }, 0)];
    t.argPieces.forEach((a, i) => frames.push(delta({ index: 0, function: { arguments: a } }, i + 1)));
  } else {
    const pieces = p.pieces.length > 0 ? p.pieces : [''];
    const last = pieces.length - 1;
    frames = pieces.map((piece, i) => head + choice(piece, i === last ? p.finishReason : null) + tail);
  }
  if (chat) frames[0] = `${head}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}${tail}${frames[0]}`;
  const end = frames.length - 1;
  if (p.includeUsage) frames[end] += `${head}],"usage":${JSON.stringify(p.usage)}}\n\n`;
  frames[end] += DONE;
  return frames;
}

/** How streamed bytes are framed: CRLF line endings; JSON with Python's default separators (and ASCII escapes). */
export interface SseFormat { crlf: boolean; spaced: boolean }
export const PLAIN: SseFormat = { crlf: false, spaced: false };

/** `frames` reframed per `f`: every `data:` JSON re-serialised spaced, every line ending CRLF. Parsed events are unchanged. */
export function reframe(frames: string[], f: SseFormat): string[] {
  if (!f.crlf && !f.spaced) return frames;
  return frames.map((fr) => {
    let s = fr;
    if (f.spaced) {
      s = s.replace(/^data: (.+)$/gm, (line, json: string) => {
        if (json === '[DONE]') return line;
        try { return `data: ${pyJson(JSON.parse(json), true)}`; } catch { return line; }
      });
    }
    return f.crlf ? s.replace(/\n/g, '\r\n') : s;
  });
}

export interface StreamTiming { ttftMs: number; itlMs: number; resetMid: boolean; format: SseFormat }

/** Streams the plan; stops (timers cleared by the clock) as soon as the client leaves. */
export async function writeStream(res: ServerResponse, p: Plan, clock: RequestClock, t: StreamTiming): Promise<void> {
  await writeFrames(res, sseFrames(p), clock, t);
}

/**
 * Writes `frames` as an event stream: the first after the TTFT, the next ones
 * an inter-token latency apart (all in one write when there is none); with
 * reset-mid, only the first half, then the connection is destroyed.
 * Resolves true when the whole stream was written.
 */
export async function writeFrames(res: ServerResponse, frames: string[], clock: RequestClock, t: StreamTiming): Promise<boolean> {
  frames = reframe(frames, t.format);
  if (t.resetMid) frames = firstHalf(frames);
  if (!(await clock.sleep(t.ttftMs))) return false;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  // The last write ends the response, or (reset-mid) destroys the socket once it has left.
  const last = (data: string) => { if (t.resetMid) res.write(data, () => clock.reset(res)); else res.end(data); };
  if (t.itlMs <= 0) { last(frames.join('')); return !t.resetMid; }
  for (let i = 0; i < frames.length - 1; i++) {
    res.write(frames[i]!);
    if (!(await clock.sleep(t.itlMs))) return false;
  }
  last(frames[frames.length - 1]!);
  return !t.resetMid;
}

/** For `reset-mid`: the first half of the frames, never the whole stream (a lone frame is cut in half). */
function firstHalf(frames: string[]): string[] {
  if (frames.length > 1) return frames.slice(0, frames.length >> 1);
  const only = frames[0]!;
  return [only.slice(0, only.length >> 1)];
}

/** A named event as vLLM writes Responses and Anthropic events: `event: <name>\ndata: <json>\n\n`. */
export const namedEvent = (name: string, data: unknown): string => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
