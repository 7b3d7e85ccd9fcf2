/**
 * @module `npm run bench`: gateway overhead, measured side by side in one run
 * against the same simulator — the simulator direct, a bare node:http+undici
 * proxy, LiteMaaS with full metering on PostgreSQL, and Portkey's gateway.
 * Prints a markdown table and checks the targets. Traffic goes to 127.0.0.1
 * only; every phase is bounded in time.
 *
 * Flags: --duration S (per phase, 5) --rate R (500) --only sim,bare,litemaas,portkey --profile
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dist = join(root, 'dist');
const { values: flags } = parseArgs({ options: { duration: { type: 'string' }, rate: { type: 'string' }, only: { type: 'string' }, profile: { type: 'boolean' } } });
const DURATION = Number(flags.duration ?? 5);
const RATE = Number(flags.rate ?? 500);
const ONLY = new Set((flags.only ?? 'sim,bare,litemaas,portkey').split(','));
const PG_ADMIN = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const MESSAGE = 'Summarize the benefits of a metered gateway. It tracks usage and cost per key.';

const children: ChildProcess[] = [];
const cleanups: Array<() => Promise<void>> = [];
let port = 19100;

function start(args: string[], env: Record<string, string> = {}, ready?: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((res, rej) => {
    let out = '';
    const onData = (d: Buffer) => { out += d.toString(); if (!ready || ready.test(out)) { res(child); } };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    child.once('exit', (code) => rej(new Error(`${args.join(' ')} exited ${code}: ${out.slice(-2000)}`)));
    if (!ready) res(child);
  });
}

async function waitHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try { const r = await fetch(url); if (r.status < 500) return; } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

function rssMb(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

interface Phase { requests: number; errors: number; rps: number; p50: number; p90: number; p99: number; ttft50: number; ttft90: number; ttft99: number }
function load(cfg: Record<string, unknown>): Phase {
  const out = execFileSync(process.execPath, [join(dist, 'bench/loadgen.js'), JSON.stringify(cfg)], { encoding: 'utf8', timeout: (DURATION + 60) * 1000 });
  return JSON.parse(out) as Phase;
}

interface Target { name: string; url: string; headers: Record<string, string>; model: string; pid?: number }
interface Row { name: string; max?: Phase; open?: Phase; stream?: Phase; rss?: { rss: number; hwm: number }; cpuUsPerReq?: number; note?: string }

/** CPU time (user + system) of a process, in microseconds, from /proc (clock ticks of 10 ms). */
function cpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function measure(t: Target): Row {
  const body = (stream: boolean) => JSON.stringify({ model: t.model, messages: [{ role: 'user', content: MESSAGE }], max_tokens: 32, ...(stream ? { stream: true } : {}) });
  const base = { url: t.url, path: '/v1/chat/completions', headers: { 'content-type': 'application/json', ...t.headers } };
  load({ ...base, body: body(false), mode: 'closed', concurrency: 32, durationS: 1 }); // warm-up
  const cpu0 = t.pid ? cpuUs(t.pid) : 0;
  const max = load({ ...base, body: body(false), mode: 'closed', concurrency: 64, durationS: DURATION });
  const cpuUsPerReq = t.pid ? (cpuUs(t.pid) - cpu0) / max.requests : undefined;
  const open = load({ ...base, body: body(false), mode: 'open', rate: RATE, durationS: DURATION });
  const stream = load({ ...base, body: body(true), mode: 'open', rate: RATE, durationS: DURATION, stream: true });
  const rss = t.pid ? rssMb(t.pid) : undefined;
  return { name: t.name, max, open, stream, rss, cpuUsPerReq };
}

async function litemaasTarget(simUrl: string): Promise<{ target: Target; child: ChildProcess; profileDir?: string }> {
  const dbName = `litemaas_bench_${Date.now()}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  await admin.end();
  cleanups.push(async () => {
    const c = new pg.Client({ connectionString: PG_ADMIN });
    await c.connect();
    await c.query(`drop database if exists ${dbName} with (force)`);
    await c.end();
  });
  const u = new URL(PG_ADMIN); u.pathname = `/${dbName}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'litemaas-bench-'));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const token = randomBytes(16).toString('hex');
  const p = port++;
  const profileDir = flags.profile ? mkdtempSync(join(tmpdir(), 'litemaas-prof-')) : undefined;
  const child = await start([...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []), join(dist, 'src/cli.js'), 'serve'], {
    PORT: String(p), HOST: '127.0.0.1', DATABASE_URL: u.toString(), LITEMAAS_DATA_DIR: dataDir, LITEMAAS_ADMIN_TOKEN: token,
    LITEMAAS_SECRET: randomBytes(32).toString('hex'), LOG_LEVEL: 'warn',
  });
  const url = `http://127.0.0.1:${p}`;
  await waitHttp(`${url}/readyz`);
  const api = async (path: string, b: unknown) => {
    const r = await fetch(`${url}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(b) });
    if (r.status >= 300) throw new Error(`${path}: ${r.status} ${await r.text()}`);
    return (await r.json()) as { id: string; key: string };
  };
  const model = 'Llama-3.2-3B-Instruct-FP8';
  await api('/admin/models', { id: model, inputPricePer1M: 0.15, outputPricePer1M: 0.6, deployments: [{ url: `${simUrl}/v1`, upstreamModel: 'llama32-fp8' }] });
  const user = await api('/admin/users', { username: 'bench' });
  await api(`/admin/users/${user.id}/subscriptions`, { modelId: model });
  const key = await api(`/admin/users/${user.id}/api-keys`, { name: 'bench', models: [model], maxBudget: 1_000_000, rpm: 10_000_000 });
  return { target: { name: 'LiteMaaS (metered, PostgreSQL)', url, headers: { authorization: `Bearer ${key.key}` }, model, pid: child.pid }, child, profileDir };
}

async function portkeyTarget(simUrl: string): Promise<{ target: Target; child: ChildProcess }> {
  const dir = join(root, 'bench/.portkey');
  const entry = join(dir, 'node_modules/@portkey-ai/gateway/build/start-server.js');
  if (!existsSync(entry)) {
    mkdirSync(dir, { recursive: true });
    if (!existsSync(join(dir, 'package.json'))) writeFileSync(join(dir, 'package.json'), '{"private":true}\n');
    execFileSync('npm', ['install', '--prefix', dir, '@portkey-ai/gateway@1.15.2', '--no-audit', '--no-fund'], { stdio: 'ignore', timeout: 300_000 });
  }
  const p = port++;
  const child = await start([entry, `--port=${p}`, '--headless'], { NODE_ENV: 'production' });
  const url = `http://127.0.0.1:${p}`;
  await waitHttp(`${url}/`);
  return { target: { name: 'Portkey gateway 1.15.2', url, headers: { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${simUrl}/v1`, authorization: 'Bearer x' }, model: 'llama32-fp8', pid: child.pid }, child };
}

function topSelfTime(dir: string): string {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return 'no profile written';
  const prof = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: Array<{ id: number; hitCount?: number; callFrame: { functionName: string; url: string; lineNumber: number } }>; startTime: number; endTime: number; samples: number[] };
  const total = prof.samples.length || 1;
  const by = new Map<string, number>();
  for (const n of prof.nodes) {
    const k = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^file:\/\//, '').replace(root + '/', '')}:${n.callFrame.lineNumber + 1}`;
    by.set(k, (by.get(k) ?? 0) + (n.hitCount ?? 0));
  }
  const byModule = new Map<string, number>();
  for (const n of prof.nodes) {
    const url = n.callFrame.url.replace(/^file:\/\//, '').replace(root + '/', '');
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? (url.startsWith('dist/') ? url : url.startsWith('node:') ? 'node:*' : n.callFrame.functionName || '(native)');
    byModule.set(m, (byModule.get(m) ?? 0) + (n.hitCount ?? 0));
  }
  const fmt = (m: Map<string, number>, k: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, v]) => `${((100 * v) / total).toFixed(1).padStart(5)}%  ${name}`).join('\n');
  return `${fmt(by, 25)}\n\nSelf time by module:\n${fmt(byModule, 15)}`;
}

const f = (n: number | undefined, d = 3) => (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(d));

async function main(): Promise<void> {
  const simPort = port++;
  await start([join(dist, 'src/cli.js'), 'sim', '--port', String(simPort), '--served-model-name', 'llama32-fp8'], {}, /listening/);
  const simUrl = `http://127.0.0.1:${simPort}`;
  const rows: Row[] = [];
  const run = async (key: string, make: () => Promise<{ target: Target; child?: ChildProcess; profileDir?: string }>) => {
    if (!ONLY.has(key)) return;
    let child: ChildProcess | undefined;
    try {
      const made = await make();
      child = made.child;
      process.stderr.write(`measuring ${made.target.name}…\n`);
      rows.push(measure(made.target));
      if (child) await stop(child);
      if (made.profileDir) process.stderr.write(`\nTop self time in LiteMaaS (--cpu-prof):\n${topSelfTime(made.profileDir)}\n\n`);
    } catch (err) {
      rows.push({ name: key, note: `not available: ${(err as Error).message.split('\n')[0]}` });
      if (child) await stop(child);
    }
  };
  await run('sim', async () => ({ target: { name: 'simulator direct', url: simUrl, headers: {}, model: 'llama32-fp8' } }));
  await run('bare', async () => {
    const p = port++;
    const child = await start([join(dist, 'bench/bare-proxy.js'), String(p), simUrl], {}, /ready/);
    return { target: { name: 'bare proxy (node:http + undici)', url: `http://127.0.0.1:${p}`, headers: {}, model: 'llama32-fp8', pid: child.pid }, child };
  });
  await run('litemaas', () => litemaasTarget(simUrl));
  await run('portkey', () => portkeyTarget(simUrl));

  const bare = rows.find((r) => r.name.startsWith('bare'));
  const lm = rows.find((r) => r.name.startsWith('LiteMaaS'));
  const pk = rows.find((r) => r.name.startsWith('Portkey'));
  const lines: string[] = [];
  lines.push(`Machine: ${cpus()[0]?.model ?? '?'} × ${cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
  lines.push(`Command: npm run bench -- --duration ${DURATION} --rate ${RATE}${flags.only ? ` --only ${flags.only}` : ''}`);
  lines.push(`Request: chat completion, ${MESSAGE.length}-char user message, max_tokens 32; max throughput = closed loop, 64 connections, ${DURATION} s; latency = open loop at ${RATE} req/s for ${DURATION} s, measured from each request's intended send time.`);
  lines.push('');
  lines.push('| target | max req/s | × bare | × Portkey | p50 ms | p90 ms | p99 ms | stream TTFT p50 | TTFT p99 | stream total p50 | total p99 | errors | RSS MB (peak) | CPU µs/req |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    if (r.note) { lines.push(`| ${r.name} | ${r.note} |||||||||||`); continue; }
    const errs = (r.max?.errors ?? 0) + (r.open?.errors ?? 0) + (r.stream?.errors ?? 0);
    lines.push(`| ${r.name} | ${f(r.max?.rps, 0)} | ${bare?.max ? f(r.max!.rps / bare.max.rps, 2) : '—'} | ${pk?.max ? f(r.max!.rps / pk.max.rps, 1) : '—'} | ${f(r.open?.p50)} | ${f(r.open?.p90)} | ${f(r.open?.p99)} | ${f(r.stream?.ttft50)} | ${f(r.stream?.ttft99)} | ${f(r.stream?.p50)} | ${f(r.stream?.p99)} | ${errs} | ${r.rss ? `${f(r.rss.rss, 0)} (${f(r.rss.hwm, 0)})` : '—'} | ${f(r.cpuUsPerReq, 0)} |`);
  }
  lines.push('');
  if (lm?.max && bare?.max) {
    const check = (ok: boolean, what: string) => lines.push(`- ${ok ? 'PASS' : 'FAIL'}: ${what}`);
    check(lm.max.rps >= 0.7 * bare.max.rps, `throughput ${f(lm.max.rps / bare.max.rps, 2)}× the bare proxy (target ≥ 0.7×)`);
    if (pk?.max) check(lm.max.rps >= 10 * pk.max.rps, `throughput ${f(lm.max.rps / pk.max.rps, 1)}× Portkey (target ≥ 10×)`);
    check(lm.open!.p50 - bare.open!.p50 <= 0.2, `p50 at ${RATE} req/s is ${f(lm.open!.p50 - bare.open!.p50)} ms above the bare proxy (target ≤ 0.2 ms)`);
    if (lm.rss) check(lm.rss.hwm <= 200, `peak RSS ${f(lm.rss.hwm, 0)} MB (target ≤ 200 MB)`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

async function cleanup(): Promise<void> {
  for (const c of children) await stop(c).catch(() => {});
  for (const c of cleanups) await c().catch(() => {});
}

main().then(cleanup, async (err) => { process.stderr.write(`bench failed: ${(err as Error).stack}\n`); await cleanup(); process.exit(1); });
