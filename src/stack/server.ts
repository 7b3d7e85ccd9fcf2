/**
 * @module The Llama-Stack-compatible inference router (DESIGN §9): lists
 * its models in Llama Stack's shape and relays OpenAI-style inference calls
 * to each model's server with `model: <name>` and its token, streaming chunk
 * by chunk with backpressure. It reuses the gateway's upstream client.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { UpstreamClients } from '../gateway/upstream.js';
import { ENDPOINT_PATHS, UPSTREAM_PATH, readRequestBody } from '../gateway/request.js';
import { GatewayError, sendError } from '../gateway/errors.js';
import type { StackConfig, StackModel } from './config.js';

const MAX_BODY = 8 * 1024 * 1024;
const UPSTREAM_TIMEOUT_MS = 300_000;

export interface RunningStack { url: string; server: Server; close(): Promise<void> }

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Llama Stack's model entry, with the OpenAI list fields too so either kind of client can read it. */
export function modelEntry(m: StackModel, created: number) {
  return {
    identifier: m.id, provider_id: m.providerId, provider_resource_id: m.name, type: 'model', model_type: 'llm', metadata: {},
    id: m.id, object: 'model', created, owned_by: 'llama_stack',
  };
}

export async function startStack(cfg: StackConfig): Promise<RunningStack> {
  const clients = new UpstreamClients(64);
  const byId = new Map(cfg.models.map((m) => [m.id, m]));
  const created = Math.floor(Date.now() / 1000);

  const known = () => [...byId.keys()].join(', ');

  async function inference(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const raw = (await readRequestBody(req, MAX_BODY)).toString('utf8');
    let parsed: unknown = null;
    try { parsed = JSON.parse(raw); } catch { /* refused just below */ }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new GatewayError('invalid_request_error', 'The request body must be a JSON object.');
    const body = parsed as Record<string, unknown>;
    if (typeof body.model !== 'string') throw new GatewayError('invalid_request_error', `model: required, one of ${known()}`, 'model');
    const m = byId.get(body.model);
    if (!m) throw new GatewayError('model_not_found', `Model '${body.model}' not found. Known models: ${known()}`, 'model');
    const stream = body.stream === true;
    const x = clients.send({ url: m.url, token: m.token, timeoutMs: UPSTREAM_TIMEOUT_MS }, UPSTREAM_PATH[ENDPOINT_PATHS[path]!], JSON.stringify({ ...body, model: m.name }),
      stream ? 'text/event-stream' : 'application/json');
    // A client that leaves stops the upstream call too.
    res.on('close', () => { if (!res.writableFinished) x.abort(new Error('client closed')); });
    await x.started;
    if (x.error) throw new GatewayError('upstream_error', `The model server for '${m.name}' could not be reached (${(x.error as { code?: string }).code ?? x.error.message}).`);
    const headers: Record<string, string> = { 'content-type': String(x.headers['content-type'] ?? 'application/json') };
    if (stream) { headers['cache-control'] = 'no-cache'; headers['x-accel-buffering'] = 'no'; }
    res.writeHead(x.status, headers);
    res.flushHeaders();
    await new Promise<void>((resolve) => {
      x.consume({
        data: (c) => { if (!res.write(c)) { x.pause(); res.once('drain', () => x.resume()); } },
        end: () => { res.end(); resolve(); },
        // Mid-body failure: end what we relayed; the client sees the stream stop without its [DONE].
        error: () => { res.destroy(); resolve(); },
      });
    });
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'GET' && (path === '/v1/health' || path === '/healthz')) return sendJson(res, 200, { status: 'OK' });
    if (req.method === 'GET' && path === '/v1/models') return sendJson(res, 200, { data: cfg.models.map((m) => modelEntry(m, created)) });
    if (req.method === 'GET' && path.startsWith('/v1/models/')) {
      const m = byId.get(decodeURIComponent(path.slice('/v1/models/'.length)));
      return m ? sendJson(res, 200, modelEntry(m, created)) : sendError(res, new GatewayError('model_not_found', `Model not found. Known models: ${known()}`));
    }
    if (req.method === 'POST' && ENDPOINT_PATHS[path]) {
      inference(req, res, path).catch((err) => sendError(res, err instanceof GatewayError ? err : new GatewayError('internal_error', 'Internal error.')));
      return;
    }
    sendError(res, new GatewayError('not_found', `No route ${req.method} ${path}`));
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(cfg.port, cfg.host, resolve); });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : cfg.port;
  return {
    url: `http://127.0.0.1:${port}`, server,
    async close() {
      await new Promise((r) => { server.close(r); server.closeAllConnections(); });
      await clients.close();
    },
  };
}
