/**
 * @module What the YAML-configured pieces (stack, Canopy) share: reading
 * the file, and refusing keys they do not know — so a typo stops the start
 * with a message that names it instead of silently meaning nothing.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export class ConfigError extends Error {}

export function rejectUnknownKeys(o: Record<string, unknown>, known: readonly string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw new ConfigError(`${where}${k}: unknown key (expected one of ${known.join(', ')})`);
  }
}

export function readYamlFile(path: string): unknown {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (err) { throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`); }
  try { return parse(text); } catch (err) { throw new ConfigError(`${path} is not valid YAML: ${(err as Error).message}`); }
}
