/**
 * @module The processes a bench starts: each logs to its own file under `logDir`, is stopped with
 * SIGTERM then SIGKILL after a grace, and is tracked so the bench can stop them all on exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const freePort = (): Promise<number> => new Promise<number>((res, rej) => {
  const s = createServer();
  s.once('error', rej);
  s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => res(p)); });
});

export class Processes {
  readonly all = new Set<ChildProcess>();
  constructor(private readonly logDir: string, private readonly cwd: string) {}

  start(name: string, cmd: string, args: string[], env: Record<string, string> = {}): ChildProcess {
    const fd = openSync(join(this.logDir, `${name}.log`), 'a');
    const p = spawn(cmd, args, { cwd: this.cwd, env: { ...process.env, ...env }, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.all.add(p);
    p.once('exit', () => this.all.delete(p));
    return p;
  }

  async stop(p: ChildProcess, graceMs: number): Promise<void> {
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs))]);
    if (p.exitCode === null && p.signalCode === null) { p.kill('SIGKILL'); await exited; }
  }

  /** Polls `url` until it answers 200; fails with the end of the process's log if it exits first. */
  async waitReady(url: string, p: ChildProcess, name: string, timeoutMs: number, pollMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (p.exitCode !== null || p.signalCode !== null) throw new Error(`${name} exited: ${readFileSync(join(this.logDir, `${name}.log`), 'utf8').slice(-400)}`);
      try { const r = await fetch(url, { signal: AbortSignal.timeout(2000) }); await r.arrayBuffer(); if (r.status === 200) return; } catch { /* not yet */ }
      if (Date.now() > deadline) throw new Error(`${name}: ${url} not ready`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}
