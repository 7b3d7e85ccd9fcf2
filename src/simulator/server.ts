/**
 * @module The simulator: an OpenAI/vLLM-compatible model server on bare
 * node:http (it is the upstream in benchmarks, so no framework). This module
 * is the routing: health, models, auth, faults, then chat/completions/
 * embeddings handed to their own modules. Per-request knobs come from the
 * `x-sim-ttft-ms`, `x-sim-itl-ms` and `x-sim-fault` headers.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RequestClock } from './clock.js';
import { completionBody, planCompletion, type CompletionKind } from './completions.js';
import { embeddingsBody } from './embeddings.js';
import { applyEarlyFault, pickFault, type FaultKind } from './faults.js';
import { BodyTooLarge, millis, readBody, sendError, sendJson } from './http.js';
import { writeStream } from './sse.js';

export type { FaultKind } from './faults.js';

export interface SimulatorOptions {
  port?: number;
  host?: string;
  /** Default 'llama32-fp8'; a comma-separated list serves several names. */
  servedModelName?: string;
  /** When set, `/v1/*` requires `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  ttftMs?: number;
  itlMs?: number;
  faultRate?: number;
  faultKind?: FaultKind;
  /** Default 384. */
  embeddingDim?: number;
  /** Default 8192. */
  maxModelLen?: number;
  /** No diagnostics on stderr. */
  quiet?: boolean;
}

export interface RunningSimulator {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  close(): Promise<void>;
  stats: { requests: number; aborted: number };
}

const BODY_LIMIT = 32 * 1024 * 1024;
const ENDPOINTS: Record<string, CompletionKind | 'embeddings'> = {
  '/v1/chat/completions': 'chat', '/v1/completions': 'completions', '/v1/embeddings': 'embeddings',
};

export async function startSimulator(opts: SimulatorOptions = {}): Promise<RunningSimulator> {
  const names = (opts.servedModelName ?? 'llama32-fp8').split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new Error('servedModelName must name at least one model');
  const maxModelLen = opts.maxModelLen ?? 8192;
  const embeddingDim = opts.embeddingDim ?? 384;
  const bearer = opts.apiKey ? `Bearer ${opts.apiKey}` : null;
  const stats = { requests: 0, aborted: 0 };
  const created = Math.floor(Date.now() / 1000);
  const modelsJson = JSON.stringify({
    object: 'list',
    data: names.map((id) => ({ id, object: 'model', created, owned_by: 'vllm', root: id, parent: null, max_model_len: maxModelLen })),
  });
  const onAbort = () => { stats.aborted++; };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path === '/health' && (req.method === 'GET' || req.method === 'HEAD')) return sendJson(res, 200, '{"status":"ok"}');
    if (bearer && path.startsWith('/v1/') && req.headers.authorization !== bearer) {
      return sendError(res, 401, 'Incorrect or missing API key.', 'invalid_api_key');
    }
    if (path === '/v1/models' && req.method === 'GET') return sendJson(res, 200, modelsJson);
    const kind = ENDPOINTS[path];
    if (!kind) return sendError(res, 404, `Not Found: ${req.method} ${path}`, 'not_found');
    if (req.method !== 'POST') return sendError(res, 405, `Method Not Allowed: ${req.method} ${path}`, 'method_not_allowed');

    stats.requests++;
    const clock = new RequestClock(res, onAbort);
    let raw: string;
    try {
      raw = await readBody(req, BODY_LIMIT);
    } catch (e) {
      if (e instanceof BodyTooLarge) { res.setHeader('connection', 'close'); return sendError(res, 413, 'Request body too large', 'request_too_large'); }
      throw e;
    }
    const fault = pickFault(req.headers['x-sim-fault'], opts.faultRate, opts.faultKind);
    if (fault && applyEarlyFault(fault, res, clock)) return;

    let body: unknown;
    try { body = JSON.parse(raw); } catch { return sendError(res, 400, 'Request body is not valid JSON', 'invalid_request_error'); }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return sendError(res, 400, 'Request body must be a JSON object', 'invalid_request_error');
    const b = body as Record<string, unknown>;
    const model = b.model ?? names[0];
    if (typeof model !== 'string' || !names.includes(model)) {
      return sendError(res, 404, `The model \`${String(model)}\` does not exist.`, 'model_not_found', 'model');
    }
    const ttftMs = millis(req.headers['x-sim-ttft-ms']) ?? opts.ttftMs ?? 0;
    const itlMs = millis(req.headers['x-sim-itl-ms']) ?? opts.itlMs ?? 0;
    const resetMid = fault === 'reset-mid';

    let json: string;
    let tokens = 0;
    if (kind === 'embeddings') {
      const out = embeddingsBody(b, model, embeddingDim, maxModelLen);
      if (typeof out !== 'string') return sendError(res, 400, out.message, out.code, out.param);
      json = out;
    } else {
      const plan = planCompletion(kind, b, model, maxModelLen);
      if ('message' in plan) return sendError(res, 400, plan.message, plan.code, plan.param);
      if (plan.stream) return writeStream(res, plan, clock, { ttftMs, itlMs, resetMid });
      json = completionBody(plan);
      tokens = plan.pieces.length;
    }
    // Non-streaming: the whole body after the time the tokens would have taken.
    if (!(await clock.sleep(ttftMs + itlMs * Math.max(0, tokens - 1)))) return;
    if (resetMid) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      res.write(json.slice(0, json.length >> 1), () => clock.reset(res));
      return;
    }
    sendJson(res, 200, json);
  }

  const server = createServer({ noDelay: true }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.destroyed) return; // the client went away while we read its body
      if (!opts.quiet) process.stderr.write(`simulator: ${(err as Error)?.stack ?? String(err)}\n`);
      if (!res.headersSent) sendError(res, 500, 'Internal simulator error', 'internal_error');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8000, opts.host ?? '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  const host = !opts.host || opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${port}`,
    port,
    stats,
    close: () => closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections(); // also ends hung and streaming requests (their clocks clear their timers)
    }),
  };
}
