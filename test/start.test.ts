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

const ports = { stack: 0, canopy: 0 };

async function start(port: number, simPort: number): Promise<{ child: ChildProcess; out: () => string }> {
  const env = { ...process.env, PORT: String(port), SIM_PORT: String(simPort), STACK_PORT: String(ports.stack), CANOPY_PORT: String(ports.canopy), LITEMAAS_DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
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

/** Asks Canopy for a summary and returns the streamed text (or throws the streamed error). */
async function summarise(text: string): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${ports.canopy}/summarize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: text }) });
  expect(r.status).toBe(200);
  const lines = (await r.text()).split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
  expect(lines.at(-1)).toBe('[DONE]');
  const events = lines.slice(0, -1).map((l) => JSON.parse(l) as { delta?: string; error?: string });
  const err = events.find((e) => e.error);
  if (err) throw new Error(err.error);
  return events.map((e) => e.delta).join('');
}

async function canopyKeys(base: string, token: string) {
  const r = await fetch(`${base}/api/v1/admin/usage/summary?groupBy=key`, { headers: { authorization: `Bearer ${token}` } });
  return ((await r.json()) as { rows: Array<{ keyName: string; keyId: string; requests: number }> }).rows.filter((x) => x.keyName === 'canopy-experiments');
}

describe('litemaas start', () => {
  it('runs simulator → LiteMaaS → stack → Canopy on PGlite, and a second start reuses it', async () => {
    const port = await freePort();
    ports.stack = await freePort();
    ports.canopy = await freePort();
    const first = await start(port, await freePort());
    const base = `http://127.0.0.1:${port}`;
    let key: string;
    try {
      expect(first.out()).toContain('store: pglite');
      expect(first.out()).toContain('Llama-3.2-3B-Instruct-FP8');
      for (const p of [port, ports.stack, ports.canopy]) expect(first.out()).toContain(`http://127.0.0.1:${p}`);
      expect(first.out()).toMatch(/Sign in to the portal as admin with the password \S+/);
      const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
      // Canopy answers through the stack and LiteMaaS, and its usage lands on its own key.
      const summary = await summarise('Canopy reaches the model through Llama Stack and LiteMaaS. Every request is metered.');
      expect(summary.length).toBeGreaterThan(10);
      await expect.poll(async () => (await canopyKeys(base, token))[0]?.requests ?? 0, { timeout: 5000 }).toBe(1);
      const admin = async (path: string, body: unknown) => {
        const r = await fetch(`${base}/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expect(r.status).toBe(201);
        return (await r.json()) as { id: string; key: string };
      };
      const u = await admin('/admin/users', { username: 'alice' });
      await admin(`/admin/users/${u.id}/subscriptions`, { modelId: 'Llama-3.2-3B-Instruct-FP8' });
      key = (await admin(`/admin/users/${u.id}/api-keys`, { name: 'my-app', models: ['Llama-3.2-3B-Instruct-FP8'] })).key;
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
      // The same canopy-experiments key, not a second one, and Canopy still works with it.
      expect(await summarise('The second start reuses the key.')).not.toBe('');
      const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
      await expect.poll(async () => (await canopyKeys(base, token)).map((k) => k.requests), { timeout: 5000 }).toEqual([2]);
      expect(second.out()).toContain('the password printed at the first start');
    } finally {
      expect(await stop(second.child)).toBe(0);
    }
  });
});
