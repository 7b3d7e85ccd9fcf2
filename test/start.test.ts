/**
 * `npm start` (litemaas start) on embedded defaults: the demo model is there,
 * the printed provisioning steps work, and a second start reuses the data.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { freePort } from './helpers/net.js';


const dataDir = mkdtempSync(join(tmpdir(), 'litemaas-start-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function start(port: number, simPort: number): Promise<{ child: ChildProcess; out: () => string }> {
  const env = { ...process.env, PORT: String(port), SIM_PORT: String(simPort), LITEMAAS_DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  delete env.LITEMAAS_ADMIN_TOKEN;
  const child = spawn(process.execPath, ['dist/src/cli.js', 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const deadline = Date.now() + 40_000;
  while (!out.includes('Then call the gateway')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`start failed: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, out: () => out };
}

async function stop(child: ChildProcess): Promise<number | null> {
  child.kill('SIGTERM');
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

describe('litemaas start', () => {
  it('runs the demo on PGlite, and a second start reuses it', async () => {
    const port = await freePort();
    const first = await start(port, await freePort());
    const base = `http://127.0.0.1:${port}`;
    let key: string;
    try {
      expect(first.out()).toContain('store: pglite');
      expect(first.out()).toContain('Llama-3.2-3B-Instruct-FP8');
      const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
      const admin = async (path: string, body: unknown) => {
        const r = await fetch(`${base}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expect(r.status).toBe(201);
        return (await r.json()) as { id: string; key: string };
      };
      const u = await admin('/admin/users', { username: 'alice' });
      await admin(`/admin/users/${u.id}/subscriptions`, { modelId: 'Llama-3.2-3B-Instruct-FP8' });
      key = (await admin(`/admin/users/${u.id}/api-keys`, { name: 'canopy-experiments', models: ['Llama-3.2-3B-Instruct-FP8'] })).key;
      const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0 });
      const r = await client.chat.completions.create({ model: 'Llama-3.2-3B-Instruct-FP8', messages: [{ role: 'user', content: 'Hello from the demo. It works.' }] });
      expect(r.choices[0]!.message.content).toBe('Hello from the demo. It works.');
    } finally {
      expect(await stop(first.child)).toBe(0);
    }
    const second = await start(port, await freePort());
    try {
      const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0 });
      const models = await client.models.list();
      expect(models.data.map((m) => m.id)).toEqual(['Llama-3.2-3B-Instruct-FP8']);
      const r = await client.chat.completions.create({ model: 'Llama-3.2-3B-Instruct-FP8', messages: [{ role: 'user', content: 'Second start. Same key.' }] });
      expect(r.choices[0]!.message.content).toBe('Second start. Same key.');
    } finally {
      expect(await stop(second.child)).toBe(0);
    }
  });
});
