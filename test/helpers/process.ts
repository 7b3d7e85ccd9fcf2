/** Waiting on what a test started: a condition that becomes true, a process that exits. */
import type { ChildProcess } from 'node:child_process';

/** Polls `ok` every 50 ms until it answers true (a rejection counts as false); throws after `ms`. */
export async function until(ok: () => Promise<boolean>, what: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await ok().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not become ready within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => p.once('exit', () => r()));
}
