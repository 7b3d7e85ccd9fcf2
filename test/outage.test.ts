/**
 * PostgreSQL goes away: the gateway keeps serving from its caches, usage
 * waits in the journal, and it all lands once the database is back.
 * The outage is a TCP proxy in front of the real server that the test cuts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startSimulator, type RunningSimulator } from '../src/simulator/server.js';
import { startServer, type Running } from '../src/server.js';
import { loadConfig } from '../src/config.js';
import { freshDatabase } from './helpers/pg.js';
import { MODEL } from './helpers/system.js';

class CuttableProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;
  async up(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(5432, '127.0.0.1');
      for (const s of [client, upstream]) { this.sockets.add(s); s.on('close', () => this.sockets.delete(s)); s.on('error', () => {}); }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }
  async down(): Promise<void> {
    const closed = new Promise((r) => this.server!.close(r));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

describe('PostgreSQL outage', () => {
  let sim: RunningSimulator;
  let db: { url: string; drop(): Promise<void> };
  let proxy: CuttableProxy;
  let server: Running;
  let dataDir: string;
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, host: '127.0.0.1', servedModelName: 'llama32-fp8', quiet: true });
    db = await freshDatabase();
    proxy = new CuttableProxy();
    await proxy.up();
    const u = new URL(db.url);
    u.port = String(proxy.port);
    dataDir = mkdtempSync(join(tmpdir(), 'litemaas-outage-'));
    server = await startServer({ ...loadConfig({}), port: 0, host: '127.0.0.1', dataDir, databaseUrl: u.toString(), adminToken: 't', logLevel: 'silent', flushIntervalMs: 50 });
  });
  afterAll(async () => {
    await server?.close();
    await sim?.close();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps serving and writes the usage once the database is back', async () => {
    const s = server.services;
    await s.models.create({ id: MODEL, inputPricePer1M: 0.15, outputPricePer1M: 0.6, deployments: [{ url: `${sim.url}/v1`, upstreamModel: 'llama32-fp8' }] });
    const user = await s.users.create({ username: 'outage' });
    await s.subscriptions.subscribe(user.id, { modelId: MODEL }, 'active', 'test');
    const key = await s.keys.create(user.id, { name: 'outage', models: [MODEL] });
    await server.gateway.reload();
    const call = () => fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Still up?' }], max_tokens: 4 }),
    }).then((r) => r.status);

    expect(await call()).toBe(200);
    await server.ledger.drain();
    await proxy.down();
    const during = [];
    for (let i = 0; i < 20; i++) during.push(await call());
    expect(during.every((c) => c === 200)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(server.ledger.lag).toBe(20);
    expect(readdirSync(join(dataDir, 'journal')).length).toBeGreaterThan(0);

    await proxy.up();
    const deadline = Date.now() + 15_000;
    while (server.ledger.lag > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(server.ledger.lag).toBe(0);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const n = await c.query('select count(*)::int as n from usage_events where key_id = $1 and status = 200', [key.id]);
    await c.end();
    expect(n.rows[0].n).toBe(21);
  });
});
