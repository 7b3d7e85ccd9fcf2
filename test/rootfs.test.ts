/**
 * The image's runtime contents, proven without a container engine: deploy/image/build-rootfs.sh
 * builds the root filesystem (this machine's node and the libraries ldd names for it, dist/ and the
 * production node_modules, nothing else), and deploy/image/run-rootfs.sh runs `litemaas serve` from
 * it as a random UID in group 0, with no capabilities, no_new_privs and the root read-only (mount and
 * PID namespaces, chroot, setpriv). Against the real PostgreSQL and a simulator started here, one
 * model, user, subscription and key are provisioned through the admin API and one request through
 * the gateway is metered into usage_events. SIGTERM drains and the process exits 0. The other roles
 * (simulator, stack, Canopy) run from it too, exactly as the dev overlay's rendered Deployments
 * start them: their args, env and ConfigMap files, each answering its readiness probe.
 * Needs root for the namespaces; without it the suite is skipped, saying so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { parseAllDocuments } from 'yaml';
import { startSimulator, type RunningSimulator } from '../src/simulator/server.js';
import { freshDatabase } from './helpers/pg.js';
import { freePort } from './helpers/net.js';

const BUILD = 'deploy/image/build-rootfs.sh';
const RUN = 'deploy/image/run-rootfs.sh';
const MODEL = 'Llama-3.2-3B-Instruct-FP8';

function privilege(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  const r = spawnSync('unshare', ['--mount', '--pid', '--fork', 'true'], { stdio: 'ignore' });
  if (r.status !== 0) return 'unshare --mount --pid is not permitted here';
  if (spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status !== 0) return 'setpriv is missing';
  return null;
}
const missing = privilege();
const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
if (missing) console.warn(`rootfs test skipped: ${missing} (needs root for mount/PID namespaces and chroot)`);

const work = mkdtempSync(join(tmpdir(), 'litemaas-rootfs-test-'));
const rootfs = join(work, 'rootfs');
const children: ChildProcess[] = [];

function exited(p: ChildProcess): Promise<number | null> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p.exitCode);
  return new Promise((r) => p.once('exit', (code) => r(code)));
}

/** The PID (as the host sees it) of the program run-rootfs.sh started: the only child of its unshare. */
function innerPid(p: ChildProcess): number | null {
  try {
    const kids = readFileSync(`/proc/${p.pid}/task/${p.pid}/children`, 'utf8').trim();
    return kids ? Number(kids.split(/\s+/)[0]) : null;
  } catch { return null; }
}

function runRootfs(args: string[], o: { uid: number; data: string; env?: Record<string, string> }): { child: ChildProcess; out: () => string } {
  const envArgs = Object.entries(o.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  const child = spawn('bash', [RUN, '--uid', String(o.uid), '--data', o.data, ...envArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d; });
  child.stderr!.on('data', (d: Buffer) => { out += d; });
  return { child, out: () => out };
}

describe.skipIf(missing !== null)('litemaas serve from the image root filesystem (read-only, random UID)', () => {
  let sim: RunningSimulator;
  let db: { url: string; drop(): Promise<void> };
  const uid = 1_000_600_000 + Math.floor(Math.random() * 99_999);

  beforeAll(async () => {
    const t0 = Date.now();
    const b = spawnSync('bash', [BUILD, rootfs], { encoding: 'utf8', timeout: 110_000 });
    if (b.status !== 0) throw new Error(`build-rootfs failed (${b.status}): ${b.stderr}${b.stdout}`);
    console.log(`${b.stdout.trim()} in ${Date.now() - t0} ms`);
    sim = await startSimulator({ port: 0, host: '127.0.0.1', servedModelName: 'llama32-fp8', quiet: true });
    db = await freshDatabase('litemaas_rootfs');
  }, 120_000);

  afterAll(async () => {
    for (const c of children) {
      const inner = innerPid(c);
      if (inner) try { process.kill(inner, 'SIGKILL'); } catch { /* gone */ }
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await exited(c);
    }
    await sim?.close();
    await db?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  it('holds only the runtime: node, its libraries, the app, production packages; no shell', () => {
    expect(existsSync(join(rootfs, 'usr/bin/node'))).toBe(true);
    expect(existsSync(join(rootfs, 'opt/app-root/src/dist/src/cli.js'))).toBe(true);
    expect(existsSync(join(rootfs, 'opt/app-root/src/dist/web/index.html'))).toBe(true);
    expect(existsSync(join(rootfs, 'opt/app-root/src/dist/canopy-web/index.html'))).toBe(true);
    expect(existsSync(join(rootfs, 'opt/app-root/src/node_modules/fastify/package.json'))).toBe(true);
    for (const dev of ['vitest', 'typescript', 'vite', 'react', 'playwright-core']) {
      expect(existsSync(join(rootfs, 'opt/app-root/src/node_modules', dev)), dev).toBe(false);
    }
    for (const sh of ['bin/sh', 'bin/bash', 'usr/bin/sh', 'usr/bin/bash', 'usr/bin/env']) expect(existsSync(join(rootfs, sh)), sh).toBe(false);
    const data = statSync(join(rootfs, 'var/lib/litemaas'));
    expect([data.uid, data.gid, data.mode & 0o777]).toEqual([0, 0, 0o770]);
  });

  it('runs as the random UID in group 0 without capabilities, writable only on the data volume and /tmp', async () => {
    const data = mkdtempSync(join(work, 'probe-'));
    const probe = `
      const fs = require('fs');
      const w = (p) => { try { fs.writeFileSync(p, 'x'); return 'ok'; } catch (e) { return e.code; } };
      const st = Object.fromEntries(fs.readFileSync('/proc/self/status', 'utf8').split('\\n').map((l) => l.split(':\\t')).filter((x) => x.length === 2));
      console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(), capEff: st.CapEff, capPrm: st.CapPrm, noNewPrivs: st.NoNewPrivs,
        root: w('/probe'), app: w('/opt/app-root/src/probe'), etc: w('/etc/probe'), data: w('/var/lib/litemaas/probe'), tmp: w('/tmp/probe') }));`;
    const p = runRootfs(['--entrypoint', '/usr/bin/node', rootfs, '-e', probe], { uid, data });
    expect(await exited(p.child), p.out()).toBe(0);
    const r = JSON.parse(p.out().trim().split('\n').pop()!);
    expect(r).toEqual({ uid, gid: 0, groups: [0], capEff: '0000000000000000', capPrm: '0000000000000000', noNewPrivs: '1',
      root: 'EROFS', app: 'EROFS', etc: 'EROFS', data: 'ok', tmp: 'ok' });
    expect(statSync(join(data, 'probe')).uid).toBe(uid);
  });

  it.skipIf(!hasKubectl)('runs the simulator, the stack and Canopy as the dev overlay starts them, each ready on its probe', async () => {
    const r = spawnSync('kubectl', ['kustomize', 'deploy/kustomize/overlays/dev'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const objs = parseAllDocuments(r.stdout).map((d) => d.toJSON()).filter(Boolean) as any[];
    for (const name of ['simulator', 'stack', 'canopy']) {
      const d = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === name);
      const c = d.spec.template.spec.containers[0];
      const port = String(c.ports[0].containerPort);
      const free = String(await freePort()); // the pod's port, on this host's network
      const env = Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.valueFrom?.secretKeyRef ? 'sk-from-a-secret' : e.value === port ? free : e.value]));
      const args = c.args.map((a: string, i: number) => (c.args[i - 1] === '--port' ? free : a));
      const mountArgs: string[] = [];
      const data = mkdtempSync(join(work, `${name}-data-`));
      for (const m of c.volumeMounts ?? []) {
        const vol = d.spec.template.spec.volumes.find((v: any) => v.name === m.name);
        if (vol.configMap) {
          const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === vol.configMap.name);
          const dir = mkdtempSync(join(work, `${name}-cm-`));
          // As a ConfigMap volume: readable by any UID.
          chmodSync(dir, 0o755);
          for (const [file, text] of Object.entries(cm.data as Record<string, string>)) writeFileSync(join(dir, file), text, { mode: 0o644 });
          mountArgs.push('--mount', `${dir}:${m.mountPath}`);
        } else {
          // The data volume and /tmp are the runner's own (--data, a tmpfs).
          expect(['/var/lib/litemaas', '/tmp'], `${name}: a mount the runner does not provide`).toContain(m.mountPath);
        }
      }
      const p = runRootfs([...mountArgs, rootfs, ...args], { uid, data, env });
      const probe = c.readinessProbe.httpGet;
      const deadline = Date.now() + 30_000;
      while (!(await fetch(`http://127.0.0.1:${free}${probe.path}`).then((res) => res.ok, () => false))) {
        if (p.child.exitCode !== null) throw new Error(`${name} exited (${p.child.exitCode}): ${p.out()}`);
        if (Date.now() > deadline) throw new Error(`${name} not ready on ${probe.path}: ${p.out()}`);
        await new Promise((res) => setTimeout(res, 100));
      }
      process.kill(innerPid(p.child)!, 'SIGTERM');
      expect(await exited(p.child), `${name}: ${p.out()}`).toBe(0);
    }
  });

  it('serves, provisions through the admin API and meters one request into PostgreSQL', async () => {
    const data = mkdtempSync(join(work, 'data-'));
    const port = await freePort();
    const adminToken = randomBytes(16).toString('hex');
    const url = `http://127.0.0.1:${port}`;
    const p = runRootfs([rootfs, 'serve'], { uid, data, env: {
      DATABASE_URL: db.url, LITEMAAS_ADMIN_TOKEN: adminToken, LITEMAAS_SECRET: randomBytes(32).toString('hex'),
      PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', LITEMAAS_FLUSH_INTERVAL_MS: '50',
    } });
    const deadline = Date.now() + 45_000;
    while (!(await fetch(`${url}/readyz`).then((r) => r.ok, () => false))) {
      if (p.child.exitCode !== null) throw new Error(`serve exited (${p.child.exitCode}): ${p.out()}`);
      if (Date.now() > deadline) throw new Error(`serve not ready: ${p.out()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const pid = innerPid(p.child)!;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    expect(status).toMatch(new RegExp(`^Uid:\\t${uid}\\t${uid}\\t`, 'm'));
    expect(status).toMatch(/^CapEff:\t0000000000000000$/m);
    const rootMount = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/')!;
    expect(rootMount.split(' ')[5]!.split(',')).toContain('ro');

    const admin = async (path: string, body: unknown) => {
      const r = await fetch(`${url}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const json = await r.json() as any;
      expect([200, 201], `${path}: ${JSON.stringify(json)}`).toContain(r.status);
      return json;
    };
    await admin('/admin/models', { id: MODEL, inputPricePer1M: 0.15, outputPricePer1M: 0.6, contextLength: 8192, deployments: [{ url: `${sim.url}/v1`, upstreamModel: 'llama32-fp8' }] });
    const user = await admin('/admin/users', { username: 'rootfs-user' });
    await admin(`/admin/users/${user.id}/subscriptions`, { modelId: MODEL });
    const key = await admin(`/admin/users/${user.id}/api-keys`, { name: 'rootfs-key', models: [MODEL] });

    const r = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 16, messages: [{ role: 'user', content: 'The root filesystem is read-only. The UID is random.' }] }),
    });
    const answer = await r.json() as any;
    expect(r.status, JSON.stringify(answer)).toBe(200);
    expect(answer.usage.completion_tokens).toBeGreaterThan(0);

    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      let rows: any[] = [];
      for (let i = 0; i < 100 && rows.length === 0; i++) {
        rows = (await c.query('select status, prompt_tokens, completion_tokens, cost::text as cost from usage_events where key_id = $1', [key.id])).rows;
        if (rows.length === 0) await new Promise((res) => setTimeout(res, 100));
      }
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status: 200, prompt_tokens: answer.usage.prompt_tokens, completion_tokens: answer.usage.completion_tokens });
      expect(Number(rows[0].cost)).toBeGreaterThan(0);
    } finally {
      await c.end();
    }

    // SIGTERM goes to node itself (PID 1 of its namespace): drain, flush, exit 0.
    process.kill(pid, 'SIGTERM');
    expect(await exited(p.child), p.out()).toBe(0);
    expect(statSync(join(data, 'journal')).uid).toBe(uid);
  });
});
