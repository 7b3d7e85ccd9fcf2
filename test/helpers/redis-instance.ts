/**
 * A redis-server of the test's own on a free port (never the shared one on
 * 6379), without persistence, so a restart on the same port comes back
 * empty. Tests stop it with `stop()` (SIGKILL) and start it again with `start()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from './net.js';
import { exited, until } from './process.js';

export class OwnRedis {
  proc: ChildProcess | null = null;
  constructor(readonly port: number) {}
  get url(): string { return `redis://127.0.0.1:${this.port}`; }

  static async create(): Promise<OwnRedis> {
    const r = new OwnRedis(await freePort());
    await r.start();
    return r;
  }

  /** Starts redis-server (no persistence: a restart is empty) and waits until it answers PING. */
  async start(): Promise<void> {
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await until(() => this.ping(), 'redis-server', 5_000);
  }

  private ping(): Promise<boolean> {
    return new Promise((resolve) => {
      // A raw RESP PING, so this helper needs no client library of its own.
      const s = createConnection({ port: this.port, host: '127.0.0.1' });
      s.once('error', () => resolve(false));
      s.once('data', (d) => { s.destroy(); resolve(d.toString().startsWith('+PONG')); });
      s.write('PING\r\n');
    });
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p) return;
    p.kill('SIGKILL');
    await exited(p);
  }
}
