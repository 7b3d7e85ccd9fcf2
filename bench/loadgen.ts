/**
 * @module Load generator. Runs as its own process (so it never shares an event
 * loop with what it measures) and drives every target of a plan, each over its
 * own keep-alive undici Pool:
 *
 * - `closed`: N workers, each sending its next request as soon as the previous
 *   one finished → max throughput.
 * - `open`: requests scheduled at fixed intended send times (rate R) whether or
 *   not earlier ones have answered. Latency is measured from the *intended*
 *   send time, so a stalled target cannot hide its stall (no coordinated
 *   omission). A worker thread (ticker.ts) sleeps with sub-millisecond
 *   precision and wakes this thread when a send is due, so nothing spins; the
 *   actual send lag is reported so the generator's own accuracy is visible.
 *
 * Side by side: a measured phase is cut into slices (1 s by default) that
 * rotate over the targets — slice s starts with target s mod k — so slow drift
 * on a shared machine (other processes, CPU steal) lands on every target alike.
 * Slices never overlap: a target's slice ends when its last answer arrived.
 *
 * Clock: process.hrtime.bigint(), kept in microseconds with fractions.
 * Streaming: time to first token = first SSE chunk carrying non-empty
 * `delta.content`; a 200 stream without content counts as an error.
 *
 * With `handshake`, each slice end waits for a line on stdin: the parent uses
 * the pause to let deferred work (metering flushes, PostgreSQL) finish and to
 * charge its CPU to the target that caused it, not to the next one.
 *
 * Worker usage: node dist/bench/loadgen.js '<LoadPlan JSON>' — prints JSON
 * lines (slice edges, per-target results) on stdout; exits when stdin closes.
 */
import { setMaxListeners } from 'node:events';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { Pool } from 'undici';

export interface LoadTarget {
  key: string;
  url: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  streamBody: string;
  /** The same prompt through the Responses API (POST path, streamed body), for targets that serve it. */
  responses?: { path: string; streamBody: string };
}

export interface LoadPhase {
  name: string;
  mode: 'closed' | 'open';
  /** total per target */
  durationS: number;
  /** closed: concurrent workers (= connections) */
  concurrency?: number;
  /** open: offered requests per second */
  rate?: number;
  stream?: boolean;
  /** The API: chat completions (default) or the Responses API (streamed; targets without `responses` sit it out). */
  api?: 'chat' | 'responses';
  /** warm-up: each target in turn, one piece, results not reported */
  warmup?: boolean;
}

export interface LoadPlan {
  targets: LoadTarget[];
  phases: LoadPhase[];
  /** slice length for measured phases (1) */
  sliceS?: number;
  /** time allowed after a slice for outstanding answers; then they are aborted and count as errors (10) */
  graceS?: number;
  /** undici connections per target for open-loop phases (256) */
  openConnections?: number;
  /** after each slice, wait for a line on stdin before going on (the parent lets the machine settle) */
  handshake?: boolean;
}

export interface Pct { p50: number; p90: number; p99: number; max: number; n: number }

export interface PhaseResult {
  phase: string;
  target: string;
  mode: 'closed' | 'open';
  requests: number;
  ok: number;
  errors: number;
  /** status code or error kind → count, for everything that was not a good answer */
  errorKinds: Record<string, number>;
  firstError?: string;
  /** time the target was under load (sum of its slices, each until its last answer) */
  seconds: number;
  /** completed requests per second under load */
  rps: number;
  /** successful requests: ms from (intended) send to the last byte */
  latency: Pct;
  /** streaming only: ms from (intended) send to the first content token */
  ttft?: Pct;
  /** open loop only: ms between intended and actual send */
  sendLag?: Pct;
  /** p50 latency (ms) of each slice, in round order — slices of different targets in the same round ran seconds apart, so they pair */
  sliceP50: number[];
}

export type LoadEvent =
  | { event: 'slice'; edge: 'start' | 'end'; phase: string; target: string }
  | { event: 'result'; result: PhaseResult }
  /** every request sent to each target, warm-up included */
  | { event: 'done'; totals: Record<string, number> };

const nowUs = (): number => Number(process.hrtime.bigint()) / 1000;

export function percentiles(values: ArrayLike<number>): Pct {
  const a = Float64Array.from(values).sort();
  const at = (p: number) => (a.length ? a[Math.max(0, Math.ceil((p / 100) * a.length) - 1)]! : NaN);
  return { p50: at(50), p90: at(90), p99: at(99), max: a.length ? a[a.length - 1]! : NaN, n: a.length };
}

/** An SSE delta with non-empty content: a chat chunk's `content`, or a Responses `output_text.delta`'s `delta`. */
const CONTENT = /"content":"(?!")|"delta":"(?!")/;

class Recorder {
  requests = 0; ok = 0; errors = 0; seconds = 0;
  errorKinds: Record<string, number> = {};
  firstError?: string;
  lat: number[] = []; ttft: number[] = []; lag: number[] = [];
  sliceP50: number[] = [];
  fail(kind: string, detail?: string): void {
    this.errors++;
    this.errorKinds[kind] = (this.errorKinds[kind] ?? 0) + 1;
    if (this.firstError === undefined) this.firstError = `${kind}${detail ? `: ${detail.replace(/\s+/g, ' ').slice(0, 300)}` : ''}`;
  }
}

interface Live { t: LoadTarget; pool: Pool }

async function one(l: Live, stream: boolean, startUs: number, rec: Recorder, signal: AbortSignal, api: LoadPhase['api'] = 'chat'): Promise<void> {
  try {
    const r = api === 'responses' ? l.t.responses! : null;
    const { statusCode, body } = await l.pool.request({
      path: r ? r.path : l.t.path, method: 'POST', headers: l.t.headers, body: r ? r.streamBody : stream ? l.t.streamBody : l.t.body, signal,
    });
    if (statusCode !== 200) {
      const text = await body.text().catch(() => '');
      rec.requests++;
      rec.fail(String(statusCode), text);
      return;
    }
    let firstToken = -1;
    if (stream) {
      let tail = '';
      for await (const chunk of body) {
        if (firstToken < 0) {
          const s = tail + (chunk as Buffer).toString('latin1');
          if (CONTENT.test(s)) firstToken = nowUs();
          else tail = s.slice(-16);
        }
      }
    } else {
      for await (const _ of body) { /* drain */ }
    }
    const end = nowUs();
    rec.requests++;
    if (stream && firstToken < 0) { rec.fail('stream-without-content'); return; }
    rec.ok++;
    rec.lat.push((end - startUs) / 1000);
    if (stream) rec.ttft.push((firstToken - startUs) / 1000);
  } catch (err) {
    rec.requests++;
    const e = err as Error & { code?: string };
    rec.fail(signal.aborted ? 'timeout' : e.code ?? e.name ?? 'error', e.message);
  }
}

/** One piece of load on one target; adds to `rec`. */
async function runSlice(l: Live, ph: LoadPhase, durationS: number, graceS: number, rec: Recorder): Promise<void> {
  const ac = new AbortController();
  setMaxListeners(0, ac.signal); // every in-flight request listens on it
  const stream = ph.stream === true;
  const grace = () => setTimeout(() => ac.abort(), graceS * 1000);
  if (ph.mode === 'closed') {
    const start = nowUs();
    const end = start + durationS * 1e6;
    const hard = setTimeout(() => ac.abort(), (durationS + graceS) * 1000);
    await Promise.all(Array.from({ length: ph.concurrency ?? 64 }, async () => {
      while (nowUs() < end && !ac.signal.aborted) await one(l, stream, nowUs(), rec, ac.signal, ph.api);
    }));
    clearTimeout(hard);
    rec.seconds += (nowUs() - start) / 1e6;
    return;
  }
  const intervalUs = 1e6 / (ph.rate ?? 500);
  const total = Math.round(durationS * (ph.rate ?? 500));
  // The ticker thread keeps the time (see ticker.ts); this thread waits in epoll between sends.
  const ticker = new Worker(new URL('./ticker.js', import.meta.url));
  await new Promise<void>((res, rej) => { ticker.once('message', () => res()); ticker.once('error', rej); });
  const t0 = nowUs() + 5_000;
  const inflight = new Set<Promise<void>>();
  let next = 0;
  const fireDue = () => {
    const now = nowUs();
    for (; next < total && t0 + next * intervalUs <= now; next++) {
      const due = t0 + next * intervalUs;
      rec.lag.push((now - due) / 1000);
      const p = one(l, stream, due, rec, ac.signal, ph.api);
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    }
  };
  await new Promise<void>((res, rej) => {
    ticker.on('message', () => { fireDue(); if (next >= total) res(); });
    ticker.once('error', rej);
    ticker.once('exit', () => { fireDue(); res(); });
    ticker.postMessage({ t0Ns: String(BigInt(Math.round(t0 * 1000))), intervalNs: intervalUs * 1000, total });
  });
  await ticker.terminate();
  const g = grace();
  await Promise.all(inflight);
  clearTimeout(g);
  rec.seconds += (nowUs() - t0) / 1e6;
}

function result(ph: LoadPhase, key: string, rec: Recorder): PhaseResult {
  return {
    phase: ph.name, target: key, mode: ph.mode, requests: rec.requests, ok: rec.ok, errors: rec.errors, errorKinds: rec.errorKinds,
    ...(rec.firstError !== undefined ? { firstError: rec.firstError } : {}),
    seconds: rec.seconds, rps: rec.requests / (rec.seconds || 1), latency: percentiles(rec.lat),
    ...(ph.stream ? { ttft: percentiles(rec.ttft) } : {}),
    ...(ph.mode === 'open' ? { sendLag: percentiles(rec.lag) } : {}),
    sliceP50: rec.sliceP50,
  };
}

/** Runs the plan; `onEvent` sees slice edges (the parent samples CPU there) and each phase's result per target; `proceed` gates each slice end when `plan.handshake`. */
export async function runPlan(plan: LoadPlan, onEvent: (e: LoadEvent) => void, proceed: () => Promise<void> = async () => {}): Promise<PhaseResult[]> {
  const maxClosed = Math.max(0, ...plan.phases.map((p) => (p.mode === 'closed' ? p.concurrency ?? 64 : 0)));
  const live: Live[] = plan.targets.map((t) => ({
    t,
    pool: new Pool(t.url, {
      connections: Math.max(maxClosed, plan.openConnections ?? 256), pipelining: 1,
      // Idle connections are closed by this side after ≤ 3 s, before any server's own idle
      // timeout (Node's default is 5 s), whatever keep-alive hint the server sends (Portkey
      // forwards the upstream's `keep-alive: timeout=65` but closes after 5 s).
      keepAliveTimeout: 3_000, keepAliveMaxTimeout: 3_000, headersTimeout: 60_000, bodyTimeout: 60_000,
    }),
  }));
  const graceS = plan.graceS ?? 10;
  const sliceS = plan.sliceS ?? 1;
  const results: PhaseResult[] = [];
  const totals: Record<string, number> = {};
  try {
    for (const ph of plan.phases) {
      const recs = live.map(() => new Recorder());
      const takes = (l: Live) => ph.api !== 'responses' || l.t.responses !== undefined;
      const slices = ph.warmup ? 1 : Math.max(1, Math.round(ph.durationS / sliceS));
      const each = ph.durationS / slices;
      for (let s = 0; s < slices; s++) {
        for (let j = 0; j < live.length; j++) {
          const i = (s + j) % live.length;
          if (!takes(live[i]!)) continue;
          onEvent({ event: 'slice', edge: 'start', phase: ph.name, target: live[i]!.t.key });
          const from = recs[i]!.lat.length;
          await runSlice(live[i]!, ph, each, graceS, recs[i]!);
          recs[i]!.sliceP50.push(percentiles(recs[i]!.lat.slice(from)).p50);
          onEvent({ event: 'slice', edge: 'end', phase: ph.name, target: live[i]!.t.key });
          if (plan.handshake) await proceed();
        }
      }
      live.forEach((l, i) => { totals[l.t.key] = (totals[l.t.key] ?? 0) + recs[i]!.requests; });
      if (ph.warmup) continue;
      live.forEach((l, i) => {
        if (!takes(l)) return;
        const r = result(ph, l.t.key, recs[i]!);
        results.push(r);
        onEvent({ event: 'result', result: r });
      });
    }
    onEvent({ event: 'done', totals });
  } finally {
    await Promise.all(live.map((l) => l.pool.destroy().catch(() => {})));
  }
  return results;
}

// Worker entry: `node loadgen.js '<plan json>'`.
if (process.argv[1]?.endsWith('loadgen.js') && process.argv[2]) {
  const plan = JSON.parse(process.argv[2]) as LoadPlan;
  const waiting: Array<() => void> = [];
  let buffered = 0;
  createInterface({ input: process.stdin }).on('line', () => { const w = waiting.shift(); if (w) w(); else buffered++; });
  process.stdin.on('end', () => process.exit(3)); // the parent went away
  const proceed = () => new Promise<void>((r) => { if (buffered > 0) { buffered--; r(); } else waiting.push(r); });
  runPlan(plan, (e) => process.stdout.write(JSON.stringify(e) + '\n'), proceed).then(
    () => process.exit(0),
    (err: unknown) => { process.stderr.write(`loadgen: ${(err as Error).stack ?? String(err)}\n`); process.exit(1); },
  );
}
