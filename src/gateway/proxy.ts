/**
 * @module Forward and relay: send the compiled request to a deployment,
 * fail over to another before the first byte (connect errors, 5xx, 429),
 * then relay JSON or SSE. SSE events are passed through as they arrive,
 * only renamed (upstream model → public model); the usage chunk the gateway
 * asked for is dropped when the client did not ask, and [DONE] is held back
 * until the usage event is journaled.
 */
import type { ServerResponse } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { readUsage, type Usage } from '../ledger/meter.js';
import { errorBody, GatewayError } from './errors.js';
import { UPSTREAM_PATH, upstreamBody, type ClientRequest } from './request.js';
import type { Router } from './route.js';
import type { DeploymentConfig, ModelEntry } from './snapshot.js';
import { readBody, type Exchange, type UpstreamClients } from './upstream.js';

const MAX_ATTEMPTS = 3;

export interface Outcome {
  status: number;
  usage: Usage | null;
  /** Content chunks relayed, the estimate of completion tokens when usage never came. */
  streamedTokens: number;
  errorCode: string | null;
  deploymentId: string | null;
  ttftMs: number | null;
}

/** The client's connection: whether it went away, and the exchange to abort when it does. */
export interface ClientLink { gone: boolean; exchange: Exchange | null }

export interface RelayContext {
  req: ClientRequest;
  model: ModelEntry;
  res: ServerResponse;
  requestId: string;
  t0: number;
  link: ClientLink;
  /** Journals the outcome; `then` (which sends the last byte) runs once it is journaled. */
  finish(o: Outcome, then?: () => void): void;
}

export interface Upstream { clients: UpstreamClients; router: Router; onUpstreamError(deployment: string, message: string): void }

function classify(err: unknown): GatewayError {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return new GatewayError('upstream_timeout', 'The model server did not answer in time.');
  return new GatewayError('upstream_error', 'The model server could not be reached.');
}

const disconnected = (ctx: RelayContext, deploymentId: string | null, tokens = 0, ttftMs: number | null = null): void =>
  ctx.finish({ status: 499, usage: null, streamedTokens: tokens, errorCode: 'client_disconnected', deploymentId, ttftMs });

export async function forward(up: Upstream, ctx: RelayContext): Promise<void> {
  const tried = new Set<string>();
  let last: GatewayError | null = null;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (ctx.link.gone) return disconnected(ctx, null); // left while its body was read, or between attempts
    const d = up.router.pick(ctx.model.deployments, tried);
    if (!d) break;
    tried.add(d.id);
    up.router.begin(d.id);
    const x = up.clients.send(d, UPSTREAM_PATH[ctx.req.endpoint], upstreamBody(ctx.req, d.upstreamModel),
      ctx.req.stream ? 'text/event-stream' : 'application/json');
    ctx.link.exchange = x;
    await x.started;
    if (ctx.link.gone) {
      up.router.end(d.id);
      return disconnected(ctx, d.id);
    }
    if (x.error) {
      up.router.end(d.id);
      up.router.failure(d.id);
      last = classify(x.error);
      up.onUpstreamError(d.id, x.error.message);
      continue;
    }
    if (x.status >= 500 || x.status === 429) {
      x.abort(new Error('retrying on another deployment'));
      up.router.end(d.id);
      up.router.failure(d.id);
      up.onUpstreamError(d.id, `status ${x.status}`);
      last = x.status === 429
        ? new GatewayError('rate_limit_exceeded', 'The model server is overloaded; retry shortly.', null, Number(x.headers['retry-after']) || 1)
        : new GatewayError('upstream_error', `The model server answered ${x.status}.`);
      continue;
    }
    try {
      if (x.status >= 400) await relayClientError(ctx, d, x);
      else if (ctx.req.stream) await relayStream(ctx, d, x);
      else await relayJson(ctx, d, x);
      up.router.success(d.id);
    } finally {
      up.router.end(d.id);
    }
    return;
  }
  const err = last ?? new GatewayError('no_deployment_available', `No deployment of '${ctx.model.id}' is available right now.`);
  fail(ctx, err, null);
}

/** Records a failed request and throws its error for the caller to render. */
function fail(ctx: RelayContext, err: GatewayError, deploymentId: string | null): never {
  ctx.finish({ status: err.status, usage: null, streamedTokens: 0, errorCode: err.code, deploymentId, ttftMs: null });
  throw err;
}

/** 4xx from the model server (other than 429): the client's request was wrong; pass the message on in our shape. */
async function relayClientError(ctx: RelayContext, d: DeploymentConfig, x: Exchange): Promise<void> {
  let message = `The model server rejected the request (${x.status}).`;
  try {
    const o = JSON.parse((await readBody(x)).toString('utf8')) as { error?: { message?: unknown }; message?: unknown };
    const m = o.error?.message ?? o.message;
    if (typeof m === 'string' && m) message = m.slice(0, 2000);
  } catch { /* not JSON: keep the generic message */ }
  ctx.finish({ status: x.status, usage: null, streamedTokens: 0, errorCode: 'upstream_client_error', deploymentId: d.id, ttftMs: null });
  throw new GatewayError('invalid_request_error', message);
}

async function relayJson(ctx: RelayContext, d: DeploymentConfig, x: Exchange): Promise<void> {
  let raw: Buffer;
  try {
    raw = await readBody(x);
  } catch (err) {
    if (ctx.link.gone) return disconnected(ctx, d.id);
    return fail(ctx, classify(err), d.id);
  }
  const ttftMs = performance.now() - ctx.t0;
  const text = raw.toString('utf8');
  // Fast path for compact JSON (vLLM's): read only the usage object and rename the model in place.
  // Anything else (pretty-printed, no usage) takes the full parse.
  const from = `"model":${JSON.stringify(d.upstreamModel)}`;
  let usage = text.includes(from) ? usageOf(text) : undefined;
  let out: string;
  if (usage !== undefined) {
    out = text.replace(from, `"model":${JSON.stringify(ctx.model.id)}`);
  } else {
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return fail(ctx, new GatewayError('upstream_error', 'The model server sent a malformed response.'), d.id);
    }
    usage = readUsage(obj.usage);
    if ('model' in obj) obj.model = ctx.model.id;
    out = JSON.stringify(obj);
  }
  ctx.finish({ status: x.status, usage, streamedTokens: 0, errorCode: null, deploymentId: d.id, ttftMs }, () => {
    ctx.res.writeHead(x.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(out),
      'x-request-id': ctx.requestId,
    });
    ctx.res.end(out);
  });
}

/** The top-level `usage` of a compact JSON body (found by its key; escaped quotes inside strings cannot match), or undefined. */
function usageOf(text: string): Usage | null | undefined {
  const at = text.lastIndexOf('"usage":{');
  if (at < 0) return undefined;
  const start = at + 8;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123) depth++;
    else if (c === 125 && --depth === 0) {
      try { return readUsage(JSON.parse(text.slice(start, i + 1))); } catch { return undefined; }
    }
  }
  return undefined;
}

function relayStream(ctx: RelayContext, d: DeploymentConfig, x: Exchange): Promise<void> {
  const { res, req } = ctx;
  const from = `"model":${JSON.stringify(d.upstreamModel)}`;
  const to = `"model":${JSON.stringify(ctx.model.id)}`;
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let usage: Usage | null = null;
  let tokens = 0;
  let sawDone = false;
  let ttftMs: number | null = null;
  let paused = false;

  const processEvent = (ev: string): string => {
    if (ev.startsWith('data: [DONE]')) { sawDone = true; return ''; }
    if (ev.includes('"usage":{')) {
      try {
        const o = JSON.parse(ev.slice(ev.indexOf('{'))) as { usage?: unknown; choices?: unknown[] };
        usage = readUsage(o.usage) ?? usage;
        if (!req.includeUsage && Array.isArray(o.choices) && o.choices.length === 0) return '';
      } catch { /* not a JSON event: relay as is */ }
    } else if ((ev.includes('"content":"') && !ev.includes('"content":""')) || (ev.includes('"text":"') && !ev.includes('"text":""'))) {
      tokens++;
    }
    let out = ev.includes(from) ? ev.replaceAll(from, to) : ev;
    if (!req.includeUsage && out.includes(',"usage":null')) out = out.replaceAll(',"usage":null', '');
    return out + '\n\n';
  };

  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-request-id': ctx.requestId,
  });
  return new Promise<void>((resolve) => {
    x.consume({
      data(chunk) {
        if (ttftMs === null) ttftMs = performance.now() - ctx.t0;
        carry += decoder.write(chunk);
        let out = '';
        let i: number;
        while ((i = carry.indexOf('\n\n')) >= 0) {
          out += processEvent(carry.slice(0, i));
          carry = carry.slice(i + 2);
        }
        // Backpressure: a slow client pauses the upstream instead of growing our buffers.
        if (out && !res.write(out) && !paused) {
          paused = true;
          x.pause();
          res.once('drain', () => { paused = false; x.resume(); });
        }
      },
      end() {
        carry += decoder.end();
        if (carry.trim()) { const out = processEvent(carry.trim()); if (out) res.write(out); }
        ctx.finish({ status: 200, usage, streamedTokens: tokens, errorCode: null, deploymentId: d.id, ttftMs }, () => {
          res.end(sawDone ? 'data: [DONE]\n\n' : undefined);
        });
        resolve();
      },
      error(err) {
        if (ctx.link.gone) disconnected(ctx, d.id, tokens, ttftMs);
        else {
          ctx.finish({ status: 502, usage: null, streamedTokens: tokens, errorCode: 'upstream_stream_error', deploymentId: d.id, ttftMs });
          const e = classify(err);
          if (!res.destroyed) res.end(`data: ${errorBody(e.code, e.message)}\n\n`);
        }
        resolve();
      },
    });
  });
}
