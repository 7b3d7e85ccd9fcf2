/**
 * Real processes for the multi-replica test: `node dist/src/cli.js serve` replicas configured
 * from the environment (their Redis: ./redis-instance.ts). Every process started here is killed by `killAll`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './net.js';
import { exited, until } from './process.js';

const CLI = 'dist/src/cli.js';

export interface ReplicaOptions {
  env: Record<string, string>;
  dataDir: string;
  port?: number;
}

export class Replica {
  proc: ChildProcess | null = null;
  stderr = '';
  constructor(readonly name: string, readonly port: number, readonly dataDir: string, private readonly env: Record<string, string>) {}
  get url(): string { return `http://127.0.0.1:${this.port}`; }

  static async create(name: string, o: ReplicaOptions): Promise<Replica> {
    return new Replica(name, o.port ?? (await freePort()), o.dataDir, o.env);
  }

  /** `litemaas serve` on this replica's port and data dir; resolves when /readyz answers 200 (after any journal replay). */
  async start(): Promise<void> {
    const p = spawn(process.execPath, [CLI, 'serve'], {
      env: { ...process.env, ...this.env, PORT: String(this.port), HOST: '127.0.0.1', LITEMAAS_DATA_DIR: this.dataDir },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.proc = p;
    p.stderr!.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-20_000); });
    await until(async () => {
      if (p.exitCode !== null) throw new Error(`${this.name} exited (${p.exitCode}): ${this.stderr}`);
      return (await fetch(`${this.url}/readyz`)).ok;
    }, this.name, 30_000);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const p = this.proc;
    this.proc = null;
    if (!p) return null;
    p.kill(signal);
    await exited(p);
    return p.exitCode;
  }
}
