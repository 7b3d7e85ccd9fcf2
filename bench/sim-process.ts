/**
 * @module The upstream simulator as its own process for the bench (independent
 * of the CLI). Usage: node dist/bench/sim-process.js <port> [ttftMs] [itlMs]
 */
import { startSimulator } from '../src/simulator/server.js';

const [port, ttft, itl] = process.argv.slice(2).map((a) => (a === undefined || a === '' ? undefined : Number(a)));
const sim = await startSimulator({
  port: port!, host: '127.0.0.1', servedModelName: 'llama32-fp8', quiet: true,
  ...(ttft !== undefined ? { ttftMs: ttft } : {}), ...(itl !== undefined ? { itlMs: itl } : {}),
});
process.stdout.write(`simulator listening on ${sim.url}\n`);
const stop = () => { void sim.close().then(() => process.exit(0)); };
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
