/**
 * The dev overlay's bootstrap job (deploy/kustomize/components/dev-bootstrap/bootstrap.mjs), run
 * as the Job runs it (plain node, no packages) against a stand-in for the Kubernetes Secrets API
 * and a real LiteMaaS: it generates the Secrets the manifests reference, provisions Canopy's key
 * through the admin API, writes it to canopy-api-token/api_token, and the key works on the gateway.
 * A second run changes nothing; the key never appears in its output. Every Secret it POSTs is valid
 * against the v1 Secret schema (what the API server would refuse, the stand-in refuses too).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODEL, startSystem, type System } from './helpers/system.js';
import { schemaErrors } from './helpers/k8s-schema.js';

const NS = 'litemaas-dev';
const KUBE_TOKEN = 'kube-sa-token-for-the-test';

/** Secrets in one namespace, as the API server answers GET and POST for them. */
function fakeKubeApi(secrets: Map<string, Record<string, string>>, calls: string[]): Server {
  return createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      calls.push(`${req.method} ${req.url}`);
      const send = (status: number, obj: unknown) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(obj)); };
      if (req.headers.authorization !== `Bearer ${KUBE_TOKEN}`) return send(401, { kind: 'Status', code: 401 });
      const base = `/api/v1/namespaces/${NS}/secrets`;
      if (req.method === 'GET' && req.url!.startsWith(`${base}/`)) {
        const s = secrets.get(req.url!.slice(base.length + 1));
        if (!s) return send(404, { kind: 'Status', code: 404, reason: 'NotFound' });
        return send(200, { kind: 'Secret', metadata: { name: req.url!.slice(base.length + 1) }, data: Object.fromEntries(Object.entries(s).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) });
      }
      if (req.method === 'POST' && req.url === base) {
        const obj = JSON.parse(body);
        const invalid = schemaErrors(obj);
        if (obj.kind !== 'Secret' || !obj.stringData || invalid.length) return send(422, { kind: 'Status', code: 422, message: invalid.join('; ') });
        if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== NS) return send(400, { kind: 'Status', code: 400 });
        if (secrets.has(obj.metadata.name)) return send(409, { kind: 'Status', code: 409, reason: 'AlreadyExists' });
        secrets.set(obj.metadata.name, obj.stringData);
        return send(201, obj);
      }
      send(404, { kind: 'Status', code: 404 });
    });
  });
}

describe('the dev bootstrap job', () => {
  let sys: System;
  let kube: Server;
  let kubeUrl: string;
  const secrets = new Map<string, Record<string, string>>();
  const calls: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'litemaas-bootstrap-'));

  beforeAll(async () => {
    sys = await startSystem('postgres');
    kube = fakeKubeApi(secrets, calls);
    await new Promise<void>((r) => kube.listen(0, '127.0.0.1', r));
    kubeUrl = `http://127.0.0.1:${(kube.address() as { port: number }).port}`;
    writeFileSync(join(dir, 'token'), KUBE_TOKEN);
    // As if an earlier run had made it and the server runs with it: the job reads the admin token from it.
    secrets.set('litemaas-secrets', { LITEMAAS_SECRET: 'x'.repeat(64), LITEMAAS_ADMIN_TOKEN: sys.adminToken, LITEMAAS_ADMIN_PASSWORD: 'unused-here' });
  });

  afterAll(async () => {
    await sys?.close();
    await new Promise((r) => kube?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  function runJob(): Promise<{ code: number | null; out: string }> {
    const child = spawn(process.execPath, ['deploy/kustomize/components/dev-bootstrap/bootstrap.mjs'], {
      env: {
        PATH: process.env.PATH, KUBE_API: kubeUrl, KUBE_TOKEN_FILE: join(dir, 'token'), NAMESPACE: NS,
        LITEMAAS_URL: sys.url, UPSTREAM_URL: `${sys.sim.url}/v1`, READY_TIMEOUT_MS: '10000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    return new Promise((r) => child.once('exit', (code) => r({ code, out })));
  }

  it('generates the Secrets, provisions Canopy\'s key and stores it as canopy-api-token/api_token', async () => {
    const { code, out } = await runJob();
    expect(code, out).toBe(0);
    expect([...secrets.keys()].sort()).toEqual(['canopy-api-token', 'litemaas-database', 'litemaas-redis', 'litemaas-secrets', 'postgresql', 'redis']);
    const pg = secrets.get('postgresql')!.POSTGRES_PASSWORD!;
    expect(pg).toMatch(/^[0-9a-f]{48}$/);
    expect(secrets.get('litemaas-database')!.DATABASE_URL).toBe(`postgres://litemaas:${pg}@postgresql:5432/litemaas`);
    expect(secrets.get('litemaas-redis')!.REDIS_URL).toBe(`redis://:${secrets.get('redis')!.REDIS_PASSWORD}@redis:6379/0`);
    const key = secrets.get('canopy-api-token')!.api_token!;
    expect(key).toMatch(/^sk-[A-Za-z0-9_-]{43}$/);
    expect(out).not.toContain(key);
    expect(out).not.toContain(pg);

    // The key is the one the stack will send: it works on the gateway, for the model the job registered.
    const r = await fetch(`${sys.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'Canopy, through LiteMaaS.' }] }),
    });
    expect(r.status).toBe(200);
    const users = (await sys.admin('GET', '/admin/users')).body.users;
    const canopy = users.find((u: any) => u.username === 'canopy');
    const keys = (await sys.admin('GET', `/admin/users/${canopy.id}/api-keys`)).body.apiKeys;
    expect(keys.map((k: any) => k.name)).toEqual(['canopy-experiments']);
  });

  it('changes nothing on a second run', async () => {
    const before = JSON.stringify([...secrets.entries()]);
    calls.length = 0;
    const { code, out } = await runJob();
    expect(code, out).toBe(0);
    expect(JSON.stringify([...secrets.entries()])).toBe(before);
    expect(calls.filter((c) => c.startsWith('POST'))).toEqual([]);
    expect(out).toContain('nothing to provision');
  });
});
