/**
 * @module Routing across a model's deployments: smooth weighted round robin
 * over effective weights weight / (in-flight + 1), so idle deployments share
 * traffic in proportion to their weights and busy ones are avoided (Envoy's
 * least-request idea); deployments at their max-in-flight or whose circuit
 * is open are skipped. A circuit opens after consecutive failures and lets one
 * probe through after a cool-down. State is keyed by deployment id and
 * survives snapshot reloads.
 */
import type { DeploymentConfig } from './snapshot.js';

const FAILURES_TO_OPEN = 5;
const OPEN_MS = 10_000;

export interface DeploymentState {
  id: string;
  inFlight: number;
  failures: number;
  openUntil: number;
  probing: boolean;
  /** Smooth-WRR accumulator. */
  current: number;
  /** When the deployment last started an answer (any status line): a sign of life. */
  lastAnswerAt: number;
}

/** How one attempt at a deployment went wrong, as far as the breaker cares. */
export type AttemptFailure =
  | { kind: 'connect' } // refused, reset or unreachable before any answer
  | { kind: 'status'; status: number }
  | { kind: 'first-byte-timeout'; stream: boolean; answeredSinceSent: boolean }
  | { kind: 'stream-broken' } // reset or stalled after the answer began
  | { kind: 'client-gone' };

/**
 * Whether a failure is the deployment's fault (counted by the breaker) or the
 * request's own. A streamed answer starts at once, so a late first byte is a
 * fault; a non-streamed answer starts only when generation ends, so its
 * timeout is the request's own length unless the deployment answered nothing
 * else meanwhile (hung). A client leaving is never the deployment's fault.
 */
export function isDeploymentFault(f: AttemptFailure): boolean {
  switch (f.kind) {
    case 'connect': case 'stream-broken': return true;
    case 'status': return f.status >= 500 || f.status === 429;
    case 'first-byte-timeout': return f.stream || !f.answeredSinceSent;
    case 'client-gone': return false;
  }
}

export class Router {
  private readonly states = new Map<string, DeploymentState>();

  state(id: string): DeploymentState {
    let s = this.states.get(id);
    if (!s) this.states.set(id, (s = { id, inFlight: 0, failures: 0, openUntil: 0, probing: false, current: 0, lastAnswerAt: 0 }));
    return s;
  }

  /** The deployment to try next, not in `tried`, or null when none can take the request. */
  pick(deployments: readonly DeploymentConfig[], tried: ReadonlySet<string>, now = Date.now()): DeploymentConfig | null {
    if (deployments.length === 1) {
      const d = deployments[0]!;
      return this.usable(d, tried, now) ? this.take(d) : null;
    }
    let best: DeploymentConfig | null = null;
    let bestState: DeploymentState | null = null;
    let total = 0;
    for (const d of deployments) {
      if (!this.usable(d, tried, now)) continue;
      const s = this.state(d.id);
      const eff = Math.max(d.weight, 1) / (s.inFlight + 1);
      s.current += eff;
      total += eff;
      if (!bestState || s.current > bestState.current) { best = d; bestState = s; }
    }
    if (!best) return null;
    bestState!.current -= total;
    return this.take(best);
  }

  private usable(d: DeploymentConfig, tried: ReadonlySet<string>, now: number): boolean {
    if (tried.has(d.id)) return false;
    const s = this.state(d.id);
    if (s.openUntil > now || (s.openUntil !== 0 && s.probing)) return false;
    return d.maxInFlight === null || s.inFlight < d.maxInFlight;
  }

  private take(d: DeploymentConfig): DeploymentConfig {
    const s = this.state(d.id);
    if (s.openUntil !== 0) s.probing = true; // half-open: this request is the probe
    return d;
  }

  /** Whether the circuit of a deployment is not closed: open, or half-open until a probe succeeds (for /metrics; creates no state). */
  isOpen(id: string): boolean { return (this.states.get(id)?.openUntil ?? 0) !== 0; }

  begin(id: string): void { this.state(id).inFlight++; }
  end(id: string): void { this.state(id).inFlight--; }

  answered(id: string, now = Date.now()): void { this.state(id).lastAnswerAt = now; }

  success(id: string): void {
    const s = this.state(id);
    s.failures = 0; s.openUntil = 0; s.probing = false;
  }

  /** A failed attempt; only deployment faults count towards opening the circuit (a probe's non-fault ends the probe). */
  failure(id: string, f: AttemptFailure = { kind: 'connect' }, now = Date.now()): void {
    const s = this.state(id);
    if (!isDeploymentFault(f)) { s.probing = false; return; }
    s.failures++;
    s.probing = false;
    if (s.failures >= FAILURES_TO_OPEN || s.openUntil !== 0) s.openUntil = now + OPEN_MS;
  }
}
