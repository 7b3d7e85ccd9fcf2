/**
 * @module `litemaas stack` and `litemaas canopy`: each piece of the
 * workshop's "After" picture alone, as in production.
 */
import { resolve } from 'node:path';
import { loadStackConfig } from '../stack/config.js';
import { startStack, type RunningStack } from '../stack/server.js';
import { loadCanopyConfig } from '../canopy/config.js';
import { startCanopy, type RunningCanopy } from '../canopy/server.js';
import { onShutdown } from './serve.js';

/** `--config <file>` (or `--config=<file>`), else the environment variable, else the default file. */
export function configPath(args: string[], envName: string, dflt: string): string {
  const i = args.findIndex((a) => a === '--config' || a.startsWith('--config='));
  if (i >= 0) {
    const v = args[i]!.includes('=') ? args[i]!.split('=')[1] : args[i + 1];
    if (!v) throw new Error('--config needs a file path');
    return resolve(v);
  }
  return resolve(process.env[envName] || dflt);
}

export async function stackCommand(args: string[]): Promise<RunningStack> {
  const path = configPath(args, 'STACK_CONFIG_PATH', 'stack.yaml');
  const cfg = loadStackConfig(path);
  const running = await startStack(cfg);
  onShutdown(running.close);
  process.stdout.write(`stack (Llama-Stack-compatible) listening on ${running.url} with ${cfg.models.length} model(s) from ${path}:\n`);
  for (const m of cfg.models) process.stdout.write(`  ${m.id}  →  ${m.url} (model ${m.name}, token: ${m.tokenSource === 'none' ? 'none' : `from ${m.tokenSource}`})\n`);
  return running;
}

export async function canopyCommand(args: string[]): Promise<RunningCanopy> {
  const path = configPath(args, 'CANOPY_CONFIG_PATH', 'canopy.yaml');
  const cfg = loadCanopyConfig(path);
  const running = await startCanopy(cfg, {
    port: Number(process.env.CANOPY_PORT ?? 8501), host: process.env.HOST || '0.0.0.0',
    dataDir: resolve(process.env.CANOPY_DATA_DIR || './data/canopy'), logLevel: process.env.LOG_LEVEL || 'info',
  });
  onShutdown(running.close);
  process.stdout.write(`canopy listening on ${running.url} (Llama Stack ${cfg.llamaStackUrl}; summarize ${cfg.summarize.enabled ? `on, model ${cfg.summarize.model}` : 'off'})\n`);
  // A model id the stack does not serve is the workshop's most common slip (llama32-fp8 vs the LiteMaaS id): say so at once.
  for (const w of await running.checkModels()) process.stderr.write(`warning: ${w}\n`);
  return running;
}
