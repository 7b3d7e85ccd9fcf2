/**
 * The ledger loses nothing: under load the server is killed with SIGKILL,
 * restarted, and every 2xx response the client received has exactly one
 * usage event, and the daily rollups count each event once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Agent, request } from 'undici';
import { startSimulator, type RunningSimulator } from '../src/simulator/server.js';
import { freshDatabase } from './helpers/pg.js';
import { MODEL } from './helpers/system.js';
import { freePort } from './helpers/net.js';


describe('crash safety', () => {
  let sim: RunningSimulator;
  let db: { url: string; drop(): Promise<void> };
  let dataDir: string;
  let child: ChildProcess | null = null;
  const token = 'crash-test-admin-token';
  let port: number;

  async function boot(): Promise<void> {
    child = spawn(process.execPath, ['dist/src/cli.js', 'serve'], {
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: db.url, LITEMAAS_DATA_DIR: dataDir, LITEMAAS_ADMIN_TOKEN: token, LOG_LEVEL: 'error' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/readyz`);
        if (r.ok) return;
      } catch { /* not up yet */ }
      if (Date.now() > deadline) throw new Error('server did not become ready');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, host: '127.0.0.1', servedModelName: 'llama32-fp8', quiet: true });
    db = await freshDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'litemaas-crash-'));
    port = await freePort();
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await sim?.close();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('bills every answered request exactly once across a SIGKILL', async () => {
    await boot();
    const admin = async (path: string, body: unknown) => {
      const r = await fetch(`http://127.0.0.1:${port}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return (await r.json()) as any;
    };
    await admin('/admin/models', { id: MODEL, inputPricePer1M: 0.15, outputPricePer1M: 0.6, deployments: [{ url: `${sim.url}/v1`, upstreamModel: 'llama32-fp8' }] });
    const u = await admin('/admin/users', { username: 'crash' });
    await admin(`/admin/users/${u.id}/subscriptions`, { modelId: MODEL });
    const k = await admin(`/admin/users/${u.id}/api-keys`, { name: 'crash', models: [MODEL] });

    const answered = new Set<string>();
    const agent = new Agent({ connections: 32 });
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop && i < 100_000; i++) {
        try {
          const r = await request(`http://127.0.0.1:${port}/v1/chat/completions`, {
            method: 'POST', dispatcher: agent,
            headers: { authorization: `Bearer ${k.key}`, 'content-type': 'application/json' },
            body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: `Worker ${w} request ${i}. Count me once.` }], max_tokens: 8, stream: i % 3 === 0 }),
          });
          const text = await r.body.text();
          const complete = i % 3 === 0 ? text.includes('data: [DONE]') : text.endsWith('}');
          if (r.statusCode === 200 && complete) answered.add(String(r.headers['x-request-id']));
        } catch {
          if (stop) return;
          await new Promise((res) => setTimeout(res, 20));
        }
      }
    };
    const workers = Array.from({ length: 16 }, (_, w) => worker(w));
    // Kill under load once enough has been answered (by count, not time: a busy CI machine is slower).
    for (const deadline = Date.now() + 30_000; answered.size < 150 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200));
    child!.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    stop = true;
    await Promise.all(workers);
    await agent.close();
    expect(answered.size).toBeGreaterThan(100);
    const journaled = readdirSync(join(dataDir, 'journal')).reduce((n, f) => n + readFileSync(join(dataDir, 'journal', f), 'utf8').split('\n').filter(Boolean).length, 0);
    console.log(`crash test: ${answered.size} answered, ${journaled} events only in the journal at the kill`);

    await boot(); // replays the journal before it is ready
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const ev = await c.query<{ id: string }>('select id from usage_events where key_id = $1', [k.id]);
      const ids = new Set(ev.rows.map((r) => r.id));
      const missing = [...answered].filter((id) => !ids.has(id));
      expect(missing).toEqual([]);
      const daily = await c.query('select sum(requests + errors)::int as n from usage_daily where key_id = $1', [k.id]);
      expect(daily.rows[0].n).toBe(ev.rows.length);
    } finally {
      await c.end();
    }
    // A graceful stop flushes everything: no journal segment is left behind.
    child!.kill('SIGTERM');
    const code = await new Promise((r) => child!.once('exit', r));
    child = null;
    expect(code).toBe(0);
    expect(readdirSync(join(dataDir, 'journal'))).toEqual([]);
  });
});
