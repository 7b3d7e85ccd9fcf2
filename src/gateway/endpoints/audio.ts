/**
 * @module POST /v1/audio/transcriptions and /v1/audio/translations, as vLLM
 * serves them for speech models: a multipart upload (the file, `model`,
 * `stream`…), an answer `{text, usage?}` or, with `stream=true`, OpenAI-style
 * chunks with the usage chunk the gateway asks for. Billed per audio minute
 * — the duration the upstream reports, else the one the gateway measured
 * (a WAV header, or the container's own by music-metadata: mp3, ogg, flac,
 * m4a, webm…), else the reserved bound, flagged estimated — and by tokens
 * when the upstream reports them.
 */
import { parseBuffer } from 'music-metadata';
import { count, readUsage, type Usage } from '../../ledger/meter.js';
import { bad, choicesOutput, len, openaiStreamUsage, TOP_MODEL } from './common.js';
import { formBoolean, isFile, writeForm, type FilePart, type FormFields } from './multipart.js';
import type { Bounds, ClientRequest, Endpoint } from './types.js';

/** Whisper decodes 30 s windows of at most 448 tokens each. */
const WINDOW_MS = 30_000;
const WINDOW_TOKENS = 448;
/** The lowest bitrate a speech codec uses (Opus at 6 kbit/s): no audio file lasts longer per byte. */
const MIN_BYTES_PER_SECOND = 750;

/**
 * The duration of a PCM WAV file in ms, from its `data` size and the slower of
 * its two rate fields (the byte rate, and sample rate × block align, which is
 * what decoders use): a forged byte rate cannot shorten what is billed.
 * Null when it is not a WAV file.
 */
export function wavDurationMs(b: Buffer): number | null {
  if (b.length < 12 || b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WAVE') return null;
  let byteRate = 0;
  for (let at = 12; at + 8 <= b.length;) {
    const id = b.toString('latin1', at, at + 4);
    const size = b.readUInt32LE(at + 4);
    // fmt: format(2) channels(2) sampleRate(4) byteRate(4) blockAlign(2) bits(2)
    if (id === 'fmt ' && at + 22 <= b.length) {
      const rates = [b.readUInt32LE(at + 16), b.readUInt32LE(at + 12) * b.readUInt16LE(at + 20)].filter((x) => x > 0);
      byteRate = rates.length ? Math.min(...rates) : 0;
    }
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

/** The duration of an audio file in ms as its container states it (music-metadata), or null when it cannot tell. */
export async function containerDurationMs(file: FilePart): Promise<number | null> {
  try {
    const meta = await parseBuffer(file.bytes, { mimeType: file.type, size: file.bytes.length }, { duration: true, skipCovers: true, skipPostHeaders: true });
    const s = meta.format.duration;
    return typeof s === 'number' && Number.isFinite(s) && s > 0 ? count(Math.ceil(s * 1000)) : null;
  } catch {
    return null; // not a format it knows: the bound by size stands
  }
}

/** Seconds as an upstream may write them: a number or a numeric string (vLLM's verbose_json `duration`). */
const seconds = (v: unknown): number | null => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) && n >= 0 ? count(Math.ceil(n * 1000)) : null;
};

/** `usage` of a transcription: `{type: "duration", seconds}`, or tokens (OpenAI's `input_tokens`/`output_tokens`, or vLLM's prompt/completion counts). */
export function audioUsage(u: unknown): Usage | null {
  if (!u || typeof u !== 'object') return null;
  const o = u as Record<string, unknown>;
  const audioMs = o.type === 'duration' ? seconds(o.seconds) : null;
  const tokens = readUsage(o) ?? (count(o.input_tokens) !== null || count(o.output_tokens) !== null
    ? { promptTokens: count(o.input_tokens) ?? 0, completionTokens: count(o.output_tokens) ?? 0 } : null);
  if (!tokens && audioMs === null) return null;
  const usage: Usage = tokens ?? { promptTokens: 0, completionTokens: 0 };
  if (audioMs !== null) usage.audioMs = audioMs;
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
    async parse(b) {
      const file = b.file;
      if (!isFile(file)) throw bad("'file' is required: the audio file, as a multipart file part", 'file');
      if (file.bytes.length === 0) throw bad("'file' is empty", 'file');
      const measured = wavDurationMs(file.bytes) ?? await containerDurationMs(file);
      // A container may understate its duration as a forged WAV header could: never bound below what the bytes could hold at the
      // highest rate a speech model reads (16 kHz, 16-bit stereo PCM, 64 kB/s).
      const floor = Math.ceil((file.bytes.length * 1000) / 64_000);
      return {
        audioMs: measured !== null ? Math.max(measured, floor) : Math.ceil((file.bytes.length * 1000) / MIN_BYTES_PER_SECOND),
        audioMeasuredMs: measured,
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
    // verbose_json carries the duration beside the text, not in `usage`.
    usage(o) {
      const u = audioUsage(o.usage);
      const d = u?.audioMs === undefined ? seconds(o.duration) : null;
      return d === null ? u : { ...(u ?? { promptTokens: 0, completionTokens: 0 }), audioMs: d };
    },
    streamUsage: openaiStreamUsage,
    // Without a duration from the upstream: the one the gateway measured, else the bound it reserved (an estimate).
    settle(u, r) {
      if (u?.audioMs !== undefined) return { usage: u, estimated: false };
      const base = u ?? { promptTokens: 0, completionTokens: 0 };
      if (r.audioMeasuredMs !== null) return { usage: { ...base, audioMs: r.audioMeasuredMs }, estimated: false };
      return { usage: { ...base, audioMs: r.audioMs ?? 0 }, estimated: true };
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
