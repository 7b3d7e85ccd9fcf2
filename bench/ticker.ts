/**
 * @module Open-loop clock for the load generator, run as a worker thread.
 * Posts 'ready', receives { t0Ns, intervalNs, total }, then sleeps until each
 * intended send time with Atomics.wait (sub-millisecond, no spinning, so the
 * generator does not steal CPU from what it measures) and posts the index of
 * the request that is due. The main thread fires every request whose time has
 * come, so a late wake-up never drops a request.
 */
import { parentPort } from 'node:worker_threads';

const cell = new Int32Array(new SharedArrayBuffer(4));
parentPort!.once('message', ({ t0Ns, intervalNs, total }: { t0Ns: string; intervalNs: number; total: number }) => {
  const t0 = BigInt(t0Ns);
  for (let i = 0; i < total; i++) {
    const due = t0 + BigInt(Math.round(i * intervalNs));
    const waitNs = Number(due - process.hrtime.bigint());
    if (waitNs > 20_000) Atomics.wait(cell, 0, 0, (waitNs - 20_000) / 1e6); // wake ~20 µs early …
    while (process.hrtime.bigint() < due) { /* … and spin those last few µs */ }
    parentPort!.postMessage(i);
  }
  parentPort!.close();
});
parentPort!.postMessage('ready');
