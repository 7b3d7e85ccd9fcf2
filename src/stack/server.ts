/**
 * @module The Llama-Stack-compatible inference router (DESIGN §9): lists its
 * models and providers in Llama Stack's shapes, and relays OpenAI-style
 * inference (chat, completions, embeddings, Responses) to each model's
 * server with `model: <name>` and its token — streamed event by event with
 * backpressure, every answer naming the stack's model id. It also serves
 * Llama Stack 0.2's `/v1/inference/chat-completion` over the same servers,
 * and relays a stored response's GET/DELETE/cancel to the server that made
 * it. The upstream's `Retry-After` and `x-request-id` come back to the
 * client. It reuses the gateway's upstream client.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Agent } from 'undici';
import { Exchange, UpstreamClients } from '../gateway/upstream.js';
import { readRequestBody } from '../gateway/request.js';
import { GatewayError, sendError } from '../gateway/errors.js';
import type { StackConfig, StackModel } from './config.js';
import { LEGACY_CHAT_PATH, OPENAI_PREFIXES, relayRoute, servedRoutes, storedResponseRoute } from './routes.js';
import { consumeSse, isEventStream, isOk, parseJson, readUpstream, relayExchange, relayedHeaders } from './relay.js';
import { LegacyStream, legacyErrorBody, legacyResponse, parseLegacyChat, upstreamMessage } from './legacy-inference.js';

const MAX_BODY = 8 * 1024 * 1024;
const UPSTREAM_TIMEOUT_MS = 300_000;
/** How many response ids the stack remembers the model of (oldest forgotten first). */
export const MAX_REMEMBERED_RESPONSES = 10_000;
/** The Llama Stack release whose API shapes this router follows (`GET /v1/version`). */
export const LLAMA_STACK_API_VERSION = '0.7.1';
const PROVIDER_TYPE = 'remote::vllm';

export interface RunningStack { url: string; server: Server; close(): Promise<void> }

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

/**
 * Llama Stack's model entry, with the OpenAI list fields and 0.7's
 * `custom_metadata` too, so clients of either generation can read it.
 */
export function modelEntry(m: StackModel, created: number) {
  return {
    identifier: m.id, provider_id: m.providerId, provider_resource_id: m.name, type: 'model', model_type: 'llm', metadata: {},
    id: m.id, object: 'model', created, owned_by: 'llama_stack',
    custom_metadata: { model_type: 'llm', provider_id: m.providerId, provider_resource_id: m.name },
  };
}

/** Llama Stack's `ProviderInfo` for one model's provider; the token is never shown. */
export function providerEntry(m: StackModel) {
  return {
    api: 'inference', provider_id: m.providerId, provider_type: PROVIDER_TYPE,
    config: { url: m.url, api_token: m.token ? '********' : null },
    health: { status: 'Not Implemented', message: 'The stack does not probe its model servers; a request to one tells.' },
  };
}

/** A bounded id → model map: the oldest id is forgotten when full. */
class Remembered {
  private readonly map = new Map<string, StackModel>();
  constructor(private readonly max: number) {}
  set(id: string, m: StackModel): void {
    this.map.delete(id);
    this.map.set(id, m);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
  get(id: string): StackModel | undefined { return this.map.get(id); }
  delete(id: string): void { this.map.delete(id); }
}

export async function startStack(cfg: StackConfig): Promise<RunningStack> {
  const clients = new UpstreamClients(64);
  // GET/DELETE of a stored response: rare calls, sent through a dispatcher of their own.
  const agent = new Agent({ keepAliveTimeout: 30_000 });
  const byId = new Map(cfg.models.map((m) => [m.id, m]));
  const byProvider = new Map(cfg.models.map((m) => [m.providerId, m]));
  const created = Math.floor(Date.now() / 1000);
  const responses = new Remembered(MAX_REMEMBERED_RESPONSES);
  const routes = servedRoutes([PROVIDER_TYPE]);

  const known = () => [...byId.keys()].join(', ');

  function lookup(model: unknown, param: string): StackModel {
    if (typeof model !== 'string') throw new GatewayError('invalid_request_error', `${param}: required, one of ${known()}`, param);
    const m = byId.get(model);
    if (!m) throw new GatewayError('model_not_found', `Model '${model}' not found. Known models: ${known()}`, param);
    return m;
  }

  /** Waits for the upstream's status line; a client that leaves stops the upstream call. */
  async function started(res: ServerResponse, x: Exchange, m: StackModel): Promise<void> {
    res.on('close', () => { if (!res.writableFinished) x.abort(new Error('client closed')); });
    await x.started;
    if (x.error) throw new GatewayError('upstream_error', `The model server for '${m.name}' could not be reached (${(x.error as { code?: string }).code ?? x.error.message}).`);
  }

  function post(m: StackModel, path: string, body: string, stream: boolean): Exchange {
    return clients.send({ url: m.url, token: m.token, timeoutMs: UPSTREAM_TIMEOUT_MS }, path, body, stream ? 'text/event-stream' : 'application/json');
  }

  function remember(m: StackModel, r: unknown): void {
    if (r && typeof r === 'object' && (r as { object?: unknown }).object === 'response' && typeof (r as { id?: unknown }).id === 'string') {
      responses.set((r as { id: string }).id, m);
    }
  }

  async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
    const parsed = parseJson((await readRequestBody(req, MAX_BODY)).toString('utf8'));
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new GatewayError('invalid_request_error', 'The request body must be a JSON object.');
    return parsed as Record<string, unknown>;
  }

  async function relay(req: IncomingMessage, res: ServerResponse, upstreamPath: string, kind: string): Promise<void> {
    const body = await readJsonObject(req);
    const m = lookup(body.model, 'model');
    const x = post(m, upstreamPath, JSON.stringify({ ...body, model: m.name }), body.stream === true);
    await started(res, x, m);
    if (kind !== 'responses') return relayExchange(res, x, m.id);
    return relayExchange(res, x, m.id, {
      onJson: (b) => remember(m, b),
      onEvent: (e) => remember(m, (e as { response?: unknown } | null)?.response),
    });
  }

  /** GET/DELETE (or cancel) of a stored response, at the model server that made it. */
  async function storedResponse(req: IncomingMessage, res: ServerResponse, id: string, rest: string, query: string): Promise<void> {
    // After a restart the stack has forgotten its ids; with one model there is only one place to ask.
    const m = responses.get(id) ?? (cfg.models.length === 1 ? cfg.models[0] : undefined);
    if (!m) throw new GatewayError('not_found', `Response '${id}' not found: this stack did not create it.`);
    if (req.method === 'POST') req.resume();
    const u = new URL(m.url);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (m.token) headers.authorization = `Bearer ${m.token}`;
    const x = new Exchange();
    agent.dispatch({
      origin: u.origin, path: `${u.pathname.replace(/\/+$/, '')}/responses/${encodeURIComponent(id)}${rest}${query}`,
      method: req.method as 'GET' | 'DELETE' | 'POST', headers, headersTimeout: UPSTREAM_TIMEOUT_MS, bodyTimeout: UPSTREAM_TIMEOUT_MS,
    }, x);
    await started(res, x, m);
    if (req.method === 'DELETE' && isOk(x.status)) responses.delete(id);
    return relayExchange(res, x, m.id);
  }

  /** Llama Stack 0.2's `POST /v1/inference/chat-completion`, over the model's chat completions. */
  async function legacyChat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const r = parseLegacyChat((await readRequestBody(req, MAX_BODY)).toString('utf8'));
    const m = lookup(r.modelId, 'model_id');
    const x = post(m, '/chat/completions', r.toOpenAI(m.name), r.stream);
    await started(res, x, m);
    const relayed = relayedHeaders(x.headers);
    if (!isOk(x.status) || (r.stream && !isEventStream(x.headers))) {
      const raw = (await readUpstream(x)).toString('utf8');
      const text = legacyErrorBody(isOk(x.status) ? 'The model server did not answer with a stream.' : upstreamMessage(raw, x.status));
      res.writeHead(isOk(x.status) ? 502 : x.status, { ...relayed, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
      res.end(text);
      return;
    }
    if (!r.stream) {
      const body = parseJson((await readUpstream(x)).toString('utf8'));
      if (body === undefined) throw new GatewayError('upstream_error', 'The model server answered with a body that is not JSON.');
      return sendJson(res, 200, legacyResponse(body), relayed);
    }
    res.writeHead(200, { ...relayed, 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    const s = new LegacyStream();
    res.write(s.start());
    await consumeSse(res, x, (e, write) => {
      if (e.data === '[DONE]') return;
      const out = s.chunk(parseJson(e.data));
      if (out) write(out);
    }, () => { res.end(s.end()); },
    // As Llama Stack does when a stream fails: a last event carrying the error, which its clients raise.
    (write) => write(`data: ${JSON.stringify({ error: { message: 'The model server\'s stream broke off before its end.' } })}\n\n`));
  }

  /** The 0.2 route answers its own errors in its own shape. */
  function sendLegacyError(res: ServerResponse, err: GatewayError): void {
    if (res.headersSent) { res.destroy(); return; }
    const text = legacyErrorBody(err.message);
    res.writeHead(err.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  const fail = (res: ServerResponse, legacy = false) => (err: unknown) => {
    const e = err instanceof GatewayError ? err : new GatewayError('internal_error', 'Internal error.');
    if (legacy) sendLegacyError(res, e); else sendError(res, e);
  };

  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? '' : url.slice(q);
    const method = req.method ?? 'GET';
    if (method === 'GET') {
      if (path === '/v1/health' || path === '/healthz') return sendJson(res, 200, { status: 'OK' });
      if (path === '/v1/version') return sendJson(res, 200, { version: LLAMA_STACK_API_VERSION });
      if (OPENAI_PREFIXES.some((p) => path === `${p}/models`)) return sendJson(res, 200, { data: cfg.models.map((m) => modelEntry(m, created)) });
      if (path.startsWith('/v1/models/')) {
        const m = byId.get(decodeURIComponent(path.slice('/v1/models/'.length)));
        return m ? sendJson(res, 200, modelEntry(m, created)) : sendError(res, new GatewayError('model_not_found', `Model not found. Known models: ${known()}`));
      }
      if (path === '/v1/providers') return sendJson(res, 200, { data: cfg.models.map(providerEntry) });
      if (path.startsWith('/v1/providers/')) {
        const m = byProvider.get(decodeURIComponent(path.slice('/v1/providers/'.length)));
        return m ? sendJson(res, 200, providerEntry(m)) : sendError(res, new GatewayError('not_found', `Provider not found. Known providers: ${[...byProvider.keys()].join(', ')}`));
      }
      if (path === '/v1/inspect/routes') return sendJson(res, 200, { data: routes });
    }
    if (method === 'POST') {
      const r = relayRoute(path);
      if (r) { relay(req, res, r.upstream, r.kind).catch(fail(res)); return; }
      if (path === LEGACY_CHAT_PATH) { legacyChat(req, res).catch(fail(res, true)); return; }
    }
    const stored = storedResponseRoute(path);
    if (stored && ((method === 'GET' && stored.rest !== '/cancel') || (method === 'DELETE' && stored.rest === '') || (method === 'POST' && stored.rest === '/cancel'))) {
      storedResponse(req, res, stored.id, stored.rest, query).catch(fail(res));
      return;
    }
    sendError(res, new GatewayError('not_found', `No route ${method} ${path}`));
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(cfg.port, cfg.host, resolve); });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : cfg.port;
  return {
    url: `http://127.0.0.1:${port}`, server,
    async close() {
      await new Promise((r) => { server.close(r); server.closeAllConnections(); });
      await Promise.all([clients.close(), agent.close().catch(() => {})]);
    },
  };
}
