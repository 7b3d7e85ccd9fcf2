/**
 * Starts the simulator and a LiteMaaS server in-process (port 0) on real
 * PostgreSQL or PGlite, and provisions through the admin API as a lab would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../src/simulator/server.js';
import { startServer, type Running } from '../../src/server.js';
import { loadConfig, type Config } from '../../src/config.js';
import { freshDatabase } from './pg.js';

export const MODEL = 'Llama-3.2-3B-Instruct-FP8';
export const PRICES = { inputPricePer1M: '0.15', outputPricePer1M: '0.60' };

export interface System {
  url: string;
  adminToken: string;
  admin: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;
  server: Running;
  sim: RunningSimulator;
  dataDir: string;
  databaseUrl?: string;
  close(): Promise<void>;
}

export type StoreKind = 'postgres' | 'pglite';

export async function startSystem(kind: StoreKind, simOpts: SimulatorOptions = {}, cfg: Partial<Config> = {}): Promise<System> {
  const sim = await startSimulator({ port: 0, host: '127.0.0.1', servedModelName: 'llama32-fp8', quiet: true, ...simOpts });
  const dataDir = mkdtempSync(join(tmpdir(), 'litemaas-test-'));
  const db = kind === 'postgres' ? await freshDatabase() : null;
  const adminToken = randomBytes(16).toString('hex');
  const server = await startServer({
    ...loadConfig({}), port: 0, host: '127.0.0.1', dataDir, databaseUrl: db?.url, adminToken,
    logLevel: 'silent', flushIntervalMs: 50, reconcileIntervalMs: 30_000, ...cfg,
  });
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(server.url + '/api/v1' + path, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  return {
    url: server.url, adminToken, admin, server, sim, dataDir, databaseUrl: db?.url,
    async close() {
      await server.close();
      await sim.close();
      await db?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Provisioned { userId: string; keyId: string; key: string }

/** Model (if missing) → user → subscription → key, through the admin API. */
export async function provision(sys: System, opts: { username?: string; key?: Record<string, unknown>; subscription?: Record<string, unknown>; deployments?: unknown[] } = {}): Promise<Provisioned> {
  const m = await sys.admin('GET', `/admin/models/${MODEL}`);
  if (m.status === 404) {
    const r = await sys.admin('POST', '/admin/models', {
      id: MODEL, ...PRICES, contextLength: 8192,
      deployments: opts.deployments ?? [{ url: `${sys.sim.url}/v1`, upstreamModel: 'llama32-fp8' }],
    });
    if (r.status !== 201) throw new Error(`model: ${JSON.stringify(r.body)}`);
  }
  const u = await sys.admin('POST', '/admin/users', { username: opts.username ?? `user${Math.floor(Math.random() * 1e9)}` });
  if (u.status !== 201) throw new Error(`user: ${JSON.stringify(u.body)}`);
  const s = await sys.admin('POST', `/admin/users/${u.body.id}/subscriptions`, { modelId: MODEL, ...opts.subscription });
  if (s.status !== 201) throw new Error(`subscription: ${JSON.stringify(s.body)}`);
  const k = await sys.admin('POST', `/admin/users/${u.body.id}/api-keys`, { name: 'test', models: [MODEL], ...opts.key });
  if (k.status !== 201) throw new Error(`key: ${JSON.stringify(k.body)}`);
  return { userId: u.body.id, keyId: k.body.id, key: k.body.key };
}

/** Waits until the ledger has written everything it holds. */
export async function settle(sys: System): Promise<void> {
  await sys.server.ledger.drain();
}
