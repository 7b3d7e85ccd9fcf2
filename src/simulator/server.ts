/**
 * @module The simulator: a vLLM-compatible model server on bare node:http
 * (it is the upstream in benchmarks, so no framework). This module is the
 * routing: health, models, auth, faults, latency, then each API handed to its
 * own module — chat/completions, embeddings, Responses, Anthropic Messages,
 * rerank/score, audio, tokenize. Per-request knobs come from the
 * `x-sim-ttft-ms`, `x-sim-itl-ms`, `x-sim-fault`, `x-sim-sse-line-ending` and
 * `x-sim-sse-json` headers.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RequestClock } from './clock.js';
import { completionBody, planCompletion, type CompletionKind, type PlanContext } from './completions.js';
import { embeddingsBody } from './embeddings.js';
import { applyEarlyFault, pickFault, type ErrorSender, type FaultKind } from './faults.js';
import { BodyTooLarge, millis, readBody, readRawBody, sendAnthropicError, sendError, sendJson, sendVllmError } from './http.js';
import { writeFrames, writeStream, type SseFormat, type StreamTiming } from './sse.js';
import { PrefixCache } from './prefix-cache.js';
import { cancelResponse, planResponse, responseNotFound, ResponseStore } from './responses.js';
import { countTokensBody, planMessages } from './messages.js';
import { rerankBody, scoreBody } from './rerank.js';
import { boundaryOf, parseMultipart } from './multipart.js';
import { planAudio } from './audio.js';
import { detokenizeBody, tokenizeBody } from './tokenize.js';

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
  /** Report `prompt_tokens_details.cached_tokens` from the prefix cache (vLLM's --enable-prompt-tokens-details). Default true. */
  promptTokensDetails?: boolean;
  /** Line endings of streamed events. Default 'lf'. */
  sseLineEnding?: 'lf' | 'crlf';
  /** JSON of streamed events: compact, or spaced as Python's json.dumps writes it. Default 'compact'. */
  sseJson?: 'compact' | 'spaced';
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
type Kind = CompletionKind | 'embeddings' | 'responses' | 'messages' | 'count_tokens' | 'rerank' | 'score'
  | 'transcriptions' | 'translations' | 'tokenize' | 'detokenize';
const ENDPOINTS: Record<string, Kind> = {
  '/v1/chat/completions': 'chat', '/v1/completions': 'completions', '/v1/embeddings': 'embeddings',
  '/v1/responses': 'responses', '/v1/messages': 'messages', '/v1/messages/count_tokens': 'count_tokens',
  '/rerank': 'rerank', '/v1/rerank': 'rerank', '/v2/rerank': 'rerank', '/score': 'score', '/v1/score': 'score',
  '/v1/audio/transcriptions': 'transcriptions', '/v1/audio/translations': 'translations',
  '/tokenize': 'tokenize', '/detokenize': 'detokenize',
};
const OPENAI_KINDS = new Set<Kind>(['chat', 'completions', 'embeddings']);
const RESPONSE_PATH = /^\/v1\/responses\/([^/]+)(\/cancel)?$/;

const sendVllm: ErrorSender = (res, status, message) => sendVllmError(res, status, message);
const sendAnthropic: ErrorSender = (res, status, message) => sendAnthropicError(res, status, message, status === 429 ? 'rate_limit_error' : status >= 500 ? 'api_error' : 'invalid_request_error');

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<RunningSimulator> {
  const names = (opts.servedModelName ?? 'llama32-fp8').split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new Error('servedModelName must name at least one model');
  const maxModelLen = opts.maxModelLen ?? 8192;
  const embeddingDim = opts.embeddingDim ?? 384;
  const bearer = opts.apiKey ? `Bearer ${opts.apiKey}` : null;
  const stats = { requests: 0, aborted: 0 };
  const created = Math.floor(Date.now() / 1000);
  const planCtx: PlanContext = { maxModelLen, cache: opts.promptTokensDetails === false ? null : new PrefixCache() };
  const store = new ResponseStore();
  const modelsJson = JSON.stringify({
    object: 'list',
    data: names.map((id) => ({ id, object: 'model', created, owned_by: 'vllm', root: id, parent: null, max_model_len: maxModelLen })),
  });
  const onAbort = () => { stats.aborted++; };

  function formatOf(req: IncomingMessage): SseFormat {
    const le = header(req.headers['x-sim-sse-line-ending']) ?? opts.sseLineEnding ?? 'lf';
    const js = header(req.headers['x-sim-sse-json']) ?? opts.sseJson ?? 'compact';
    return { crlf: le.toLowerCase() === 'crlf', spaced: js.toLowerCase() === 'spaced' };
  }

  /** GET/DELETE /v1/responses/{id}, POST …/cancel. */
  function storedResponse(req: IncomingMessage, res: ServerResponse, id: string, cancel: boolean): void {
    const fault = pickFault(req.headers['x-sim-fault'], opts.faultRate, opts.faultKind);
    if (fault && fault !== 'reset-mid' && applyEarlyFault(fault, res, new RequestClock(res, onAbort), sendVllm)) return;
    const found = store.get(id);
    if (cancel) {
      if (req.method !== 'POST') return sendVllmError(res, 405, 'Method Not Allowed');
      const e = cancelResponse(store, id);
      return sendVllmError(res, e.status, e.message, e.type, e.param);
    }
    if (!found) { const e = responseNotFound(id); return sendVllmError(res, e.status, e.message, e.type, e.param); }
    if (req.method === 'GET') return sendJson(res, 200, JSON.stringify(found.response));
    if (req.method === 'DELETE') { store.delete(id); return sendJson(res, 200, JSON.stringify({ id, object: 'response', deleted: true })); }
    return sendVllmError(res, 405, 'Method Not Allowed');
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path === '/health' && (req.method === 'GET' || req.method === 'HEAD')) return sendJson(res, 200, '{"status":"ok"}');
    if (bearer && path.startsWith('/v1/') && req.headers.authorization !== bearer) {
      return sendError(res, 401, 'Incorrect or missing API key.', 'invalid_api_key');
    }
    if (path === '/v1/models' && req.method === 'GET') return sendJson(res, 200, modelsJson);
    const stored = RESPONSE_PATH.exec(path);
    if (stored) { stats.requests++; return storedResponse(req, res, decodeURIComponent(stored[1]!), stored[2] !== undefined); }
    const kind = ENDPOINTS[path];
    if (!kind) return sendError(res, 404, `Not Found: ${req.method} ${path}`, 'not_found');
    if (req.method !== 'POST') return sendError(res, 405, `Method Not Allowed: ${req.method} ${path}`, 'method_not_allowed');
    const anthropic = kind === 'messages' || kind === 'count_tokens';
    const sendErr: ErrorSender = OPENAI_KINDS.has(kind) ? sendError : anthropic ? sendAnthropic : sendVllm;

    stats.requests++;
    const clock = new RequestClock(res, onAbort);
    const audio = kind === 'transcriptions' || kind === 'translations';
    let raw: string | Buffer;
    try {
      raw = audio ? await readRawBody(req, BODY_LIMIT) : await readBody(req, BODY_LIMIT);
    } catch (e) {
      if (e instanceof BodyTooLarge) { res.setHeader('connection', 'close'); return sendErr(res, 413, 'Request body too large', 'request_too_large'); }
      throw e;
    }
    const fault = pickFault(req.headers['x-sim-fault'], opts.faultRate, opts.faultKind);
    if (fault && applyEarlyFault(fault, res, clock, sendErr)) return;
    const timing: StreamTiming = {
      ttftMs: millis(req.headers['x-sim-ttft-ms']) ?? opts.ttftMs ?? 0,
      itlMs: millis(req.headers['x-sim-itl-ms']) ?? opts.itlMs ?? 0,
      resetMid: fault === 'reset-mid',
      format: formatOf(req),
    };
    /** Non-streaming: the whole body after the time the tokens would have taken. */
    const answer = async (json: string, tokens: number): Promise<boolean> => {
      if (!(await clock.sleep(timing.ttftMs + timing.itlMs * Math.max(0, tokens - 1)))) return false;
      if (timing.resetMid) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
        res.write(json.slice(0, json.length >> 1), () => clock.reset(res));
        return false;
      }
      sendJson(res, 200, json);
      return true;
    };
    const notServed = (model: unknown) => `The model \`${String(model)}\` does not exist.`;

    if (audio) {
      const boundary = boundaryOf(req.headers['content-type']);
      const form = boundary ? parseMultipart(raw as Buffer, boundary) : null;
      if (!form) return sendVllmError(res, 400, 'Expected a multipart/form-data body with a file');
      const model = form.fields.get('model') ?? names[0]!;
      if (!names.includes(model)) return sendVllmError(res, 404, notServed(model), 'NotFoundError', 'model');
      const plan = planAudio(form, kind === 'translations', model, maxModelLen);
      if ('status' in plan) return sendVllmError(res, plan.status, plan.message, undefined, plan.param);
      if (plan.stream) { await writeFrames(res, plan.frames, clock, timing); return; }
      await answer(plan.body, plan.outputTokens);
      return;
    }

    let body: unknown;
    try { body = JSON.parse(raw as string); } catch { return sendErr(res, 400, 'Request body is not valid JSON', 'invalid_request_error'); }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return sendErr(res, 400, 'Request body must be a JSON object', 'invalid_request_error');
    const b = body as Record<string, unknown>;
    const model = b.model ?? names[0];
    if (kind === 'messages' || kind === 'count_tokens') {
      if (typeof b.model === 'string' && b.model !== '' && !names.includes(b.model)) return sendAnthropicError(res, 404, notServed(b.model), 'NotFoundError');
      const out = kind === 'count_tokens' ? countTokensBody(b) : planMessages(b, b.model as string, planCtx);
      if (typeof out === 'string') { await answer(out, 0); return; }
      if ('status' in out) return sendAnthropicError(res, out.status, out.message, out.type);
      if (out.stream) { await writeFrames(res, out.frames, clock, timing); return; }
      await answer(out.body, out.outputTokens);
      return;
    }
    if (typeof model !== 'string' || !names.includes(model)) {
      return OPENAI_KINDS.has(kind)
        ? sendError(res, 404, notServed(model), 'model_not_found', 'model')
        : sendVllmError(res, 404, notServed(model), 'NotFoundError', 'model');
    }

    switch (kind) {
      case 'embeddings': {
        const out = embeddingsBody(b, model, embeddingDim, maxModelLen);
        if (typeof out !== 'string') return sendError(res, 400, out.message, out.code, out.param);
        await answer(out, 0);
        return;
      }
      case 'chat': case 'completions': {
        const plan = planCompletion(kind, b, model, planCtx);
        if ('message' in plan) return sendError(res, 400, plan.message, plan.code, plan.param);
        if (plan.stream) return writeStream(res, plan, clock, timing);
        await answer(completionBody(plan), plan.usage.completion_tokens);
        return;
      }
      case 'responses': {
        const plan = planResponse(b, model, planCtx, store);
        if ('status' in plan) return sendVllmError(res, plan.status, plan.message, plan.type, plan.param);
        const done = plan.stream
          ? await writeFrames(res, plan.frames, clock, timing)
          : await answer(JSON.stringify(plan.response), plan.outputTokens);
        if (done && plan.store) store.set(plan.id, { response: plan.response, messages: plan.messages });
        return;
      }
      case 'rerank': case 'score': {
        const out = kind === 'rerank' ? rerankBody(b, model, maxModelLen) : scoreBody(b, model, maxModelLen);
        if (typeof out !== 'string') return sendVllmError(res, 400, out.message, undefined, out.param);
        await answer(out, 0);
        return;
      }
      case 'tokenize': case 'detokenize': {
        const out = kind === 'tokenize' ? tokenizeBody(b, maxModelLen) : detokenizeBody(b);
        if (typeof out !== 'string') return sendVllmError(res, 400, out.message, undefined, out.param);
        await answer(out, 0);
        return;
      }
      default:
        return sendError(res, 404, `Not Found: ${req.method} ${path}`, 'not_found');
    }
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
