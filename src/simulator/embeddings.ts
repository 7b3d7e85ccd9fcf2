/**
 * @module Deterministic embeddings: a unit vector seeded by the text's hash,
 * as floats or as base64 float32 (what the openai client asks for by default).
 */
import { createHash } from 'node:crypto';

export function embed(text: string, dim: number): Float32Array {
  const v = new Float32Array(dim);
  let seed = createHash('sha256').update(text).digest().readUInt32LE(0) || 1;
  let norm = 0;
  for (let i = 0; i < dim; i++) {
    // xorshift32: cheap, deterministic
    seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
    const x = seed / 0xffffffff - 0.5;
    v[i] = x;
    norm += x * x;
  }
  const n = Math.sqrt(norm) || 1;
  for (let i = 0; i < dim; i++) v[i] = v[i]! / n;
  return v;
}

export function toBase64(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}
