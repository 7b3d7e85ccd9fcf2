/**
 * Each piece alone, as in production: `litemaas stack --config` with the
 * token in API_TOKEN, `litemaas canopy --config` pointed at it, and a config
 * typo stopping Canopy's start with a message that names the key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type RunningSimulator } from '../src/simulator/server.js';
import { freePort } from './helpers/net.js';

const dir = mkdtempSync(join(tmpdir(), 'litemaas-roles-'));
const TOKEN = 'sk-only-in-the-environment';
let sim: RunningSimulator;
const children: ChildProcess[] = [];

function run(args: string[], env: Record<string, string>, until: string): Promise<{ child: ChildProcess; out: () => string; code: Promise<number | null> }> {
  const child = spawn(process.execPath, ['dist/src/cli.js', ...args], { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d; });
  child.stderr!.on('data', (d: Buffer) => { out += d; });
  const code = new Promise<number | null>((r) => child.once('exit', r));
  return new Promise((resolve, reject) => {
    const t = setInterval(() => {
      if (out.includes(until) || child.exitCode !== null) { clearInterval(t); resolve({ child, out: () => out, code }); }
    }, 50);
    setTimeout(() => { clearInterval(t); reject(new Error(`no '${until}' in: ${out}`)); }, 20_000);
  });
}

beforeAll(async () => {
  sim = await startSimulator({ port: 0, host: '127.0.0.1', servedModelName: 'llama32-fp8', apiKey: TOKEN, quiet: true });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the pieces alone', () => {
  it('runs the stack with its token from API_TOKEN and Canopy against it', async () => {
    const stackPort = await freePort(), canopyPort = await freePort();
    writeFileSync(join(dir, 'stack.yaml'), `models:\n  - name: llama32-fp8\n    url: ${sim.url}/v1\n`);
    writeFileSync(join(dir, 'canopy.yaml'), `LLAMA_STACK_URL: http://127.0.0.1:${stackPort}\nsummarize:\n  enabled: true\n  model: vllm-llama32-fp8/llama32-fp8\n  prompt: "Summarise."\n`);
    // The model lines follow the 'listening' line and may come in a later write: wait for the last of them.
    const stack = await run(['stack', '--config', join(dir, 'stack.yaml')], { STACK_PORT: String(stackPort), API_TOKEN: TOKEN }, 'token: from API_TOKEN');
    expect(stack.out()).toContain('vllm-llama32-fp8/llama32-fp8');
    expect(stack.out()).toContain('token: from API_TOKEN');
    expect(stack.out()).not.toContain(TOKEN);
    const canopy = await run(['canopy', '--config', join(dir, 'canopy.yaml')], { CANOPY_PORT: String(canopyPort), CANOPY_DATA_DIR: join(dir, 'canopy') }, 'listening');
    expect(canopy.out()).not.toContain('warning');
    const r = await fetch(`http://127.0.0.1:${canopyPort}/summarize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'Each piece runs alone. The token stays in the environment.' }) });
    const body = await r.text();
    expect(body).toContain('"delta"');
    expect(body).not.toContain('"error"');
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    canopy.child.kill('SIGTERM');
    stack.child.kill('SIGTERM');
    expect(await canopy.code).toBe(0);
    expect(await stack.code).toBe(0);
  });

  it('refuses to start Canopy on a config typo, naming the key', async () => {
    writeFileSync(join(dir, 'typo.yaml'), 'LLAMA_STACK_URL: http://127.0.0.1:1\nsummarize:\n  enabled: true\n  model: m\n  prompt: p\n  max_token: 10\n');
    const c = await run(['canopy', '--config', join(dir, 'typo.yaml')], { CANOPY_PORT: String(await freePort()) }, 'unknown key');
    expect(await c.code).toBe(1);
    expect(c.out()).toContain('summarize.max_token: unknown key');
  });
});
