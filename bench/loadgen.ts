/**
 * @module Load generator, run as its own process so it does not share an
 * event loop with what it measures. Closed loop (N connections, as fast as
 * possible) for throughput; open loop at a fixed offered rate for latency:
 * each request has an intended send time and latency is measured from it
 * (no coordinated omission), with performance.now()'s microsecond resolution.
 * Usage: node dist/bench/loadgen.js '<json config>' → prints JSON results.
 */
import { Pool } from 'undici';

export interface LoadConfig {
  url: string; path: string; headers: Record<string, string>; body: string;
  mode: 'closed' | 'open'; durationS: number; concurrency?: number; rate?: number; stream?: boolean;
}
export interface LoadResult { requests: number; errors: number; seconds: number; rps: number; latencyMs: number[]; ttftMs: number[] }

async function one(pool: Pool, c: LoadConfig, start: number, lat: number[], ttft: number[]): Promise<boolean> {
  const { statusCode, body } = await pool.request({ path: c.path, method: 'POST', headers: c.headers, body: c.body });
  let first = true;
  for await (const _chunk of body) {
    if (first) { ttft.push(performance.now() - start); first = false; }
  }
  lat.push(performance.now() - start);
  return statusCode === 200;
}

export async function runLoad(c: LoadConfig): Promise<LoadResult> {
  const pool = new Pool(c.url, { connections: c.mode === 'closed' ? c.concurrency ?? 64 : 512, pipelining: 1 });
  const lat: number[] = [];
  const ttft: number[] = [];
  let requests = 0, errors = 0;
  const t0 = performance.now();
  const end = t0 + c.durationS * 1000;
  const fire = (intended: number) => one(pool, c, intended, lat, ttft).then((ok) => { requests++; if (!ok) errors++; }, () => { requests++; errors++; });
  if (c.mode === 'closed') {
    await Promise.all(Array.from({ length: c.concurrency ?? 64 }, async () => {
      while (performance.now() < end) await fire(performance.now());
    }));
  } else {
    const interval = 1000 / (c.rate ?? 500);
    const total = Math.floor(c.durationS * (c.rate ?? 500));
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = t0 + i * interval;
      let now = performance.now();
      while (now < due) {
        if (due - now > 1.5) await new Promise((r) => setTimeout(r, due - now - 1));
        else await new Promise((r) => setImmediate(r));
        now = performance.now();
      }
      inflight.push(fire(due));
    }
    await Promise.all(inflight);
  }
  const seconds = (performance.now() - t0) / 1000;
  await pool.close();
  return { requests, errors, seconds, rps: requests / seconds, latencyMs: lat, ttftMs: ttft };
}

if (process.argv[2]) {
  const cfg = JSON.parse(process.argv[2]) as LoadConfig;
  runLoad(cfg).then((r) => {
    const sorted = (a: number[]) => Float64Array.from(a).sort();
    const pct = (a: Float64Array, p: number) => (a.length ? a[Math.min(a.length - 1, Math.floor((p / 100) * a.length))]! : NaN);
    const l = sorted(r.latencyMs), t = sorted(r.ttftMs);
    process.stdout.write(JSON.stringify({
      requests: r.requests, errors: r.errors, rps: r.rps,
      p50: pct(l, 50), p90: pct(l, 90), p99: pct(l, 99), ttft50: pct(t, 50), ttft90: pct(t, 90), ttft99: pct(t, 99),
    }) + '\n');
  }, (err) => { process.stderr.write(String(err) + '\n'); process.exit(1); });
}
