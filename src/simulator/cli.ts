/**
 * @module `litemaas sim`: run the simulator from the command line.
 */
import { parseArgs } from 'node:util';
import { startSimulator, type FaultKind } from './server.js';

const HELP = `litemaas sim — OpenAI/vLLM-compatible model simulator

  --port N                 listen port (8000)
  --host H                 listen address (127.0.0.1)
  --served-model-name M    model name(s), comma-separated (llama32-fp8)
  --api-key K              require Authorization: Bearer K
  --ttft-ms N              delay before the first byte
  --itl-ms N               delay between streamed tokens
  --fault-rate R           probability (0..1) of injecting --fault-kind
  --fault-kind K           429 | 500 | 503 | reset | reset-mid | hang
Per request: headers x-sim-ttft-ms, x-sim-itl-ms, x-sim-fault.
`;

export async function simCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' }, host: { type: 'string' }, 'served-model-name': { type: 'string' }, 'api-key': { type: 'string' },
      'ttft-ms': { type: 'string' }, 'itl-ms': { type: 'string' }, 'fault-rate': { type: 'string' }, 'fault-kind': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { process.stdout.write(HELP); return; }
  const n = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const x = Number(v);
    if (!Number.isFinite(x) || x < 0) throw new Error(`--${name} must be a non-negative number`);
    return x;
  };
  const kind = values['fault-kind'];
  if (kind !== undefined && !['429', '500', '503', 'reset', 'reset-mid', 'hang'].includes(kind)) throw new Error('--fault-kind must be one of 429, 500, 503, reset, reset-mid, hang');
  const sim = await startSimulator({
    port: n(values.port, 'port') ?? 8000, host: values.host ?? '127.0.0.1', servedModelName: values['served-model-name'] ?? 'llama32-fp8',
    apiKey: values['api-key'], ttftMs: n(values['ttft-ms'], 'ttft-ms'), itlMs: n(values['itl-ms'], 'itl-ms'),
    faultRate: n(values['fault-rate'], 'fault-rate'), faultKind: kind as FaultKind | undefined,
  });
  process.stdout.write(`simulator listening on ${sim.url} (models: ${values['served-model-name'] ?? 'llama32-fp8'})\n`);
  const stop = () => { void sim.close().then(() => process.exit(0)); };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
