/**
 * @module vLLM's speech-to-text endpoints, `POST /v1/audio/transcriptions`
 * and `/v1/audio/translations` (multipart/form-data). The audio's duration
 * is read from a WAV header (RIFF/WAVE: the fmt chunk's byte rate and the
 * data chunk's size), else taken as 16 000 bytes per second of file. The text
 * is fixed by the duration: one sentence per started 10 seconds. As vLLM:
 * response_format json (transcriptions: `usage: {type: "duration", seconds:
 * ⌈duration⌉}`; translations: text only), text (answered as the same JSON —
 * vLLM does), verbose_json (duration as a string, language, segments; not
 * streamable), srt/vtt refused; `stream` gives `transcription.chunk` /
 * `translation.chunk` deltas, token usage in a final `choices: []` chunk with
 * `stream_include_usage` (on every chunk with `stream_continuous_usage_stats`),
 * then `data: [DONE]`. Prompt tokens: 4 (a Whisper-like decoder prompt) plus
 * the `prompt` field's tokens.
 */
import { countTokens, tokenize } from './text.js';
import { randomHex } from './completions.js';
import type { Form } from './multipart.js';

export const BYTES_PER_SECOND_FALLBACK = 16_000;
const MAX_FILE_BYTES = 25 * 1024 * 1024; // VLLM_MAX_AUDIO_CLIP_FILESIZE_MB's default
const DECODER_PROMPT_TOKENS = 4;

/** Seconds of audio in `data`: from the WAV header when it is one, else by byte length. */
export function audioDuration(data: Buffer): number {
  if (data.length >= 12 && data.toString('latin1', 0, 4) === 'RIFF' && data.toString('latin1', 8, 12) === 'WAVE') {
    let byteRate = 0;
    let at = 12;
    while (at + 8 <= data.length) {
      const id = data.toString('latin1', at, at + 4);
      const size = data.readUInt32LE(at + 4);
      const body = at + 8;
      if (id === 'fmt ' && body + 12 <= data.length) byteRate = data.readUInt32LE(body + 8);
      if (id === 'data' && byteRate > 0) return Math.min(size, data.length - body) / byteRate;
      at = body + size + (size & 1);
    }
  }
  return data.length / BYTES_PER_SECOND_FALLBACK;
}

/** The simulated transcript of `seconds` of audio. */
export function transcript(seconds: number): string {
  const out = [`The simulated speaker talks for ${Math.round(seconds * 10) / 10} seconds.`];
  for (let k = 1; k * 10 < seconds; k++) out.push(`Part ${k + 1} of the recording continues the simulated speech.`);
  return out.join(' ');
}

export interface AudioError { status: number; message: string; param: string | null }
export interface AudioPlan {
  stream: boolean; body: string; frames: string[]; outputTokens: number;
}

const truthy = (v: string | undefined) => v !== undefined && /^(true|1|yes|on)$/i.test(v.trim());

/** The plan for a transcription (`translate` false) or translation, or the error. */
export function planAudio(form: Form, translate: boolean, model: string, maxModelLen: number): AudioPlan | AudioError {
  const file = form.files.get('file');
  if (!file) return { status: 400, message: 'file: Field required', param: 'file' };
  if (file.data.length > MAX_FILE_BYTES) return { status: 400, message: 'Maximum file size exceeded', param: 'audio_filesize_mb' };
  const f = form.fields;
  const format = f.get('response_format') ?? 'json';
  if (!['json', 'text', 'srt', 'verbose_json', 'vtt'].includes(format)) return { status: 400, message: "response_format must be one of 'json', 'text', 'srt', 'verbose_json', 'vtt'", param: 'response_format' };
  const stream = truthy(f.get('stream'));
  for (const opt of ['stream_include_usage', 'stream_continuous_usage_stats']) {
    if (truthy(f.get(opt)) && !stream) return { status: 400, message: 'Stream options can only be defined when `stream=True`.', param: opt };
  }
  if (!['text', 'json', 'verbose_json'].includes(format)) return { status: 400, message: 'Currently only support response_format: `text`, `json` or `verbose_json`', param: null };
  if (format === 'verbose_json' && stream) return { status: 400, message: "verbose_json format doesn't support streaming case", param: null };
  const mct = f.get('max_completion_tokens');
  let maxTokens = maxModelLen;
  if (mct !== undefined) {
    const n = Number(mct);
    if (!Number.isInteger(n) || n < 1) return { status: 400, message: 'max_completion_tokens must be a positive integer', param: 'max_completion_tokens' };
    maxTokens = Math.min(n, maxModelLen);
  }
  const temperature = Number(f.get('temperature') ?? 0) || 0;
  const seconds = audioDuration(file.data);
  const all = tokenize(transcript(seconds));
  const pieces = all.slice(0, maxTokens);
  const finish = all.length > maxTokens ? 'length' : 'stop';
  const text = pieces.join('');
  const promptTokens = DECODER_PROMPT_TOKENS + countTokens(f.get('prompt') ?? '');

  let body: Record<string, unknown>;
  if (format === 'verbose_json') {
    const segments = pieces.length === 0 ? [] : [{
      id: 0, avg_logprob: -0.25, compression_ratio: 1.0, end: Math.round(seconds * 100) / 100, no_speech_prob: null,
      seek: 0, start: 0, temperature, text, tokens: pieces.map((_, i) => 50_365 + i),
    }];
    body = { duration: String(seconds), language: f.get('language') ?? 'en', text, segments, words: null };
  } else {
    body = translate ? { text } : { text, usage: { type: 'duration', seconds: Math.ceil(seconds) } };
  }

  const id = `${translate ? 'translate' : 'transcribe'}-${randomHex(16)}`;
  const object = translate ? 'translation.chunk' : 'transcription.chunk';
  const created = Math.floor(Date.now() / 1000);
  const includeUsage = truthy(f.get('stream_include_usage'));
  const continuous = includeUsage && truthy(f.get('stream_continuous_usage_stats'));
  const model_ = f.get('model') ?? model;
  const usageAt = (n: number) => ({ prompt_tokens: promptTokens, completion_tokens: n, total_tokens: promptTokens + n });
  const frames = (pieces.length ? pieces : ['']).map((p, i, arr) => {
    const last = i === arr.length - 1;
    const choice = last ? { delta: { content: p }, finish_reason: finish, stop_reason: null } : { delta: { content: p } };
    const chunk: Record<string, unknown> = { id, object, created, model: model_, choices: [choice] };
    if (continuous) chunk.usage = usageAt(i + 1);
    return `data: ${JSON.stringify(chunk)}\n\n`;
  });
  if (includeUsage) frames[frames.length - 1] += `data: ${JSON.stringify({ id, object, created, model: model_, choices: [], usage: usageAt(pieces.length) })}\n\n`;
  frames[frames.length - 1] += 'data: [DONE]\n\n';
  return { stream, body: JSON.stringify(body), frames, outputTokens: pieces.length };
}
