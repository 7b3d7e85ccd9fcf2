/**
 * The router on its own: weights honoured at idle, busy deployments avoided,
 * max-in-flight respected, circuits opening and probing.
 */
import { describe, expect, it } from 'vitest';
import { Router } from '../src/gateway/route.js';
import type { DeploymentConfig } from '../src/gateway/snapshot.js';

const dep = (id: string, weight = 1, maxInFlight: number | null = null): DeploymentConfig =>
  ({ id, url: `http://${id}/v1`, upstreamModel: 'm', token: null, weight, maxInFlight, timeoutMs: 1000 });

describe('router', () => {
  it('shares idle traffic in proportion to the weights', () => {
    const r = new Router();
    const ds = [dep('a', 3), dep('b', 1)];
    const n = { a: 0, b: 0 } as Record<string, number>;
    for (let i = 0; i < 400; i++) { const d = r.pick(ds, new Set())!; r.begin(d.id); r.end(d.id); n[d.id]!++; }
    expect(n).toEqual({ a: 300, b: 100 });
  });

  it('avoids a busy deployment and respects max in flight', () => {
    const r = new Router();
    const ds = [dep('a', 1, 2), dep('b', 1)];
    for (let i = 0; i < 2; i++) r.begin('a');
    for (let i = 0; i < 10; i++) expect(r.pick(ds, new Set())!.id).toBe('b');
    expect(r.pick([dep('a', 1, 2)], new Set())).toBeNull();
  });

  it('opens the circuit after 5 failures and lets one probe through after the cool-down', () => {
    const r = new Router();
    const ds = [dep('a'), dep('b')];
    const t = 1_000_000;
    for (let i = 0; i < 5; i++) r.failure('a', { kind: 'connect' }, t);
    for (let i = 0; i < 10; i++) expect(r.pick(ds, new Set(), t + 1)!.id).toBe('b');
    expect(r.pick([dep('a')], new Set(), t + 11_000)!.id).toBe('a'); // the probe
    expect(r.pick([dep('a')], new Set(), t + 11_001)).toBeNull(); // only one at a time
    r.success('a');
    expect(r.pick([dep('a')], new Set(), t + 11_002)!.id).toBe('a');
  });

  it('skips deployments already tried', () => {
    const r = new Router();
    expect(r.pick([dep('a'), dep('b')], new Set(['a']))!.id).toBe('b');
    expect(r.pick([dep('a')], new Set(['a']))).toBeNull();
  });
});
