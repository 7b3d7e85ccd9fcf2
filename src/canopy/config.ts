/**
 * @module Canopy's configuration: the workshop's Helm values for the
 * backend, as YAML. Validated at start; every message names the bad key, so
 * a typo such as `summarise:` or `max_token:` stops the start instead of
 * silently disabling a feature.
 */
import { ConfigError, readYamlFile, rejectUnknownKeys } from '../shared/yaml-config.js';

export interface ModelFeature {
  enabled: boolean;
  model: string;
  prompt: string;
  maxTokens: number;
  temperature: number;
}
export interface SummarizeFeature extends ModelFeature { promptB: string | null }

export interface CanopyConfig {
  llamaStackUrl: string;
  summarize: SummarizeFeature;
  socraticTutor: ModelFeature;
  /** Listed so the UI can show them as "coming soon"; Canopy here serves only the two chat features. */
  informationSearch: { enabled: boolean; vectorDbId: string | null };
  studentAssistant: { enabled: boolean };
  feedback: boolean;
  abTesting: boolean;
}

export { ConfigError as CanopyConfigError };

const TOP = ['LLAMA_STACK_URL', 'summarize', 'socratic-tutor', 'information-search', 'student-assistant', 'shields', 'feedback', 'ab_testing'];
const MODEL_KEYS = ['enabled', 'model', 'prompt', 'max_tokens', 'temperature'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);


function section(raw: Obj, name: string): Obj {
  const v = raw[name];
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw new ConfigError(`${name}: must be a mapping (e.g. ${name}: {enabled: true, …})`);
  return v;
}

function bool(o: Obj, k: string, where: string): boolean {
  const v = o[k];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new ConfigError(`${where}${k}: must be true or false`);
  return v;
}

function modelFeature(raw: Obj, name: string, extra: string[] = []): ModelFeature & { rest: Obj } {
  const o = section(raw, name);
  const at = `${name}.`;
  rejectUnknownKeys(o, [...MODEL_KEYS, ...extra], at);
  const enabled = bool(o, 'enabled', at);
  const str = (k: string) => {
    const v = o[k];
    if (v === undefined || v === null) {
      if (enabled) throw new ConfigError(`${at}${k}: required when ${name} is enabled`);
      return '';
    }
    if (typeof v !== 'string' || v.trim() === '') throw new ConfigError(`${at}${k}: must be a non-empty string`);
    return v;
  };
  const maxTokens = o.max_tokens === undefined ? 4096 : o.max_tokens;
  if (!Number.isInteger(maxTokens) || (maxTokens as number) < 1) throw new ConfigError(`${at}max_tokens: must be a positive integer`);
  const temperature = o.temperature === undefined ? 0.7 : o.temperature;
  if (typeof temperature !== 'number' || temperature < 0 || temperature > 2) throw new ConfigError(`${at}temperature: must be a number from 0 to 2`);
  return { enabled, model: str('model'), prompt: str('prompt'), maxTokens: maxTokens as number, temperature, rest: o };
}

/** `env.LLAMA_STACK_URL` overrides the file, as the Helm chart's environment does. */
export function canopyConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): CanopyConfig {
  if (!isObj(raw)) throw new ConfigError('the config must be a mapping (LLAMA_STACK_URL, summarize, …)');
  rejectUnknownKeys(raw, TOP, '');
  const url = env.LLAMA_STACK_URL || raw.LLAMA_STACK_URL;
  if (typeof url !== 'string' || url === '') throw new ConfigError('LLAMA_STACK_URL: required, the Llama Stack base URL (e.g. http://llama-stack:8321)');
  try { const u = new URL(url); if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(); } catch { throw new ConfigError(`LLAMA_STACK_URL: '${url}' is not an http(s) URL`); }

  const s = modelFeature(raw, 'summarize', ['prompt_b']);
  const promptB = s.rest.prompt_b;
  if (promptB !== undefined && promptB !== null && (typeof promptB !== 'string' || promptB.trim() === '')) throw new ConfigError('summarize.prompt_b: must be a non-empty string');
  const { rest: _r1, ...summarizeBase } = s;
  const t = modelFeature(raw, 'socratic-tutor');
  const { rest: _r2, ...tutor } = t;

  const search = section(raw, 'information-search');
  rejectUnknownKeys(search, ['enabled', 'vector_db_id', 'model', 'prompt', 'max_tokens', 'temperature'], 'information-search.');
  const assistant = section(raw, 'student-assistant');
  rejectUnknownKeys(assistant, ['enabled', 'model', 'prompt', 'max_tokens', 'temperature', 'tools'], 'student-assistant.');
  const fb = section(raw, 'feedback');
  rejectUnknownKeys(fb, ['enabled'], 'feedback.');
  const ab = section(raw, 'ab_testing');
  rejectUnknownKeys(ab, ['enabled'], 'ab_testing.');
  const abTesting = bool(ab, 'enabled', 'ab_testing.');
  if (abTesting && summarizeBase.enabled && typeof promptB !== 'string') throw new ConfigError('summarize.prompt_b: required when ab_testing is enabled (the B side of the test)');

  return {
    llamaStackUrl: url.replace(/\/+$/, ''),
    summarize: { ...summarizeBase, promptB: typeof promptB === 'string' ? promptB : null },
    socraticTutor: tutor,
    informationSearch: { enabled: bool(search, 'enabled', 'information-search.'), vectorDbId: typeof search.vector_db_id === 'string' ? search.vector_db_id : null },
    studentAssistant: { enabled: bool(assistant, 'enabled', 'student-assistant.') },
    feedback: bool(fb, 'enabled', 'feedback.'),
    abTesting,
  };
}

export function loadCanopyConfig(path: string, env: NodeJS.ProcessEnv = process.env): CanopyConfig {
  return canopyConfig(readYamlFile(path), env);
}
