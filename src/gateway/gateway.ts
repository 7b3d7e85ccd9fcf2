/**
 * @module The /v1 gateway, read top to bottom:
 * authenticate → parse → authorize → limit → reserve → route/forward → meter → record.
 * It is a plain node:http handler (no framework on the hot path) and never
 * imports the portal. Keys, models and subscriptions come from an in-memory
 * snapshot replaced on NOTIFY and on a periodic reconcile.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Store } from '../store/db.js';
import type { Cipher } from '../shared/secrets.js';
import { fromPico } from '../shared/money.js';
import { sanitize } from '../shared/sanitize.js';
import type { Ledger } from '../ledger/ledger.js';
import type { SpendTracker } from '../ledger/budgets.js';
import { RateLimiter } from '../ledger/limits.js';
import { estimateCompletion, priceUsage, type Usage } from '../ledger/meter.js';
import type { UsageEvent } from '../ledger/event.js';
import { authenticate } from './auth.js';
import { authorizeModel, maxCost } from './authorize.js';
import { LocalAdmission, type Admission, type Ticket } from './admission.js';
import { admitWithModelLimits } from './model-limits.js';
import { GatewayError, sendError, type ErrorFormat } from './errors.js';
import { forward, NOTHING, type ClientLink, type Outcome, type Upstream } from './proxy.js';
import { endpointAt, parseClientRequest, parseFormRequest, readRequestBody, requestBounds, type Bounds, type ClientRequest } from './request.js';
import { ENDPOINTS } from './endpoints/index.js';
import { ResponseRoutes } from './endpoints/response-routes.js';
import { responseObject } from './endpoints/response-objects.js';
import { INT4_MAX } from '../ledger/event.js';
import { Router } from './route.js';
import { emptySnapshot, withCredit, type KeyEntry, type ModelEntry, type Snapshot } from './snapshot.js';
import { loadSnapshot, loadVersion, type LoadOptions } from './snapshot-load.js';
import { applicable, applyChanges, parseChange, type Change } from './snapshot-changes.js';
import type { SnapshotCache } from './snapshot-cache.js';
import { isUnreachable } from '../store/db.js';
import { UpstreamClients } from './upstream.js';
import type { BreakerState, GatewayMetrics } from './metrics.js';

const CLIENT_GONE = new Error('client closed the connection');
const UNKNOWN_MODEL_LABEL = '(unknown)';
/** How long the gateway remembers which deployment holds a stored response (vLLM keeps them in memory, so far shorter in practice). */
const RESPONSE_ROUTE_DAYS = 30;
const SUPPORTED = ['/v1/models', ...ENDPOINTS.map((e) => e.paths[0]!)].join(', ');
/** Anthropic's clients read Anthropic's error shape. */
const formatFor = (url: string): ErrorFormat => (url.startsWith('/v1/messages') ? 'anthropic' : 'openai');
/** More changes than this waiting at once are not applied one by one: the snapshot is reloaded whole. */
const MAX_BATCH = 1000;
/** How long reload() waits for the notifications of changes already committed before it reloads everything. */
const CATCH_UP_MS = 1000;
/** After changes applied piecemeal, the cache file is rewritten at most this often, and no more than 5 % of the time (a million keys take seconds to write). */
const CACHE_WRITE_MS = 2000;
const CACHE_WRITE_SHARE = 20;

export interface GatewayLogger { warn(obj: object, msg: string): void; error(obj: object, msg: string): void; info(obj: object, msg: string): void }

export interface GatewayOptions {
  store: Store; cipher: Cipher; ledger: Ledger; spend: SpendTracker; metrics: GatewayMetrics; log: GatewayLogger;
  /** Limits, budgets and quotas; by default kept in this process (exact for one process). */
  admission?: Admission;
  /** Request bodies up to this many bytes; multipart audio uploads up to maxAudioBytes. */
  maxBodyBytes: number; maxAudioBytes?: number; reconcileIntervalMs: number;
  /** A streaming client that reads nothing for this long is cut (its upstream aborted, billed as a disconnect). */
  stalledClientMs: number;
  /** Where the last good snapshot is kept, to start from while the database is unreachable. */
  snapshotCache?: SnapshotCache;
  /** Page size of full loads, and a hook after each page (tests). */
  snapshotLoad?: Pick<LoadOptions, 'pageSize' | 'onPage'>;
}

export class Gateway {
  private snap: Snapshot = emptySnapshot();
  private readonly admission: Admission;
  private readonly router = new Router();
  private readonly clients = new UpstreamClients();
  private readonly up: Upstream;
  private readonly routes: ResponseRoutes;
  private reloadTimer: NodeJS.Timeout | null = null;
  private reconcileTimer: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  /** Changes notified and not applied yet; `fullDue` when one could not be understood. */
  private pending: Change[] = [];
  private fullDue = false;
  private pumping: Promise<void> | null = null;
  private pumpAgain = false;
  private cacheTimer: NodeJS.Timeout | null = null;
  /** reload() calls waiting for the snapshot to reach a version. */
  private waiters: Array<{ v: number; done: () => void }> = [];
  private reloadFailing = false;
  /** A full load is under way (reload() waits for it rather than asking for another). */
  private loadingFull = false;
  /** Full reloads and changes applied piecemeal, for tests and the bench. */
  readonly reloadStats = { full: 0, applied: 0 };
  inFlight = 0;

  constructor(private readonly o: GatewayOptions) {
    o.metrics.inFlightSource = () => this.inFlight;
    o.metrics.breakerSource = () => this.breakers();
    this.admission = o.admission ?? new LocalAdmission(new RateLimiter(), o.spend);
    this.routes = new ResponseRoutes(o.store.db, o.log);
    this.up = {
      clients: this.clients,
      router: this.router,
      onUpstreamError: (deployment, message) => {
        o.metrics.upstreamErrors.inc({ deployment });
        o.log.warn({ deployment, reason: message }, 'upstream attempt failed');
      },
    };
  }

  /**
   * Loads the snapshot, or, when the database cannot be reached, the cached one (if there is
   * none, the error stands). The listener and the reconcile timer bring the live one once the
   * database is back.
   */
  async start(): Promise<void> {
    // Listening before the first load: what changes while its pages are read is queued and applied after it (at a
    // million keys, a change missed there would cost a second full load). The listener resolves even when it cannot connect.
    await this.o.store.listen((payload) => this.onChange(payload));
    try {
      this.fullDue = true;
      await this.pump();
    } catch (err) {
      const cached = isUnreachable(err) ? await this.o.snapshotCache?.load(this.o.cipher) : null;
      if (!cached) throw err;
      this.snap = cached.snap;
      this.o.log.warn({ err: (err as Error).message, savedAt: cached.savedAt, keys: this.snap.keys.size }, 'database unreachable; serving the cached snapshot until it is back');
    }
    // Were the listener down, a change could have sent its notification to nobody: compare once now.
    this.scheduleReload();
    this.reconcileTimer = setInterval(() => this.scheduleReload(), this.o.reconcileIntervalMs);
    this.reconcileTimer.unref();
    this.pruneTimer = setInterval(() => void this.routes.prune(RESPONSE_ROUTE_DAYS), 3_600_000);
    this.pruneTimer.unref();
  }

  get snapshot(): Snapshot { return this.snap; }

  /** The circuit breakers of the snapshot's deployments, for /metrics (read at scrape time). */
  private *breakers(): Iterable<BreakerState> {
    for (const m of this.snap.models.values()) {
      for (const d of m.deployments) yield { model: m.id, deployment: d.id, open: this.router.isOpen(d.id) };
    }
  }

  /**
   * One notification: a change it names is queued and applied piecemeal; one it does not
   * (an older schema's bare table name, garbage) makes the next step a full reload; a listener
   * back from a lost connection compares the change counter (scheduleReload).
   */
  private onChange(payload: string): void {
    if (payload === 'reconnect') return this.scheduleReload();
    const c = parseChange(payload);
    if (c) this.pending.push(c); else this.fullDue = true;
    if (this.pending.length > MAX_BATCH) { this.pending = []; this.fullDue = true; }
    this.pump().catch((err: unknown) => this.failed(err));
  }

  /** The periodic (and after-reconnect) reconcile: coalesced; a cheap comparison unless the snapshot is behind. */
  scheduleReload(): void {
    if (this.reloadTimer) return;
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = null;
      void this.reload().then(
        () => { if (this.reloadFailing) this.o.log.info({}, 'snapshot reloaded from the database again'); this.reloadFailing = false; },
        (err) => this.failed(err));
    }, 10);
  }

  private failed(err: unknown): void {
    // Once per outage, not on every notification or reconcile tick.
    if (!this.reloadFailing) this.o.log.warn({ err: (err as Error).message }, 'snapshot reload failed; serving from cache');
    this.reloadFailing = true;
  }

  /**
   * Brings the snapshot up to date with the database (a portal mutation awaits this before it
   * answers): reads the change counter; when the snapshot is behind, waits up to a second for the
   * notifications of what was committed to be applied, and reloads everything when they do not
   * come, when the counter went backwards, or when it is unknown (a cached snapshot, an older schema).
   */
  async reload(): Promise<void> {
    const v = await loadVersion(this.o.store.db);
    for (let waited = false; ; waited = true) {
      const seen = this.snap.version;
      if (v !== null && seen !== null) {
        if (v === seen || (waited && v < seen)) return;
        if (v > seen && await this.reached(v, CATCH_UP_MS)) return;
      }
      // A full load under way reads at least version v: wait for it and its queued changes, rather than load again.
      if (!this.loadingFull || !this.pumping) break;
      await this.pumping;
    }
    this.fullDue = true;
    await this.pump();
  }

  /** Resolves true once the snapshot reflects version `v`, false after `ms`. */
  private reached(v: number, ms: number): Promise<boolean> {
    if (this.snap.version !== null && this.snap.version >= v) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w = { v, done: () => { clearTimeout(t); resolve(true); } };
      const t = setTimeout(() => { this.waiters = this.waiters.filter((x) => x !== w); resolve(false); }, ms);
      t.unref();
      this.waiters.push(w);
    });
  }

  private advanced(): void {
    const v = this.snap.version;
    if (v === null || this.waiters.length === 0) return;
    const ready = this.waiters.filter((w) => w.v <= v);
    this.waiters = this.waiters.filter((w) => w.v > v);
    for (const w of ready) w.done();
  }

  /** Works through the queue, one step at a time (never two at once). */
  private pump(): Promise<void> {
    if (this.pumping) { this.pumpAgain = true; return this.pumping; }
    this.pumping = (async () => {
      do { this.pumpAgain = false; await this.step(); } while (this.pumpAgain);
    })().finally(() => { this.pumping = null; });
    return this.pumping;
  }

  /**
   * Applies what is queued: piecemeal when the changes follow the snapshot's version without a
   * gap and name their rows, else (a missed notification, a bulk statement, an unknown version)
   * by a full reload.
   */
  private async step(): Promise<void> {
    const seen = this.snap.version;
    const batch = seen === null ? this.pending : this.pending.filter((c) => c.v > seen).sort((a, b) => a.v - b.v);
    this.pending = [];
    const inOrder = seen !== null && batch.every((c, i) => c.v === seen + 1 + i);
    if (this.fullDue || (batch.length > 0 && (!inOrder || batch.length > MAX_BATCH || !applicable(batch)))) {
      this.fullDue = false;
      this.pending = batch; // fullReload keeps those newer than what it read
      try { await this.fullReload(); } catch (err) { this.fullDue = true; throw err; }
      return;
    }
    if (batch.length === 0) return;
    try {
      await applyChanges(this.o.store.db, this.snap, batch, this.o.cipher);
    } catch (err) {
      this.fullDue = true; // what was half-read is read again, whole
      throw err;
    }
    this.snap.version = batch[batch.length - 1]!.v;
    this.snap.loadedAt = Date.now();
    this.reloadStats.applied += batch.length;
    this.advanced();
    this.cacheSoon();
  }

  /** Reads everything, in pages (the version first, so that whatever the rows miss comes later by notification); requests are served from the old snapshot meanwhile. */
  private async fullReload(): Promise<void> {
    this.loadingFull = true;
    try {
      this.snap = await loadSnapshot(this.o.store.db, this.o.cipher, { ...this.o.snapshotLoad, previous: this.snap });
    } finally {
      this.loadingFull = false;
    }
    const version = this.snap.version;
    this.pending = version === null ? [] : this.pending.filter((c) => c.v > version);
    this.reloadStats.full++;
    this.advanced();
    if (this.cacheTimer) { clearTimeout(this.cacheTimer); this.cacheTimer = null; }
    void this.writeCache();
  }

  /** After piecemeal changes: the cache file is rewritten from the snapshot, at most every CACHE_WRITE_MS and 5 % of the time. */
  private cacheSoon(): void {
    const cache = this.o.snapshotCache;
    if (!cache || this.cacheTimer) return;
    this.cacheTimer = setTimeout(() => { this.cacheTimer = null; void this.writeCache(); }, Math.max(CACHE_WRITE_MS, cache.lastWriteMs * CACHE_WRITE_SHARE));
    this.cacheTimer.unref();
  }

  private writeCache(): Promise<unknown> | undefined {
    return this.o.snapshotCache?.save(this.snap).catch((err) => this.o.log.warn({ err: (err as Error).message }, 'could not write the snapshot cache'));
  }

  async close(): Promise<void> {
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    if (this.cacheTimer) { clearTimeout(this.cacheTimer); this.cacheTimer = null; await this.writeCache(); } // changes applied since the last write
    await this.o.snapshotCache?.idle();
    await this.routes.close();
    await this.clients.close();
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const requestId = randomUUID();
    const t0 = performance.now();
    this.inFlight++;
    res.once('close', () => { this.inFlight--; });
    this.serve(req, res, requestId, t0).catch((err: unknown) => {
      const format = formatFor(req.url ?? '');
      if (err instanceof GatewayError) {
        if (!err.fromUpstream) this.o.metrics.refused(err);
        return sendError(res, err, requestId, format);
      }
      this.o.log.error({ requestId, err: (err as Error).message }, 'unexpected gateway error');
      sendError(res, new GatewayError('internal_error', 'Internal gateway error.'), requestId, format);
    });
  }

  private async serve(req: IncomingMessage, res: ServerResponse, requestId: string, t0: number): Promise<void> {
    const q = req.url!.indexOf('?');
    const path = q < 0 ? req.url! : req.url!.slice(0, q);
    if (path === '/v1/models' || path.startsWith('/v1/models/')) {
      if (req.method !== 'GET') throw new GatewayError('method_not_allowed', `${req.method} is not allowed on ${path}.`);
      return this.listModels(authenticate(req, this.snap), path, res, requestId);
    }
    if (path.startsWith('/v1/responses/')) {
      return responseObject({ req, res, path, requestId, key: authenticate(req, this.snap), snap: this.snap, routes: this.routes, up: this.up });
    }
    const endpoint = endpointAt(path);
    if (!endpoint) throw new GatewayError('not_found', `Unknown path ${path}. Supported: ${SUPPORTED}.`);
    if (req.method !== 'POST') throw new GatewayError('method_not_allowed', `${req.method} is not allowed on ${path}; use POST.`);
    const key = authenticate(req, this.snap);
    const raw = await readRequestBody(req, endpoint.body === 'multipart' ? this.o.maxAudioBytes ?? this.o.maxBodyBytes : this.o.maxBodyBytes);
    const clientReq = endpoint.body === 'multipart' ? await parseFormRequest(endpoint, raw, req.headers['content-type']) : parseClientRequest(endpoint, raw);
    const at = new Date();
    // `bounds` once known: a refused request records what it would have reserved (a budget card explains refusals with it).
    const refuse = (err: GatewayError, modelId: string, model: ModelEntry | null, bounds?: Bounds) => {
      this.admission.count(this.record(key, modelId, requestId, at, t0, { status: err.status, usage: null, delivered: NOTHING, errorCode: err.code, deploymentId: null, ttftMs: null }, clientReq, model, undefined, bounds).e);
      throw err;
    };
    let model: ModelEntry, sub;
    try { ({ model, sub } = authorizeModel(key, clientReq.model, this.snap)); } catch (e) { return refuse(e as GatewayError, clientReq.model, null); } // the ledger cleans and bounds it
    if (!endpoint.kinds.includes(model.kind)) {
      return refuse(new GatewayError('invalid_request_error', `The model '${model.id}' is a${model.kind === 'audio' ? 'n' : ''} ${model.kind} model; ${path} serves ${endpoint.kinds.join(', ')} models.`, 'model'), model.id, model);
    }
    // A continued response reads its stored conversation, on the deployment that holds it, and only for the key that made it.
    let pinned: string | null = null;
    let conversation = 0;
    if (clientReq.previousResponseId !== null) {
      const route = await this.routes.find(clientReq.previousResponseId);
      if (!route || route.keyId !== key.id || route.modelId !== model.id) {
        return refuse(new GatewayError('not_found', `Previous response with id '${sanitize(clientReq.previousResponseId)}' not found.`, 'previous_response_id'), model.id, model);
      }
      pinned = route.deploymentId;
      conversation = route.tokens ?? model.contextLength ?? 0;
    }
    const base = requestBounds(clientReq, model.contextLength);
    const bounds: Bounds = conversation ? { ...base, prompt: Math.min(INT4_MAX, base.prompt + conversation) } : base;
    // A free request (tokenize) costs nothing: no budget or quota can refuse it; rate limits apply.
    let ticket: Ticket;
    try {
      // withCredit: an admin's spend reset, as a raised budget until the period it was made in ends.
      // admitWithModelLimits: the key's limits on this model (if it has any) are admitted first, as the key's slice.
      const t = admitWithModelLimits(this.admission, { key: withCredit(key, at.getTime()), model, sub, bounds, free: endpoint.free === true, at });
      ticket = t instanceof Promise ? await t : t; // the in-process admission answers without a microtask
    } catch (e) {
      if (e instanceof GatewayError) return refuse(e, model.id, model, bounds);
      throw e;
    }
    const link: ClientLink = { gone: req.socket.destroyed, exchange: null }; // it may have left while we read its body
    res.once('close', () => {
      if (res.writableFinished) return;
      link.gone = true;
      link.exchange?.abort(CLIENT_GONE); // stop the upstream generating for nobody
    });
    let finished = false;
    try {
      await forward(this.up, {
        req: clientReq, bounds, model, res, requestId, t0, link, stalledClientMs: this.o.stalledClientMs, pinned,
        finish: (o, then) => {
          if (finished) return;
          finished = true;
          const { e, cost } = this.record(key, model.id, requestId, at, t0, o, clientReq, model, then, bounds);
          // A free request is not billed but its prompt was read: it counts in the tpm windows, so tokenize is no unlimited upstream load.
          const tokens = endpoint.free && o.status < 300 ? Math.min(clientReq.promptGuess, bounds.prompt) : e.promptTokens + e.completionTokens;
          // A response the client asked not to store cannot be retrieved or continued: nothing to route.
          if (o.createdId && o.deploymentId && o.status < 300 && clientReq.body.store !== false) {
            this.routes.remember(o.createdId, { keyId: key.id, modelId: model.id, deploymentId: o.deploymentId, tokens: Math.min(INT4_MAX, conversation + tokens) });
          }
          ticket.settle(e, cost, tokens);
        },
      });
    } catch (e) {
      if (e instanceof GatewayError) e.fromUpstream = true; // the model server's failure, not a refusal
      throw e;
    } finally {
      if (!finished) ticket.settle(null, 0n, 0);
    }
  }

  /**
   * Meter and record one request: cost from the upstream's usage, or an
   * estimate from the output delivered when it never came. Returns the event recorded and its exact cost.
   */
  private record(key: KeyEntry, modelId: string, id: string, at: Date, t0: number, o: Outcome, req: ClientRequest, model: ModelEntry | null, then?: () => void, bounds?: Bounds): { e: UsageEvent; cost: bigint } {
    const endpoint = req.endpoint;
    let usage: Usage | null = null;
    let estimated = false;
    // Only a forwarded request (it has bounds) can have delivered output or been left mid-answer; a free one is counted, never billed.
    if (model && bounds && !endpoint.free) {
      usage = o.usage;
      const answered = o.status < 300 || o.status === 499;
      if (answered && endpoint.settle) ({ usage, estimated } = endpoint.settle(usage, req));
      // Cut short (the client left, the stream broke or ended without its last word): what was delivered after the last usage counts too.
      const cut = o.status === 499 || o.errorCode === 'upstream_stream_error' || o.incomplete === true;
      if (!usage && (o.status < 300 || o.delivered.events > 0 || o.status === 499)) {
        // An answer without usage still read its prompt. An upstream that obeyed the bound generated no more than it; a guess never bills beyond what was reserved.
        usage = { promptTokens: Math.min(req.promptGuess, bounds.prompt), completionTokens: Math.min(estimateCompletion(o.delivered), bounds.completion) };
        estimated = true;
      } else if (usage && cut) {
        // The last usage seen before the answer was cut, plus an estimate of what was delivered after it (never beyond the bound).
        estimated = true;
        const after = o.afterUsage && o.afterUsage.events > 0 ? estimateCompletion(o.afterUsage) : 0;
        if (after > 0) usage = { ...usage, completionTokens: Math.min(usage.completionTokens + after, Math.max(usage.completionTokens, bounds.completion)) };
      }
    }
    const cost = usage && model ? priceUsage(usage, model) : 0n;
    // What admission reserved (or would have): the same maxCost the budgets were checked with.
    const reserved = model && bounds && !endpoint.free ? fromPico(maxCost(model, bounds)) : null;
    const latencyMs = performance.now() - t0;
    const e: UsageEvent = {
      id, at: at.toISOString(), keyId: key.id, userId: key.user.id, modelId, deploymentId: o.deploymentId,
      status: o.status, promptTokens: usage?.promptTokens ?? 0, completionTokens: usage?.completionTokens ?? 0,
      cost: fromPico(cost), latencyMs: Math.round(latencyMs), ttftMs: o.ttftMs === null ? null : Math.round(o.ttftMs),
      stream: req.stream, estimated, errorCode: o.errorCode,
      endpoint: endpoint.name, cachedTokens: usage?.cachedTokens ?? 0, audioMs: usage?.audioMs ?? 0, reservedCost: reserved,
    };
    this.o.ledger.record(e, then);
    // A client-chosen model name never becomes a label: unknown models share one, so refusals cannot grow /metrics.
    const label = model ? model.id : this.snap.models.has(modelId) ? modelId : UNKNOWN_MODEL_LABEL;
    this.o.metrics.observe(label, o.status, e.promptTokens, e.completionTokens, cost > 0n ? Number(e.cost) : 0, latencyMs / 1000);
    return { e, cost };
  }

  private listModels(key: KeyEntry, path: string, res: ServerResponse, requestId: string): void {
    const data = [];
    for (const id of key.models) {
      const m = this.snap.models.get(id);
      const sub = this.snap.subscriptions.get(`${key.user.id}|${id}`);
      if (m && sub?.status === 'active') data.push({ id: m.id, object: 'model', created: m.created, owned_by: 'litemaas' });
    }
    let body: string;
    if (path === '/v1/models') body = JSON.stringify({ object: 'list', data });
    else {
      let id: string;
      try { id = decodeURIComponent(path.slice('/v1/models/'.length)); } catch {
        throw new GatewayError('invalid_request_error', 'The model id in the path is not valid percent-encoding.', 'model');
      }
      const m = data.find((x) => x.id === id);
      if (!m) throw new GatewayError('model_not_found', `The model '${sanitize(id)}' does not exist or this key may not use it.`, 'model');
      body = JSON.stringify(m);
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-request-id': requestId });
    res.end(body);
  }
}
