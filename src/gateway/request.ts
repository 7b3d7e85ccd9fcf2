/**
 * @module Compile, then send: a client's request body is validated and
 * turned into an immutable description (endpoint, model, stream, limits)
 * before any I/O; each endpoint's descriptor (./endpoints) says what is
 * specific to its API, and produces the upstream body per deployment.
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError } from './errors.js';
import { BY_PATH, ENDPOINTS } from './endpoints/index.js';
import { bad } from './endpoints/common.js';
import { formBoolean, parseForm, type FormFields } from './endpoints/multipart.js';
import type { Bounds, ClientRequest, Endpoint, EndpointName, Shape } from './endpoints/types.js';

export type { Bounds, ClientRequest };

/** Per sequence, when neither the client nor the model's context length bounds the output (sent upstream in the API's max field). */
export const DEFAULT_MAX_COMPLETION = 4096;
/** Nesting deeper than this is refused: no API takes it, and serialising it would exhaust the stack. */
const MAX_DEPTH = 64;

/**
 * One iterative walk of the body (a hostile body cannot overflow the stack):
 * whether anything nests deeper than `limit`, and the characters of every
 * string and number in it but `model`, a prompt guess that no field of the
 * body (tools, tool-call arguments, odd part shapes) can hide from.
 */
function walk(root: Record<string, unknown>, limit: number): { tooDeep: boolean; chars: number } {
  const values: unknown[] = [];
  const depths: number[] = [];
  let chars = 0;
  for (const k in root) if (k !== 'model') { values.push(root[k]); depths.push(1); }
  while (values.length) {
    const v = values.pop();
    const d = depths.pop()!;
    if (typeof v === 'string') { chars += v.length; continue; }
    if (typeof v === 'number') { chars += 1; continue; }
    if (v === null || typeof v !== 'object') continue;
    if (d > limit) return { tooDeep: true, chars };
    if (Array.isArray(v)) for (const x of v) { values.push(x); depths.push(d + 1); }
    else for (const k in v) { values.push((v as Record<string, unknown>)[k]); depths.push(d + 1); }
  }
  return { tooDeep: false, chars };
}

const byName = (e: Endpoint | EndpointName): Endpoint => (typeof e === 'string' ? ENDPOINTS.find((x) => x.name === e)! : e);

/** The endpoint a client path names, or undefined. */
export const endpointAt = (path: string): Endpoint | undefined => BY_PATH.get(path);

function compile(endpoint: Endpoint, b: Record<string, unknown>, shape: Shape, stream: boolean, bytes: number, promptGuess: number): ClientRequest {
  return {
    endpoint, model: b.model as string, stream, includeUsage: stream && (shape.includeUsage ?? false),
    maxTokens: shape.maxTokens ?? null, choices: shape.choices ?? 1, prompts: shape.prompts ?? 1,
    promptBound: bytes, promptGuess, audioMs: shape.audioMs ?? null, audioMeasuredMs: shape.audioMeasuredMs ?? null,
    previousResponseId: shape.previousResponseId ?? null, body: b,
  };
}

/** A JSON request: the generic checks (object, depth, model, stream), then the endpoint's own. */
export function parseClientRequest(e: Endpoint | EndpointName, raw: Buffer): ClientRequest {
  const endpoint = byName(e);
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw bad('The request body is not valid JSON.');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw bad('The request body must be a JSON object.');
  const b = body as Record<string, unknown>;
  const { tooDeep, chars } = walk(b, MAX_DEPTH);
  if (tooDeep) throw bad(`The request body nests deeper than ${MAX_DEPTH} levels.`);
  if (typeof b.model !== 'string' || b.model === '') throw bad("'model' is required and must be a string", 'model');
  const stream = b.stream ?? false;
  if (typeof stream !== 'boolean') throw bad("'stream' must be a boolean", 'stream');
  if (stream && !endpoint.streams) throw bad(`'stream' is not supported for ${endpoint.name}`, 'stream');
  const shape = endpoint.parse(b, stream);
  if (shape instanceof Promise) throw new Error(`${endpoint.name}: a JSON endpoint's parse must be synchronous`);
  return compile(endpoint, b, shape, stream, raw.length, Math.ceil(chars / 4) + 1);
}

/** A multipart request (audio): its fields as the endpoint's body; form fields are text, so `stream` is "true" or "false". */
export async function parseFormRequest(e: Endpoint | EndpointName, raw: Buffer, contentType: string | undefined): Promise<ClientRequest> {
  const endpoint = byName(e);
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) {
    throw new GatewayError('unsupported_media_type', `${endpoint.paths[0]} takes multipart/form-data (a file and its fields).`);
  }
  const b: FormFields = await parseForm(raw, contentType);
  if (typeof b.model !== 'string' || b.model === '') throw bad("'model' is required: a form field", 'model');
  const stream = formBoolean(b.stream);
  if (stream === null) throw bad("'stream' must be true or false", 'stream');
  let chars = 0;
  for (const [k, v] of Object.entries(b)) if (k !== 'model' && typeof v === 'string') chars += v.length;
  return compile(endpoint, b, await endpoint.parse(b, stream), stream, raw.length, Math.ceil(chars / 4) + 1);
}


/**
 * The most a request can use on a model: per sequence the client's max
 * (capped by the context length), else what the context leaves after a
 * one-token prompt, else a default the gateway itself sends upstream, so the
 * upstream can never generate more than was reserved. Endpoints with their
 * own rule (audio) declare it.
 */
export function requestBounds(r: ClientRequest, contextLength: number | null): Bounds {
  const e = r.endpoint;
  if (e.bounds) return e.bounds(r, contextLength);
  const prompt = contextLength ? Math.min(r.promptBound, contextLength * r.prompts) : r.promptBound;
  if (!e.generates) return { prompt, completion: 0, audioMs: 0, injectMaxTokens: null };
  let perChoice: number;
  let injectMaxTokens: number | null = null;
  if (r.maxTokens !== null) {
    perChoice = contextLength ? Math.min(r.maxTokens, contextLength) : r.maxTokens;
    // Only a field the upstream may not read (max_completion_tokens), and no context to cap it: the upstream must be bounded too.
    const field = e.maxTokensField;
    if (!contextLength && field && (r.body[field] === undefined || r.body[field] === null)) injectMaxTokens = r.maxTokens;
  }
  // Prompt and output share the context, and a prompt has at least one token; a guess of the prompt's length could undercount.
  else if (contextLength) perChoice = Math.max(1, contextLength - 1);
  else perChoice = injectMaxTokens = DEFAULT_MAX_COMPLETION;
  return { prompt, completion: perChoice * r.choices, audioMs: 0, injectMaxTokens };
}

/** A request body up to `limit` bytes; beyond it, `request_too_large` (the rest is drained, not buffered). */
export function readRequestBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    return Promise.reject(new GatewayError('request_too_large', `The request body is ${declared} bytes; the limit is ${limit}.`));
  }
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new GatewayError('request_too_large', `The request body exceeds the limit of ${limit} bytes.`));
        return;
      }
      parts.push(c);
    });
    req.on('end', () => resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts)));
    // A client that aborts its upload made the mistake: not an internal error.
    req.on('error', () => reject(new GatewayError('invalid_request_error', 'The request body could not be read to its end.')));
  });
}
