/**
 * @module Prometheus metrics of the gateway and ledger (served at /metrics).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { GatewayError, GatewayErrorCode } from './errors.js';

/**
 * Why the gateway refused a request itself (before any upstream attempt), as the `reason` label of
 * litemaas_refusals_total: a fixed set, so a client cannot grow /metrics. Errors of the model servers
 * (502, 504, their 429s and 4xx passed on) and a model without an available deployment (503) are
 * not refusals: litemaas_upstream_errors_total and litemaas_breaker_open count those.
 */
const REFUSAL_REASONS: Partial<Record<GatewayErrorCode, string>> = {
  invalid_api_key: 'invalid_key',
  user_disabled: 'user_disabled',
  model_not_found: 'model_not_found',
  model_not_allowed: 'model_not_allowed',
  not_found: 'not_found',
  method_not_allowed: 'invalid_request',
  invalid_request_error: 'invalid_request',
  request_too_large: 'invalid_request',
  unsupported_media_type: 'invalid_request',
  rate_limit_exceeded: 'rate_limit',
  budget_exceeded: 'budget',
  quota_exceeded: 'quota',
  budgets_unavailable: 'budgets_unavailable',
};
/** A refusal by the key's max-parallel slots (a rate_limit_exceeded of its own). */
export const MAX_PARALLEL: NonNullable<GatewayError['reason']> = 'max_parallel';
export const REFUSAL_REASON_VALUES = [...new Set([...Object.values(REFUSAL_REASONS), MAX_PARALLEL])];

/** One circuit breaker as /metrics shows it: its deployment, the model it serves, and whether it is open. */
export interface BreakerState { model: string; deployment: string; open: boolean }

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
  readonly refusals = new Counter({ name: 'litemaas_refusals_total', help: 'Requests the gateway refused itself, by reason (budget, quota, rate_limit, max_parallel, model_not_allowed, budgets_unavailable, invalid_key, …); upstream failures are not refusals', labelNames: ['reason'] as const, registers: [this.registry] });
  /** Read at scrape time from the router, so routing never touches a metric. */
  breakerSource: () => Iterable<BreakerState> = () => [];
  readonly breakerOpen = new Gauge({
    name: 'litemaas_breaker_open', help: "1 while a deployment's circuit breaker is not closed (opened after 5 consecutive faults; open, or half-open until a probe succeeds), 0 when closed; in this replica, for the deployments the snapshot holds", labelNames: ['model', 'deployment'] as const, registers: [this.registry],
    collect: () => {
      this.breakerOpen.reset(); // a deployment removed since the last scrape disappears
      for (const b of this.breakerSource()) this.breakerOpen.set({ model: b.model, deployment: b.deployment }, b.open ? 1 : 0);
    },
  });
  /** Read at scrape time, so the hot path only bumps a plain counter. */
  inFlightSource: () => number = () => 0;
  readonly inFlight = new Gauge({
    name: 'litemaas_requests_in_flight', help: 'Requests being served on /v1', registers: [this.registry],
    collect: () => { this.inFlight.set(this.inFlightSource()); },
  });

  private readonly refusalChildren = new Map<string, Counter.Internal>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Every reason at 0 from the start, so that increase() sees the first refusal of each.
    for (const r of REFUSAL_REASON_VALUES) {
      const child = this.refusals.labels(r);
      child.inc(0);
      this.refusalChildren.set(r, child);
    }
  }

  /** A request the gateway refused (an error it decided, not an upstream's); other errors are ignored. */
  refused(err: GatewayError): void {
    const reason = err.reason ?? REFUSAL_REASONS[err.code];
    if (reason) this.refusalChildren.get(reason)?.inc();
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
