/**
 * @module `litemaas sim`: run the simulator from the command line (flags
 * named like vLLM's where vLLM has them), until SIGTERM or SIGINT.
 */
import { parseArgs } from 'node:util';
import { FAULT_KINDS, isFaultKind } from './faults.js';
import { startSimulator } from './server.js';

const HELP = `litemaas sim — OpenAI/vLLM-compatible model simulator

Usage: litemaas sim [options]

  --port N                 listen port (8000)
  --host H                 listen address (127.0.0.1)
  --served-model-name M    model name(s), comma-separated (llama32-fp8)
  --api-key K              require Authorization: Bearer K on /v1/*
  --ttft-ms N              delay before the first byte (0)
  --itl-ms N               delay between streamed tokens (0)
  --fault-rate R           probability 0..1 of injecting --fault-kind (0)
  --fault-kind K           ${FAULT_KINDS.join(' | ')}
  --max-model-len N        context length (8192)
  --embedding-dim N        embedding dimensions (384)
  --no-prompt-tokens-details  no prompt_tokens_details.cached_tokens (on by default,
                           as vLLM with --enable-prompt-tokens-details)
  --sse-line-ending E      lf | crlf: line endings of streamed events (lf)
  --sse-json J             compact | spaced: JSON of streamed events; spaced is
                           Python json.dumps' default (compact)
  -h, --help               this text

Per request: headers x-sim-ttft-ms, x-sim-itl-ms, x-sim-fault,
x-sim-sse-line-ending, x-sim-sse-json.
`;

function number(v: string | undefined, name: string, check: (x: number) => boolean, what: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || !check(x)) throw new Error(`--${name} must be ${what}`);
  return x;
}

const nonNegative = (x: number) => x >= 0;
const positiveInt = (x: number) => Number.isInteger(x) && x >= 1;

export async function simCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      port: { type: 'string' }, host: { type: 'string' }, 'served-model-name': { type: 'string' }, 'api-key': { type: 'string' },
      'ttft-ms': { type: 'string' }, 'itl-ms': { type: 'string' }, 'fault-rate': { type: 'string' }, 'fault-kind': { type: 'string' },
      'max-model-len': { type: 'string' }, 'embedding-dim': { type: 'string' },
      'no-prompt-tokens-details': { type: 'boolean' }, 'sse-line-ending': { type: 'string' }, 'sse-json': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { process.stdout.write(HELP); return; }
  const kind = values['fault-kind'];
  if (kind !== undefined && !isFaultKind(kind)) throw new Error(`--fault-kind must be one of ${FAULT_KINDS.join(', ')}`);
  const faultRate = number(values['fault-rate'], 'fault-rate', (x) => x >= 0 && x <= 1, 'a number from 0 to 1');
  if (faultRate && !kind) throw new Error('--fault-rate needs --fault-kind');
  const servedModelName = values['served-model-name'] ?? 'llama32-fp8';
  const le = values['sse-line-ending'];
  if (le !== undefined && le !== 'lf' && le !== 'crlf') throw new Error('--sse-line-ending must be lf or crlf');
  const sj = values['sse-json'];
  if (sj !== undefined && sj !== 'compact' && sj !== 'spaced') throw new Error('--sse-json must be compact or spaced');

  const sim = await startSimulator({
    port: number(values.port, 'port', (x) => Number.isInteger(x) && x >= 0 && x < 65536, 'a port number') ?? 8000,
    host: values.host ?? '127.0.0.1',
    servedModelName,
    apiKey: values['api-key'],
    ttftMs: number(values['ttft-ms'], 'ttft-ms', nonNegative, 'a non-negative number'),
    itlMs: number(values['itl-ms'], 'itl-ms', nonNegative, 'a non-negative number'),
    faultRate,
    faultKind: kind,
    maxModelLen: number(values['max-model-len'], 'max-model-len', positiveInt, 'a positive integer'),
    embeddingDim: number(values['embedding-dim'], 'embedding-dim', positiveInt, 'a positive integer'),
    promptTokensDetails: !values['no-prompt-tokens-details'],
    sseLineEnding: le,
    sseJson: sj,
  });
  const models = servedModelName.split(',').map((s) => s.trim()).filter(Boolean).join(', ');
  process.stdout.write(`simulator listening on ${sim.url} (models: ${models})\n`);

  const stop = (): void => {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    process.once('SIGTERM', () => process.exit(1)); // a second signal: no more patience
    process.once('SIGINT', () => process.exit(1));
    void sim.close().then(() => {
      // Nothing of ours is left running, so the process ends by itself; the exit is a safety net.
      setTimeout(() => process.exit(0), 1000).unref();
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
