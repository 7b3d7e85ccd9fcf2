/**
 * @module Prometheus metrics of the gateway and ledger (served at /metrics).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'litemaas_requests_total', help: 'Requests on /v1 by model and status', labelNames: ['model', 'status'] as const, registers: [this.registry] });
  readonly tokens = new Counter({ name: 'litemaas_tokens_total', help: 'Tokens metered', labelNames: ['model', 'type'] as const, registers: [this.registry] });
  readonly cost = new Counter({ name: 'litemaas_cost_total', help: 'Cost metered, in the configured currency', labelNames: ['model'] as const, registers: [this.registry] });
  readonly latency = new Histogram({ name: 'litemaas_request_duration_seconds', help: 'Time to the last byte', labelNames: ['model'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: [this.registry] });
  readonly upstreamErrors = new Counter({ name: 'litemaas_upstream_errors_total', help: 'Failed upstream attempts by deployment', labelNames: ['deployment'] as const, registers: [this.registry] });
  readonly journalLag = new Gauge({ name: 'litemaas_ledger_unwritten_events', help: 'Usage events journaled but not yet in the database', registers: [this.registry] });
  readonly deadLetters = new Counter({ name: 'litemaas_ledger_dead_letters_total', help: 'Usage events the database refused, set aside in the dead-letter table (or file)', registers: [this.registry] });
  readonly admissionFallbacks = new Counter({ name: 'litemaas_admission_fallback_total', help: 'Requests decided without Redis (REDIS_URL set but unreachable) by failure mode: refused (closed) or admitted on per-replica shares (open)', labelNames: ['mode'] as const, registers: [this.registry] });
  readonly redisUp = new Gauge({ name: 'litemaas_admission_redis_up', help: '1 while the shared admission store (Redis) answers, 0 during an outage; absent without REDIS_URL', registers: [] });
  /** Read at scrape time, so the hot path only bumps a plain counter. */
  inFlightSource: () => number = () => 0;
  readonly inFlight = new Gauge({
    name: 'litemaas_requests_in_flight', help: 'Requests being served on /v1', registers: [this.registry],
    collect: () => { this.inFlight.set(this.inFlightSource()); },
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  // Label children are looked up once per model/status and reused: hashing label objects on every request is measurable.
  private readonly children = new Map<string, { req: Counter.Internal; prompt: Counter.Internal; completion: Counter.Internal; cost: Counter.Internal; latency: Histogram.Internal<"model"> }>();

  /** One finished request. */
  observe(model: string, status: number, promptTokens: number, completionTokens: number, cost: number, seconds: number): void {
    const k = `${model}\u0000${status}`;
    let c = this.children.get(k);
    if (!c) {
      c = {
        req: this.requests.labels(model, String(status)),
        prompt: this.tokens.labels(model, 'prompt'),
        completion: this.tokens.labels(model, 'completion'),
        cost: this.cost.labels(model),
        latency: this.latency.labels(model),
      };
      this.children.set(k, c);
    }
    c.req.inc();
    if (promptTokens) c.prompt.inc(promptTokens);
    if (completionTokens) c.completion.inc(completionTokens);
    if (cost > 0) c.cost.inc(cost);
    c.latency.observe(seconds);
  }
}
