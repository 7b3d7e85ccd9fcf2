/**
 * @module Routing across a model's deployments: weighted least-in-flight,
 * skipping deployments at their max-in-flight or whose circuit is open.
 * A circuit opens after consecutive failures and lets one probe through
 * after a cool-down. State is keyed by deployment id and survives reloads.
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
}

export class Router {
  private readonly states = new Map<string, DeploymentState>();
  private rr = 0;

  state(id: string): DeploymentState {
    let s = this.states.get(id);
    if (!s) this.states.set(id, (s = { id, inFlight: 0, failures: 0, openUntil: 0, probing: false }));
    return s;
  }

  /** The best deployment not in `tried`, or null when none can take the request. */
  pick(deployments: readonly DeploymentConfig[], tried: ReadonlySet<string>, now = Date.now()): DeploymentConfig | null {
    let best: DeploymentConfig | null = null;
    let bestScore = Infinity;
    const n = deployments.length;
    const start = n > 1 ? this.rr++ % n : 0; // rotate the start so ties spread
    for (let i = 0; i < n; i++) {
      const d = deployments[(start + i) % n]!;
      if (tried.has(d.id)) continue;
      const s = this.state(d.id);
      if (s.openUntil > now || (s.openUntil !== 0 && s.probing)) continue;
      if (d.maxInFlight !== null && s.inFlight >= d.maxInFlight) continue;
      const score = (s.inFlight + 1) / Math.max(d.weight, 1);
      if (score < bestScore) { best = d; bestScore = score; }
    }
    if (best) {
      const s = this.state(best.id);
      if (s.openUntil !== 0) s.probing = true; // half-open: this request is the probe
    }
    return best;
  }

  begin(id: string): void { this.state(id).inFlight++; }
  end(id: string): void { this.state(id).inFlight--; }

  success(id: string): void {
    const s = this.state(id);
    s.failures = 0; s.openUntil = 0; s.probing = false;
  }

  failure(id: string, now = Date.now()): void {
    const s = this.state(id);
    s.failures++;
    s.probing = false;
    if (s.failures >= FAILURES_TO_OPEN || s.openUntil !== 0) s.openUntil = now + OPEN_MS;
  }
}
