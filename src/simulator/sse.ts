/**
 * @module Server-sent events exactly as OpenAI/vLLM frame them: one
 * `data: <json>\n\n` per token piece (chat opens with a role chunk), the
 * finish_reason on the last content chunk, `"usage":null` on every chunk and a
 * final `choices: []` usage chunk only when `stream_options.include_usage`,
 * then `data: [DONE]`. Written token by token with the inter-token latency,
 * or in a single write when there is none.
 */
import type { ServerResponse } from 'node:http';
import type { RequestClock } from './clock.js';
import type { Plan } from './completions.js';

const DONE = 'data: [DONE]\n\n';

/**
 * The stream as frames: frame i is what is written for token i (the first
 * also carries the role chunk, the last also the usage chunk and [DONE]).
 */
export function sseFrames(p: Plan): string[] {
  const chat = p.kind === 'chat';
  const head = `data: {"id":"${p.id}","object":"${chat ? 'chat.completion.chunk' : 'text_completion'}","created":${p.created},"model":${JSON.stringify(p.model)},"choices":[`;
  const tail = p.includeUsage ? '],"usage":null}\n\n' : ']}\n\n';
  const choice = (text: string, finish: string | null) => (chat
    ? `{"index":0,"delta":{"content":${JSON.stringify(text)}},"logprobs":null,"finish_reason":${finish ? `"${finish}"` : 'null'}}`
    : `{"index":0,"text":${JSON.stringify(text)},"logprobs":null,"finish_reason":${finish ? `"${finish}"` : 'null'}}`);

  const pieces = p.pieces.length > 0 ? p.pieces : [''];
  const last = pieces.length - 1;
  const frames = pieces.map((piece, i) => head + choice(piece, i === last ? p.finishReason : null) + tail);
  if (chat) frames[0] = `${head}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}${tail}${frames[0]}`;
  if (p.includeUsage) frames[last] += `${head}],"usage":${JSON.stringify(p.usage)}}\n\n`;
  frames[last] += DONE;
  return frames;
}

export interface StreamTiming { ttftMs: number; itlMs: number; resetMid: boolean }

/** Streams the plan; stops (timers cleared by the clock) as soon as the client leaves. */
export async function writeStream(res: ServerResponse, p: Plan, clock: RequestClock, t: StreamTiming): Promise<void> {
  let frames = sseFrames(p);
  if (t.resetMid) frames = firstHalf(frames);
  if (!(await clock.sleep(t.ttftMs))) return;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  // The last write ends the response, or (reset-mid) destroys the socket once it has left.
  const last = (data: string) => { if (t.resetMid) res.write(data, () => clock.reset(res)); else res.end(data); };
  if (t.itlMs <= 0) { last(frames.join('')); return; }
  for (let i = 0; i < frames.length - 1; i++) {
    res.write(frames[i]!);
    if (!(await clock.sleep(t.itlMs))) return;
  }
  last(frames[frames.length - 1]!);
}

/** For `reset-mid`: the first half of the frames, never the whole stream (a lone frame is cut in half). */
function firstHalf(frames: string[]): string[] {
  if (frames.length > 1) return frames.slice(0, frames.length >> 1);
  const only = frames[0]!;
  return [only.slice(0, only.length >> 1)];
}
