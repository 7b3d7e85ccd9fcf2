/**
 * @module multipart/form-data for audio uploads: parsed by the platform's
 * own parser (undici's `Response.formData()`), written back with the
 * deployment's model name. Files keep their name, type and bytes.
 */
import { randomBytes } from 'node:crypto';
import { bad } from './common.js';

/** A file part, read whole (the body was already bounded by the gateway's limit). */
export interface FilePart { filename: string; type: string; bytes: Buffer }
export type FormFields = Record<string, string | FilePart>;

export function isFile(v: unknown): v is FilePart {
  return !!v && typeof v === 'object' && Buffer.isBuffer((v as FilePart).bytes);
}

/** The form's fields in order; a repeated field keeps its last value (as vLLM's form parsing does). */
export async function parseForm(raw: Buffer, contentType: string): Promise<FormFields> {
  let form: FormData;
  try {
    form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
  } catch {
    throw bad('The request body is not valid multipart/form-data.');
  }
  const out: FormFields = {};
  for (const [name, value] of form) {
    if (typeof value === 'string') out[name] = value;
    else out[name] = { filename: value.name || 'audio', type: value.type || 'application/octet-stream', bytes: Buffer.from(await value.arrayBuffer()) };
  }
  return out;
}

const quote = (s: string): string => s.replace(/["\r\n\\]/g, (c) => (c === '"' ? '%22' : c === '\\' ? '\\\\' : ''));

/** Serialises fields as multipart/form-data with a fresh boundary. */
export function writeForm(fields: FormFields): { body: Buffer; contentType: string } {
  const boundary = `----litemaas${randomBytes(12).toString('hex')}`;
  const parts: Buffer[] = [];
  for (const [name, v] of Object.entries(fields)) {
    if (isFile(v)) {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${quote(name)}"; filename="${quote(v.filename)}"\r\nContent-Type: ${v.type.replace(/[\r\n]/g, '')}\r\n\r\n`));
      parts.push(v.bytes, Buffer.from('\r\n'));
    } else {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${quote(name)}"\r\n\r\n${v}\r\n`));
    }
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** A boolean form field as the upstream's form parsing (pydantic) reads one; absent is false, anything else null. */
export function formBoolean(v: unknown): boolean | null {
  if (v === undefined) return false;
  if (typeof v !== 'string') return null;
  const s = v.trim().toLowerCase();
  if (['true', '1', 'yes', 'on', 't', 'y'].includes(s)) return true;
  if (['false', '0', 'no', 'off', 'f', 'n'].includes(s)) return false;
  return null;
}
