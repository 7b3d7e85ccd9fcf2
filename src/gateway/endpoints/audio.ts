/**
 * @module POST /v1/audio/transcriptions and /v1/audio/translations, as vLLM
 * serves them for speech models: a multipart upload (the file, `model`,
 * `stream`…), an answer `{text, usage?}` or, with `stream=true`, OpenAI-style
 * chunks with the usage chunk the gateway asks for. Billed per audio minute
 * (the duration the upstream reports, else the one read from a WAV header)
 * and by tokens when the upstream reports them.
 */
import { count, readUsage, type Usage } from '../../ledger/meter.js';
import { bad, choicesOutput, len, openaiStreamUsage, TOP_MODEL } from './common.js';
import { formBoolean, isFile, writeForm, type FormFields } from './multipart.js';
import type { Bounds, ClientRequest, Endpoint } from './types.js';

/** Whisper decodes 30 s windows of at most 448 tokens each. */
const WINDOW_MS = 30_000;
const WINDOW_TOKENS = 448;
/** The lowest bitrate a speech codec uses (Opus at 6 kbit/s): no audio file lasts longer per byte. */
const MIN_BYTES_PER_SECOND = 750;

/** The duration of a PCM WAV file in ms, from its `fmt ` byte rate and `data` size; null when it is not one. */
export function wavDurationMs(b: Buffer): number | null {
  if (b.length < 12 || b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WAVE') return null;
  let byteRate = 0;
  for (let at = 12; at + 8 <= b.length;) {
    const id = b.toString('latin1', at, at + 4);
    const size = b.readUInt32LE(at + 4);
    if (id === 'fmt ' && at + 20 <= b.length) byteRate = b.readUInt32LE(at + 16); // the byte rate is the fmt chunk's bytes 8–11
    if (id === 'data') {
      if (!byteRate) return null;
      // A streaming writer may leave the size unset (0 or 0xFFFFFFFF): the bytes present are the data.
      const data = size === 0 || size === 0xffffffff || at + 8 + size > b.length ? b.length - at - 8 : size;
      return Math.ceil((data * 1000) / byteRate);
    }
    at += 8 + size + (size & 1);
  }
  return null;
}

/** `usage` of a transcription: `{type: "duration", seconds}`, or tokens (OpenAI's `input_tokens`/`output_tokens`, or vLLM's prompt/completion counts). */
export function audioUsage(u: unknown): Usage | null {
  if (!u || typeof u !== 'object') return null;
  const o = u as Record<string, unknown>;
  const seconds = o.type === 'duration' ? count(typeof o.seconds === 'number' ? o.seconds * 1000 : null) : null;
  const tokens = readUsage(o) ?? (count(o.input_tokens) !== null || count(o.output_tokens) !== null
    ? { promptTokens: count(o.input_tokens) ?? 0, completionTokens: count(o.output_tokens) ?? 0 } : null);
  if (!tokens && seconds === null) return null;
  const usage: Usage = tokens ?? { promptTokens: 0, completionTokens: 0 };
  if (seconds !== null) usage.audioMs = seconds;
  return usage;
}

function audioEndpoint(name: 'transcriptions' | 'translations'): Endpoint {
  const endpoint: Endpoint = {
    name,
    paths: [`/v1/audio/${name}`],
    upstreamPath: `/audio/${name}`,
    kinds: ['audio'],
    errors: 'openai',
    body: 'multipart',
    generates: true,
    streams: true,
    maxTokensField: null,
    parse(b) {
      const file = b.file;
      if (!isFile(file)) throw bad("'file' is required: the audio file, as a multipart file part", 'file');
      if (file.bytes.length === 0) throw bad("'file' is empty", 'file');
      const wav = wavDurationMs(file.bytes);
      return {
        audioMs: wav ?? Math.ceil((file.bytes.length * 1000) / MIN_BYTES_PER_SECOND),
        audioMeasuredMs: wav,
        includeUsage: formBoolean(b.stream_include_usage) === true,
      };
    },
    bounds(r, contextLength) {
      const windows = Math.max(1, Math.ceil((r.audioMs ?? 0) / WINDOW_MS));
      const perWindow = contextLength ?? WINDOW_TOKENS;
      return { prompt: perWindow * windows, completion: perWindow * windows, audioMs: r.audioMs ?? 0, injectMaxTokens: null };
    },
    upstream(r: ClientRequest, upstreamModel: string, _b: Bounds) {
      const fields: FormFields = { ...(r.body as FormFields), model: upstreamModel };
      // The usage chunk is asked for on the client's behalf (and hidden from it unless it asked too).
      if (r.stream) fields.stream_include_usage = 'true';
      return writeForm(fields);
    },
    usage: (o) => audioUsage(o.usage),
    streamUsage: openaiStreamUsage,
    // Without a duration from the upstream, the one read from the WAV header is billed.
    settle(u, r) {
      if (u?.audioMs !== undefined || r.audioMeasuredMs === null) return u;
      return { ...(u ?? { promptTokens: 0, completionTokens: 0 }), audioMs: r.audioMeasuredMs };
    },
    output: (o) => len(o.text) + choicesOutput(o),
    modelAt: TOP_MODEL,
    doneSentinel: true,
    hidesUsage: true,
  };
  return endpoint;
}

export const transcriptions = audioEndpoint('transcriptions');
export const translations = audioEndpoint('translations');
