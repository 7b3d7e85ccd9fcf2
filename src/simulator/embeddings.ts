/**
 * @module Deterministic embeddings: each input becomes a unit vector seeded by
 * the sha256 of its text, so the same text always embeds the same way, as
 * floats or as base64 float32 little-endian (what the openai client asks for
 * by default). Also the request parsing and the OpenAI-shaped response.
 */
import { createHash } from 'node:crypto';
import { countTokens } from './text.js';
import type { Invalid } from './completions.js';

const MAX_INPUTS = 2048;
const MAX_DIM = 16_384;

/** A unit-norm vector of `dim` floats derived from `text` (xorshift32 seeded by its sha256). */
export function embed(text: string, dim: number): Float32Array {
  const v = new Float32Array(dim);
  let s = createHash('sha256').update(text).digest().readUInt32LE(0) || 0x9e3779b9;
  let norm = 0;
  for (let i = 0; i < dim; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    const x = s / 0x100000000 - 0.5;
    v[i] = x;
    norm += x * x;
  }
  const inv = 1 / (Math.sqrt(norm) || 1);
  for (let i = 0; i < dim; i++) v[i] = v[i]! * inv;
  return v;
}

/** float32 little-endian bytes, base64 — independent of the host's byte order. */
export function toBase64(v: Float32Array): string {
  const buf = Buffer.allocUnsafe(v.length * 4);
  for (let i = 0; i < v.length; i++) buf.writeFloatLE(v[i]!, i * 4);
  return buf.toString('base64');
}

interface Input { text: string; tokens: number }
const isTokenArray = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number');
const fromText = (text: string): Input => ({ text, tokens: Math.max(1, countTokens(text)) });
const fromIds = (ids: number[]): Input => ({ text: `\u0000ids:${ids.join(',')}`, tokens: ids.length });

function readInputs(raw: unknown): Input[] | null {
  if (typeof raw === 'string') return [fromText(raw)];
  if (isTokenArray(raw)) return [fromIds(raw)];
  if (!Array.isArray(raw) || raw.length === 0) return null;
  const out: Input[] = [];
  for (const x of raw) {
    if (typeof x === 'string') out.push(fromText(x));
    else if (isTokenArray(x)) out.push(fromIds(x));
    else return null;
  }
  return out;
}

/** The JSON response body for an embeddings request, or why it is invalid. */
export function embeddingsBody(body: Record<string, unknown>, model: string, defaultDim: number, maxModelLen: number): string | Invalid {
  const inputs = readInputs(body.input);
  if (!inputs) return { message: 'input must be a string, an array of strings, or token ids', param: 'input', code: 'invalid_request_error' };
  if (inputs.length > MAX_INPUTS) return { message: `input may hold at most ${MAX_INPUTS} items`, param: 'input', code: 'invalid_request_error' };
  const d = body.dimensions ?? defaultDim;
  if (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > MAX_DIM) return { message: `dimensions must be an integer from 1 to ${MAX_DIM}`, param: 'dimensions', code: 'invalid_request_error' };
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') return { message: 'encoding_format must be "float" or "base64"', param: 'encoding_format', code: 'invalid_request_error' };
  let tokens = 0;
  for (const x of inputs) {
    if (x.tokens > maxModelLen) return { message: `This model's maximum context length is ${maxModelLen} tokens. However, an input has ${x.tokens} tokens.`, param: 'input', code: 'context_length_exceeded' };
    tokens += x.tokens;
  }
  const data = inputs.map((x, index) => {
    const v = embed(x.text, d);
    return { object: 'embedding', index, embedding: format === 'base64' ? toBase64(v) : Array.from(v) };
  });
  return JSON.stringify({ object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
}
