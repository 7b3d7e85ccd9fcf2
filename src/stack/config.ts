/**
 * @module The stack's configuration, in the workshop's Helm form:
 * `models: [{name, url, token?}]`. A missing token comes from the
 * `API_TOKEN` environment variable (where the workshop's Sealed Secret puts
 * it), so the key never sits in git. Each entry becomes provider
 * `vllm-<name>` and model id `vllm-<name>/<name>`, as Llama Stack names them.
 */
import { ConfigError, readYamlFile, rejectUnknownKeys } from '../shared/yaml-config.js';

export interface StackModel {
  /** What clients ask for: `vllm-<name>/<name>`. */
  id: string;
  providerId: string;
  /** What the upstream is asked for. */
  name: string;
  url: string;
  token: string | null;
  /** Where the token came from, for the start-up log (never the token itself). */
  tokenSource: 'config' | 'API_TOKEN' | 'none';
}

export interface StackConfig { port: number; host: string; models: StackModel[] }

export { ConfigError as StackConfigError };

const TOP = ['models', 'port', 'host'];
const ENTRY = ['name', 'url', 'token'];


/** Validates a parsed config; `env` supplies API_TOKEN. Messages name the offending key. */
export function stackConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): StackConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('the config must be a mapping with a `models:` list');
  const r = raw as Record<string, unknown>;
  rejectUnknownKeys(r, TOP, '');
  if (!Array.isArray(r.models) || r.models.length === 0) throw new ConfigError('models: a non-empty list of {name, url, token} is required');
  const port = r.port === undefined ? Number(env.STACK_PORT ?? 8321) : r.port;
  if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535) throw new ConfigError('port: must be an integer from 0 to 65535');
  const host = r.host === undefined ? (env.HOST || '0.0.0.0') : r.host;
  if (typeof host !== 'string') throw new ConfigError('host: must be a string');
  const seen = new Set<string>();
  const models = r.models.map((m, i): StackModel => {
    const at = `models[${i}].`;
    if (!m || typeof m !== 'object' || Array.isArray(m)) throw new ConfigError(`models[${i}]: must be a mapping {name, url, token}`);
    const e = m as Record<string, unknown>;
    rejectUnknownKeys(e, ENTRY, at);
    if (typeof e.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._:-]*$/.test(e.name)) throw new ConfigError(`${at}name: required, letters, digits and . _ : - (e.g. Llama-3.2-3B-Instruct-FP8)`);
    if (typeof e.url !== 'string') throw new ConfigError(`${at}url: required, the model server's OpenAI-compatible base URL ending in /v1`);
    let u: URL;
    try { u = new URL(e.url); } catch { throw new ConfigError(`${at}url: '${e.url}' is not a URL`); }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(`${at}url: must be http or https`);
    if (e.token !== undefined && e.token !== null && typeof e.token !== 'string') throw new ConfigError(`${at}token: must be a string`);
    const id = `vllm-${e.name}/${e.name}`;
    if (seen.has(id)) throw new ConfigError(`${at}name: '${e.name}' is listed twice`);
    seen.add(id);
    const fromConfig = typeof e.token === 'string' && e.token !== '' ? e.token : null;
    const fromEnv = env.API_TOKEN ? env.API_TOKEN : null;
    return {
      id, providerId: `vllm-${e.name}`, name: e.name, url: e.url.replace(/\/+$/, ''),
      token: fromConfig ?? fromEnv, tokenSource: fromConfig ? 'config' : fromEnv ? 'API_TOKEN' : 'none',
    };
  });
  return { port: port as number, host, models };
}

export function loadStackConfig(path: string, env: NodeJS.ProcessEnv = process.env): StackConfig {
  return stackConfig(readYamlFile(path), env);
}
