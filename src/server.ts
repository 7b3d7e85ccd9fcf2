/**
 * @module `litemaas serve`: one HTTP server, two surfaces. Requests under
 * /v1 go straight to the gateway's node:http handler; everything else goes
 * to Fastify (portal API, health, metrics — or metrics on a port of their own
 * with LITEMAAS_METRICS_PORT, kept off the public Route). Start order: store → ledger
 * replay → key snapshot → listen. Spend counters are not loaded at start:
 * each key's, user's and subscription's are read the first time a request
 * needs its budget or quota (src/ledger/budgets.ts). SIGTERM drains in-flight
 * requests and flushes the ledger.
 *
 * PostgreSQL unreachable at start is not fatal when a cached snapshot exists:
 * the gateway serves from it (keys without budgets or quotas; the others get
 * 503 while their counters cannot be read), usage waits in the journal, and
 * a background loop brings in migrations and the live snapshot once the
 * database answers.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from './config.js';
import { isUnreachable, migrateStore, openStore, type Store } from './store/db.js';
import { retryUntilDone, type RetryLoop } from './store/backoff.js';
import { loadCipher } from './shared/secrets.js';
import { Ledger } from './ledger/ledger.js';
import { SpendTracker } from './ledger/budgets.js';
import { RateLimiter } from './ledger/limits.js';
import { LocalAdmission, type Admission } from './gateway/admission.js';
import { RedisAdmission } from './gateway/redis-admission.js';
import { openRedis, whenReady } from './shared/redis.js';
import { Gateway } from './gateway/gateway.js';
import { isGatewayUrl } from './gateway/endpoints/index.js';
import { SnapshotCache } from './gateway/snapshot-cache.js';
import { GatewayMetrics } from './gateway/metrics.js';
import { createServices, type PortalServices } from './portal/context.js';
import { registerPortal } from './portal/portal.js';
import { builtUi } from './shared/web-ui.js';
import { Notifier } from './notify/notifier.js';

export interface Running {
  app: FastifyInstance;
  gateway: Gateway;
  ledger: Ledger;
  store: Store;
  services: PortalServices;
  notifier: Notifier;
  url: string;
  /** Where /metrics is served: under `url`, or on LITEMAAS_METRICS_PORT. */
  metricsUrl: string;
  close(): Promise<void>;
}

/** The one-line reason `serve` cannot start without the database. */
function noSnapshotError(err: unknown, cache: SnapshotCache): Error {
  const why = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').slice(0, 200);
  return new Error(`cannot start: the database is unreachable (${why}) and no cached snapshot exists (${cache.file}); start once with the database reachable to create one`);
}

export async function startServer(cfg: Config): Promise<Running> {
  const store = await openStore({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir, migrate: false });
  const snapshotCache = new SnapshotCache(join(cfg.dataDir, 'snapshot.json'));
  const dbError = await migrateStore(store).then(() => null, (err: unknown) => err);
  if (dbError !== null) {
    // Only "unreachable" is survivable, and only with a snapshot to serve; a wrong password or a failed migration is not.
    const fatal = store.kind !== 'postgres' || !isUnreachable(dbError) ? dbError : snapshotCache.exists() ? null : noSnapshotError(dbError, snapshotCache);
    if (fatal) { await store.close(); throw fatal; }
  }
  const cipher = loadCipher(cfg.secret, cfg.dataDir);
  const metrics = new GatewayMetrics();

  let gatewayHandler: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  const app = Fastify({
    logger: { level: cfg.logLevel, redact: ['req.headers.authorization', 'req.headers["api-key"]', 'req.headers["x-api-key"]', 'req.headers.cookie'] },
    bodyLimit: 1024 * 1024,
    trustProxy: cfg.trustProxy,
    // No type coercion: ajv would turn 0 or "" into null and quietly accept a wrong value.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    serverFactory: (fastifyHandler) => createServer({
      // Slow headers and slow bodies cannot hold a connection for minutes; checked every second, not Node's default 30 s.
      headersTimeout: cfg.headersTimeoutMs, requestTimeout: cfg.requestTimeoutMs,
      keepAliveTimeout: cfg.keepAliveTimeoutMs, connectionsCheckingInterval: 1000,
    }, (req, res) => {
      const u = req.url ?? '';
      if (gatewayHandler && isGatewayUrl(u)) gatewayHandler(req, res);
      else fastifyHandler(req, res);
    }),
  }).withTypeProvider<TypeBoxTypeProvider>();

  const log = app.log;
  // Budget alerts are checked after each committed batch, off the request path (src/notify).
  const notifier = new Notifier(store.db, cipher, { ...cfg.notify, log });
  const ledger = new Ledger(store.db, {
    onWritten: notifier.written,
    journalDir: join(cfg.dataDir, 'journal'),
    flushIntervalMs: cfg.flushIntervalMs,
    onError: (err) => log.warn({ err: (err as Error).message }, 'usage write failed; kept in the journal, will retry'),
    onDeadLetter: (d) => {
      metrics.deadLetters.inc();
      // Stored nowhere (database and disk both refused): the log line is the only copy, so it carries the event.
      log.error({ eventId: d.event.id, keyId: d.event.keyId, code: d.code, reason: d.reason, storedIn: d.storedIn, event: d.storedIn === 'nowhere' ? d.event : undefined },
        'usage event refused by the database; dead-lettered');
    },
  });
  await ledger.start();
  // Read per scope on first need, never all at once: a million scopes took 7–18 s to load (bench/RESULTS.md).
  const spend = new SpendTracker({ db: store.db, unwritten: () => ledger.unwritten() });

  // Several replicas: limits, budgets and quotas on Redis; without REDIS_URL they stay in this process.
  let redis: ReturnType<typeof openRedis> | null = null;
  let admission: Admission | undefined;
  if (cfg.redisUrl) {
    redis = openRedis(cfg.redisUrl, { commandTimeoutMs: cfg.redisTimeoutMs });
    metrics.registry.registerMetric(metrics.redisUp);
    const ready = await whenReady(redis, 2_000);
    metrics.redisUp.set(ready ? 1 : 0);
    if (!ready) log.warn({ failureMode: cfg.redisFailureMode }, 'Redis not reachable at start; requests follow LITEMAAS_REDIS_FAILURE_MODE until it is');
    // It must answer synchronously: a scope not read yet is refused once (503) while its read goes on.
    const fallback = cfg.redisFailureMode === 'open'
      ? Object.assign(new LocalAdmission(new RateLimiter(), spend), { spendAdd: (e: Parameters<SpendTracker['add']>[0], c: bigint) => spend.add(e, c) })
      : undefined;
    admission = new RedisAdmission({
      redis, db: store.db, unwritten: () => ledger.unwritten(), failureMode: cfg.redisFailureMode, fallback, replicas: cfg.replicas,
      leaseMs: cfg.admissionLeaseMs, leases: cfg.redisLeases, log, onFallback: (mode) => metrics.admissionFallbacks.inc({ mode }), onState: (up) => metrics.redisUp.set(up ? 1 : 0),
    });
  }
  const gateway = new Gateway({ store, cipher, ledger, spend, metrics, log, admission, maxBodyBytes: cfg.maxBodyBytes, maxAudioBytes: cfg.maxAudioBytes, stalledClientMs: cfg.stalledClientMs, reconcileIntervalMs: cfg.reconcileIntervalMs, snapshotCache });
  try {
    await gateway.start();
  } catch (err) {
    await gateway.close();
    await admission?.close?.();
    redis?.disconnect();
    await ledger.close(); // the journal keeps what could not be written
    await notifier.close();
    await store.close();
    throw isUnreachable(err) ? noSnapshotError(err, snapshotCache) : err;
  }
  // Until the database answers, budgets cannot be read (each request that needs one gets 503); then migrations and the live snapshot, once.
  let recovery: RetryLoop | null = null;
  if (dbError !== null) {
    log.warn({ err: (dbError as Error).message }, 'database unreachable at start: keys with a budget or quota are refused until their spend counters can be read');
    recovery = retryUntilDone(async () => {
      await migrateStore(store);
      await gateway.reload();
    }, (err) => { if (!isUnreachable(err)) log.error({ err: (err as Error).message }, 'database reachable but not usable yet; retrying'); });
    void recovery.done.then((ok) => { if (ok) log.info({}, 'database reachable again: migrations applied, snapshot reloaded'); });
  }
  gatewayHandler = (req, res) => gateway.handle(req, res);

  const services = createServices(store.db, cipher, {
    sessionTtlHours: cfg.sessionTtlHours, revealMaxAgeMinutes: cfg.revealMaxAgeMinutes, initialAdmins: cfg.initialAdmins, oidc: cfg.oidc, openshift: cfg.openshift,
    redis, log,
  });
  // A change made through this server is visible to its gateway before the response goes out
  // (a key works as soon as its creation returns); other replicas learn of it by NOTIFY.
  app.addHook('onSend', async (req, reply, payload) => {
    // Sign-in, reveal, tests and reading notifications change nothing the gateway reads.
    if (req.method !== 'GET' && req.url.startsWith('/api/v1/') && reply.statusCode < 400 && !/\/(reveal|test)$|^\/api\/v1\/notifications\//.test(req.url)) await gateway.reload();
    return payload;
  });
  await registerPortal(app, { services, adminToken: cfg.adminToken, publicUrl: cfg.publicUrl, webDir: cfg.webDir ?? builtUi('web'), redis: redis ?? undefined });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const db = await store.db.selectNoFrom((eb) => eb.val(1).as('one')).execute().then(() => 'up', () => 'down');
    // The gateway serves from its caches while the database is down, so it stays ready; the body says what is degraded.
    // Anonymous callers learn that writes fail, not why: a driver's message names the database's host and port (the log has it).
    return reply.code(200).send({ status: 'ready', database: db, ledgerUnwritten: ledger.lag,
      ledgerError: ledger.lastError === null ? null : 'usage writes are failing and will be retried; details are in the log',
      ledgerDeadLetters: ledger.deadLettersBefore + ledger.deadLetters, keys: gateway.snapshot.keys.size });
  });
  const scrape = () => {
    metrics.journalLag.set(ledger.lag);
    return metrics.registry.metrics();
  };
  // With a metrics port, the main port (the one a Route or Ingress publishes) has no /metrics: model names, deployments, costs stay inside.
  const metricsServer = cfg.metricsPort === undefined ? null : createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Only GET /metrics is served on this port.\n');
      return;
    }
    scrape().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => { log.error({ err: (err as Error).message }, 'metrics scrape failed'); res.writeHead(500).end(); },
    );
  });
  if (!metricsServer) {
    app.get('/metrics', async (_req, reply) => reply.header('content-type', metrics.registry.contentType).send(await scrape()));
  }

  await app.listen({ port: cfg.port, host: cfg.host });
  notifier.start();
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : cfg.port;
  const url = `http://127.0.0.1:${port}`;
  let metricsUrl = `${url}/metrics`;
  if (metricsServer) {
    try {
      await new Promise<void>((resolve, reject) => {
        metricsServer.once('error', reject);
        metricsServer.listen(cfg.metricsPort, cfg.host, () => { metricsServer.off('error', reject); resolve(); });
      });
    } catch (err) {
      await app.close();
      await gateway.close();
      await admission?.close?.();
      redis?.disconnect();
      await ledger.close();
      await store.close();
      throw new Error(`cannot listen on LITEMAAS_METRICS_PORT ${cfg.metricsPort}: ${(err as Error).message}`);
    }
    const maddr = metricsServer.address();
    metricsUrl = `http://127.0.0.1:${typeof maddr === 'object' && maddr ? maddr.port : cfg.metricsPort}/metrics`;
    log.info({ metricsUrl }, 'metrics served on their own port');
  }

  let closing: Promise<void> | null = null;
  const close = () => (closing ??= (async () => {
    // Stop accepting, let in-flight requests finish (bounded), then flush the ledger.
    const closed = app.close();
    const deadline = Date.now() + 30_000;
    while (gateway.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    app.server.closeAllConnections?.();
    await closed;
    if (recovery) {
      recovery.stop();
      // An attempt under way ends at its connect timeout at the latest.
      await Promise.race([recovery.done, new Promise((r) => setTimeout(r, 6_000).unref())]);
    }
    await gateway.close();
    await admission?.close?.();
    await services.openshift?.close();
    // Settles already sent get their answers; an unreachable Redis is just dropped (leases expire).
    if (redis) await Promise.race([redis.quit().catch(() => {}), new Promise((r) => setTimeout(r, 1_000).unref())]).finally(() => redis!.disconnect());
    await ledger.close();
    await notifier.close();
    await store.close();
    // Scraped until the end: the drain and the ledger's flush show in the last scrape.
    if (metricsServer) await new Promise<void>((r) => { metricsServer.close(() => r()); metricsServer.closeAllConnections(); });
  })());
  return { app, gateway, ledger, store, services, notifier, url, metricsUrl, close };
}
