/**
 * `litemaas keys create` (the workshop's "keep Canopy's key out of git" step): run as a process
 * against a real server, it creates the key through the admin API and prints a Kubernetes Secret
 * whose `api_token` is a key the gateway accepts — or JSON — and says clearly what is wrong.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { startServer, type Running } from '../src/server.js';
import { loadConfig } from '../src/config.js';
import { freshDatabase } from './helpers/pg.js';

const cli = resolve('dist/src/cli.js');
const adminToken = randomBytes(16).toString('hex');
let server: Running;
let db: { url: string; drop(): Promise<void> };
let dir: string;

function run(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [cli, 'keys', ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  db = await freshDatabase('litemaas_keys_cli');
  dir = mkdtempSync(join(tmpdir(), 'litemaas-keys-cli-'));
  server = await startServer({ ...loadConfig({}), port: 0, host: '127.0.0.1', dataDir: dir, databaseUrl: db.url, adminToken, secret: randomBytes(32).toString('hex'), logLevel: 'silent' });
  const api = (path: string, body: unknown) => fetch(`${server.url}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect((await api('/admin/models', { id: 'tiny-model', inputPricePer1M: '0.1', outputPricePer1M: '0.2', deployments: [{ url: 'http://127.0.0.1:9/v1', upstreamModel: 'tiny' }] })).status).toBe(201);
  const u = await api('/admin/users', { username: 'canopy-owner' });
  const id = ((await u.json()) as { id: string }).id;
  expect((await api(`/admin/users/${id}/subscriptions`, { modelId: 'tiny-model' })).status).toBe(201);
}, 60_000);
afterAll(async () => {
  await server?.close();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function gatewayAccepts(key: string): Promise<boolean> {
  const r = await fetch(`${server.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
  const body = (await r.json()) as { data?: Array<{ id: string }> };
  return r.status === 200 && (body.data ?? []).some((m) => m.id === 'tiny-model');
}

describe('litemaas keys create', () => {
  it('prints a Kubernetes Secret whose api_token the gateway accepts, ready for kubeseal', async () => {
    const r = await run(['create', '--user', 'canopy-owner', '--name', 'canopy-experiments', '--models', 'tiny-model', '--url', server.url,
      '--output', 'k8s-secret', '--namespace', 'canopy-test', '--secret-name', 'canopy-api-token'], { LITEMAAS_ADMIN_TOKEN: adminToken });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const s = parse(r.stdout) as { apiVersion: string; kind: string; type: string; metadata: { name: string; namespace: string }; stringData: { api_token: string } };
    expect(s).toMatchObject({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'canopy-api-token', namespace: 'canopy-test' } });
    expect(await gatewayAccepts(s.stringData.api_token)).toBe(true);
    // The key is the user's, visible in their key list by name (never by its secret).
    const keys = await fetch(`${server.url}/api/v1/admin/users`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(JSON.stringify(await keys.json())).not.toContain(s.stringData.api_token);
  });

  it('prints JSON by default, and takes the user by id', async () => {
    const list = (await (await fetch(`${server.url}/api/v1/admin/users`, { headers: { authorization: `Bearer ${adminToken}` } })).json()) as { users: Array<{ id: string; username: string }> };
    const id = list.users.find((u) => u.username === 'canopy-owner')!.id;
    const r = await run(['create', '--user', id, '--name', 'batch-job', '--models', 'tiny-model', '--url', server.url], { LITEMAAS_ADMIN_TOKEN: adminToken });
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { key: string; endpoint: string; name: string };
    expect(j.name).toBe('batch-job');
    expect(j.endpoint).toBe(`${server.url}/v1`);
    expect(await gatewayAccepts(j.key)).toBe(true);
  });

  it('says what is wrong: no token, a wrong token, an unknown user, a model not subscribed, a missing flag', async () => {
    const base = ['create', '--user', 'canopy-owner', '--name', 'x', '--models', 'tiny-model', '--url', server.url];
    const noToken = await run(base);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('LITEMAAS_ADMIN_TOKEN must be set');
    const wrong = await run(base, { LITEMAAS_ADMIN_TOKEN: 'not-the-token' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/refused LITEMAAS_ADMIN_TOKEN \(HTTP 401\)/);
    const nobody = await run(['create', '--user', 'nobody-here', '--name', 'x', '--models', 'tiny-model', '--url', server.url], { LITEMAAS_ADMIN_TOKEN: adminToken });
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toContain("no user 'nobody-here'");
    const model = await run(['create', '--user', 'canopy-owner', '--name', 'x', '--models', 'other-model', '--url', server.url], { LITEMAAS_ADMIN_TOKEN: adminToken });
    expect(model.code).toBe(1);
    expect(model.stderr).toMatch(/the key was not created \(HTTP 4\d\d: .+\)/);
    const missing = await run(['create', '--user', 'canopy-owner', '--url', server.url], { LITEMAAS_ADMIN_TOKEN: adminToken });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--name is required');
    for (const r of [noToken, wrong, nobody, model, missing]) expect(r.stdout).toBe('');
  });
});
