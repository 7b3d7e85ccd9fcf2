/**
 * @module Forward and relay: send the compiled request to a deployment,
 * fail over to another before the first byte (connect errors, 5xx, 429),
 * then relay JSON or SSE. Every upstream event is read by the WHATWG
 * event-stream reader and its JSON parsed, whatever the framing or spacing:
 * usage, delivered output and the model name are found in the parsed event
 * by the endpoint's descriptor, never by matching text. Events are relayed as
 * they arrive in LF framing with their `event:` names, renamed (upstream
 * model → public model); usage the gateway asked for on the client's behalf
 * is removed, and the stream's last word ([DONE], `response.completed`,
 * `message_stop`) is held back until the usage event is journaled.
 */
import type { ServerResponse } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import type { Delivered, Usage } from '../ledger/meter.js';
import { errorBody, GatewayError } from './errors.js';
import type { Bounds, ClientRequest, Endpoint } from './endpoints/types.js';
import type { AttemptFailure, Router } from './route.js';
import type { DeploymentConfig, ModelEntry } from './snapshot.js';
import { formatEvent, SseReader, type SseEvent } from './sse.js';
import { readBody, type Exchange, type UpstreamClients } from './upstream.js';

const MAX_ATTEMPTS = 3;

export const NOTHING: Delivered = Object.freeze({ events: 0, chars: 0 });

export interface Outcome {
  status: number;
  /** The upstream's usage (the last seen, for a stream the client left). */
  usage: Usage | null;
  /** Output relayed to the client, for an estimate when usage never came. */
  delivered: Delivered;
  /** Of it, what came after the last usage seen (that usage does not count it: Anthropic's message_start, a stream cut before its usage chunk). */
  afterUsage?: Delivered;
  /** A stream that ended without its last word ([DONE], response.completed, message_stop): billed as one cut short. */
  incomplete?: boolean;
  errorCode: string | null;
  deploymentId: string | null;
  ttftMs: number | null;
  /** The id of an object the answer created (a stored response). */
  createdId?: string | null;
}

/** The client's connection: whether it went away, and the exchange to abort when it does. */
export interface ClientLink { gone: boolean; exchange: Exchange | null }

export interface RelayContext {
  req: ClientRequest;
  bounds: Bounds;
  model: ModelEntry;
  res: ServerResponse;
  requestId: string;
  t0: number;
  link: ClientLink;
  /** A streaming client that reads nothing for this long holds an upstream connection for nobody: it is cut. */
  stalledClientMs: number;
  /** Only this deployment may answer (it holds the stored response a request continues). */
  pinned?: string | null;
  /** Journals the outcome; `then` (which sends the last byte) runs once it is journaled. */
  finish(o: Outcome, then?: () => void): void;
}

export interface Upstream { clients: UpstreamClients; router: Router; onUpstreamError(deployment: string, message: string): void }

const isTimeout = (err: unknown): boolean => {
  const code = (err as { code?: string }).code ?? '';
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
};

function classify(err: unknown): GatewayError {
  if (isTimeout(err)) return new GatewayError('upstream_timeout', 'The model server did not answer in time.');
  return new GatewayError('upstream_error', 'The model server could not be reached.');
}

const disconnected = (ctx: RelayContext, deploymentId: string | null, usage: Usage | null = null, delivered = NOTHING, ttftMs: number | null = null, afterUsage = delivered): void =>
  ctx.finish({ status: 499, usage, delivered, afterUsage, errorCode: 'client_disconnected', deploymentId, ttftMs });

export async function forward(up: Upstream, ctx: RelayContext): Promise<void> {
  const tried = new Set<string>();
  let last: GatewayError | null = null;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (ctx.link.gone) return disconnected(ctx, null); // left while its body was read, or between attempts
    const candidates = ctx.pinned ? ctx.model.deployments.filter((x) => x.id === ctx.pinned) : ctx.model.deployments;
    const d = up.router.pick(candidates, tried);
    if (!d) break;
    tried.add(d.id);
    up.router.begin(d.id);
    const sentAt = Date.now();
    const e = ctx.req.endpoint;
    const out = e.upstream(ctx.req, d.upstreamModel, ctx.bounds);
    const x = up.clients.send(d, e.upstreamPath, out.body, ctx.req.stream ? 'text/event-stream' : 'application/json', { contentType: out.contentType, atRoot: e.atRoot });
    ctx.link.exchange = x;
    await x.started;
    if (ctx.link.gone) {
      up.router.end(d.id);
      up.router.failure(d.id, { kind: 'client-gone' });
      return disconnected(ctx, d.id);
    }
    if (x.error) {
      up.router.end(d.id);
      const timedOut = isTimeout(x.error);
      up.router.failure(d.id, timedOut
        ? { kind: 'first-byte-timeout', stream: ctx.req.stream, answeredSinceSent: up.router.state(d.id).lastAnswerAt >= sentAt }
        : { kind: 'connect' });
      last = classify(x.error);
      up.onUpstreamError(d.id, x.error.message);
      // A timeout may be a generation still running: trying it again elsewhere would double the wait and the work.
      if (timedOut) break;
      continue;
    }
    up.router.answered(d.id);
    if (x.status >= 500 || x.status === 429) {
      x.abort(new Error('retrying on another deployment'));
      up.router.end(d.id);
      up.router.failure(d.id, { kind: 'status', status: x.status });
      up.onUpstreamError(d.id, `status ${x.status}`);
      last = x.status === 429
        ? new GatewayError('rate_limit_exceeded', 'The model server is overloaded; retry shortly.', null, Number(x.headers['retry-after']) || 1)
        : new GatewayError('upstream_error', `The model server answered ${x.status}.`);
      continue;
    }
    let broken: AttemptFailure | null = null;
    try {
      if (x.status >= 400) await relayClientError(ctx, d, x);
      else if (ctx.req.stream) broken = await relayStream(ctx, d, x);
      else broken = await relayJson(ctx, d, x);
      if (broken) up.router.failure(d.id, broken); else up.router.success(d.id);
    } catch (e) {
      if (!(e instanceof BrokenAnswer)) throw e;
      up.router.failure(d.id, { kind: 'stream-broken' });
      throw e.error;
    } finally {
      up.router.end(d.id);
    }
    return;
  }
  const err = last ?? new GatewayError('no_deployment_available', `No deployment of '${ctx.model.id}' is available right now.`);
  fail(ctx, err, null);
}

/** An answer that broke after it began: the deployment's fault, and the client's error. */
class BrokenAnswer { constructor(readonly error: GatewayError) {} }

/** Records a failed request and throws its error for the caller to render. */
function fail(ctx: RelayContext, err: GatewayError, deploymentId: string | null): never {
  ctx.finish({ status: err.status, usage: null, delivered: NOTHING, errorCode: err.code, deploymentId, ttftMs: null });
  throw err;
}

/** 4xx from the model server (other than 429): the client's request was wrong; pass the message on in our shape. */
async function relayClientError(ctx: RelayContext, d: DeploymentConfig, x: Exchange): Promise<void> {
  let message = `The model server rejected the request (${x.status}).`;
  try {
    const o = JSON.parse((await readBody(x)).toString('utf8')) as { error?: { message?: unknown }; message?: unknown };
    const m = o.error?.message ?? o.message;
    // Servers quote the request in their messages (vLLM's validation errors do).
    if (typeof m === 'string' && m) message = hideUpstreamName(m.slice(0, 2000), d, ctx);
  } catch { /* not JSON: keep the generic message */ }
  ctx.finish({ status: x.status, usage: null, delivered: NOTHING, errorCode: 'upstream_client_error', deploymentId: d.id, ttftMs: null });
  throw new GatewayError(x.status === 404 ? 'not_found' : 'invalid_request_error', message);
}

/** Text the gateway cannot parse (error messages, non-JSON events) with the upstream's model name replaced by the public one. */
function hideUpstreamName(text: string, d: DeploymentConfig, ctx: RelayContext): string {
  return text.split(d.upstreamModel).join(ctx.model.id);
}

/** The object at `path` in `o` (all but the last key), if every step is an object. */
function holder(o: Record<string, unknown>, path: readonly string[]): Record<string, unknown> | null {
  let at: unknown = o;
  for (let i = 0; i < path.length - 1; i++) {
    at = (at as Record<string, unknown>)[path[i]!];
    if (!at || typeof at !== 'object' || Array.isArray(at)) return null;
  }
  return at as Record<string, unknown>;
}

/**
 * The object's JSON with the model name renamed wherever the endpoint puts it
 * (`model`, a Responses event's `response.model`, a Messages event's
 * `message.model`). Compact JSON is renamed in place when each renamed value
 * is the only occurrence of its text (the parse proved where it is: a key in
 * JSON text is never inside an escaped string); anything else is re-serialised.
 */
export function renamed(text: string, obj: Record<string, unknown>, e: Endpoint, upstreamModel: string, publicId: string): string {
  let found = 0;
  let other = false;
  for (const path of e.modelAt) {
    const h = holder(obj, path);
    const k = path[path.length - 1]!;
    if (!h || !(k in h) || h[k] === publicId) continue;
    if (h[k] === upstreamModel) found++; else other = true;
  }
  if (found === 0 && !other) return text;
  if (!other) {
    const from = `"model":${JSON.stringify(upstreamModel)}`;
    const parts = text.split(from);
    if (parts.length - 1 === found) return parts.join(`"model":${JSON.stringify(publicId)}`);
  }
  for (const path of e.modelAt) {
    const h = holder(obj, path);
    const k = path[path.length - 1]!;
    if (h && k in h) h[k] = publicId;
  }
  return JSON.stringify(obj);
}

async function relayJson(ctx: RelayContext, d: DeploymentConfig, x: Exchange): Promise<AttemptFailure | null> {
  let raw: Buffer;
  try {
    raw = await readBody(x);
  } catch (err) {
    if (ctx.link.gone) { disconnected(ctx, d.id); return { kind: 'client-gone' }; }
    ctx.finish({ status: 502, usage: null, delivered: NOTHING, errorCode: 'upstream_stream_error', deploymentId: d.id, ttftMs: null });
    throw new BrokenAnswer(classify(err));
  }
  const ttftMs = performance.now() - ctx.t0;
  const text = raw.toString('utf8');
  let obj: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    obj = parsed as Record<string, unknown>;
  } catch {
    return fail(ctx, new GatewayError('upstream_error', 'The model server sent a malformed response.'), d.id);
  }
  const e = ctx.req.endpoint;
  const usage = e.usage(obj, ctx.req);
  const chars = usage ? 0 : e.output(obj);
  const createdId = e.createdId?.(obj) ?? null;
  const out = renamed(text, obj, e, d.upstreamModel, ctx.model.id);
  ctx.finish({ status: x.status, usage, delivered: { events: chars > 0 ? 1 : 0, chars }, errorCode: null, deploymentId: d.id, ttftMs, createdId }, () => {
    ctx.res.writeHead(x.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(out),
      'x-request-id': ctx.requestId,
    });
    ctx.res.end(out);
  });
  return null;
}

function relayStream(ctx: RelayContext, d: DeploymentConfig, x: Exchange): Promise<AttemptFailure | null> {
  const { res, req } = ctx;
  const e = req.endpoint;
  const decoder = new StringDecoder('utf8');
  // vLLM sends continuous usage only with include_usage, and the gateway always asks for that upstream: only the client's include_usage says it wants usage.
  const hideUsage = e.hidesUsage && !req.includeUsage;
  let usage: Usage | null = null;
  let createdId: string | null = null;
  const delivered = { events: 0, chars: 0 };
  let afterUsage = { events: 0, chars: 0 };
  let sawDone = false;
  let sawTerminal = false;
  let ttftMs: number | null = null;
  let paused = false;
  let out = '';
  /** The stream's last event, sent once the usage is journaled. */
  let last = '';

  const onEvent = (ev: SseEvent): void => {
    const data = ev.data;
    if (data === '[DONE]' && e.doneSentinel) { sawDone = true; return; }
    let obj: Record<string, unknown> | null = null;
    if (data.charCodeAt(0) === 123 /* { */ || data.trimStart().startsWith('{')) {
      try { obj = JSON.parse(data) as Record<string, unknown>; } catch { obj = null; }
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) { out += formatEvent(hideUpstreamName(data, d, ctx), ev.event); return; }
    const before = usage;
    usage = e.streamUsage(obj, usage, req);
    createdId ??= e.createdId?.(obj) ?? null;
    const chars = e.output(obj);
    if (chars > 0) { delivered.events++; delivered.chars += chars; }
    // A usage that came with this event counts the output so far, this event's included.
    if (usage !== before) afterUsage = { events: 0, chars: 0 };
    else if (chars > 0) { afterUsage.events++; afterUsage.chars += chars; }
    // The upstream's own text is relayed when only `model` changes and it came on one line (the reader joins data lines with \n).
    let text = data.includes('\n') ? JSON.stringify(obj) : data;
    if (hideUsage && 'usage' in obj) {
      // The usage-only chunk the gateway asked for on the client's behalf is not the client's to see.
      if (!Array.isArray(obj.choices) || obj.choices.length === 0) return;
      delete obj.usage;
      text = JSON.stringify(obj);
    }
    let relayed = renamed(text, obj, e, d.upstreamModel, ctx.model.id);
    // An error event's message is the upstream's own text, which may name its model.
    if ('error' in obj || obj.type === 'error') relayed = hideUpstreamName(relayed, d, ctx);
    const event = formatEvent(relayed, ev.event);
    if (e.terminalEvents?.has(obj.type as string)) { sawTerminal = true; last += event; } else out += event;
  };
  const reader = new SseReader(onEvent);

  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-request-id': ctx.requestId,
  });
  const flush = (): void => {
    if (!out) return;
    const chunk = out;
    out = '';
    // Backpressure: a slow client pauses the upstream instead of growing our buffers, but not
    // for ever: one that reads nothing for stalledClientMs is cut (billed as a disconnect).
    if (!res.write(chunk) && !paused) {
      paused = true;
      x.pause();
      const stalled = setTimeout(() => res.destroy(), ctx.stalledClientMs);
      // One listener pair per pause, removed when it ends: a long stream paused often must not pile up listeners.
      const closed = () => clearTimeout(stalled);
      res.once('close', closed);
      res.once('drain', () => { clearTimeout(stalled); res.off('close', closed); paused = false; x.resume(); });
    }
  };
  return new Promise<AttemptFailure | null>((resolve) => {
    x.consume({
      data(chunk) {
        if (ttftMs === null) ttftMs = performance.now() - ctx.t0;
        try {
          reader.push(decoder.write(chunk));
        } catch (err) {
          x.abort(err as Error); // an event past the reader's cap: a broken stream, not one to buffer without end
          return;
        }
        flush();
      },
      end() {
        reader.push(decoder.end());
        reader.end();
        flush();
        const incomplete = e.doneSentinel ? !sawDone : e.terminalEvents ? !sawTerminal : false;
        ctx.finish({ status: 200, usage, delivered, afterUsage, incomplete, errorCode: null, deploymentId: d.id, ttftMs, createdId }, () => {
          res.end(last + (sawDone ? 'data: [DONE]\n\n' : ''));
        });
        resolve(null);
      },
      error(err) {
        if (ctx.link.gone) {
          disconnected(ctx, d.id, usage, delivered, ttftMs, afterUsage);
          resolve({ kind: 'client-gone' });
          return;
        }
        // What the client already received is billed (the last usage seen, or an estimate from it).
        ctx.finish({ status: 502, usage, delivered, afterUsage, errorCode: 'upstream_stream_error', deploymentId: d.id, ttftMs, createdId });
        const ge = classify(err);
        // In the stream's own terms: Anthropic's and the Responses API's `event: error`, or an OpenAI error chunk.
        if (!res.destroyed) {
          res.end(e.errors === 'anthropic' ? formatEvent(errorBody(ge.code, ge.message, null, 'anthropic'), 'error')
            : e.terminalEvents ? formatEvent(JSON.stringify({ type: 'error', code: ge.code, message: ge.message, param: null }), 'error')
            : `data: ${errorBody(ge.code, ge.message)}\n\n`);
        }
        resolve({ kind: 'stream-broken' });
      },
    });
  });
}
