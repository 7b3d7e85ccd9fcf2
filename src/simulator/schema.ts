/**
 * @module A deterministic value that satisfies a JSON Schema: what the
 * simulator answers for `response_format: json_schema` and for tool-call
 * arguments. Objects get every declared property (so every required one);
 * `enum`/`const` give their first value; `anyOf`/`oneOf` their first branch;
 * `allOf` merged; local `$ref`s (`#/$defs/…`, `#/definitions/…`) followed;
 * numbers respect minimum/maximum (exclusive too) and multipleOf; strings
 * minLength/maxLength and the common formats; arrays minItems/maxItems and
 * prefixItems. `pattern` is not honoured.
 */

type Schema = Record<string, unknown>;
const isObj = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);
const MAX_DEPTH = 12;

const FORMATS: Record<string, string> = {
  'date-time': '2025-01-01T00:00:00Z', date: '2025-01-01', time: '00:00:00Z', email: 'user@example.com',
  uri: 'https://example.com/', url: 'https://example.com/', uuid: '00000000-0000-4000-8000-000000000000',
  hostname: 'example.com', ipv4: '192.0.2.1', ipv6: '2001:db8::1', duration: 'P1D',
};

function resolve(s: Schema, root: Schema): Schema {
  let cur = s;
  for (let hops = 0; typeof cur.$ref === 'string' && hops < 32; hops++) {
    const ref = cur.$ref as string;
    if (!ref.startsWith('#')) return {};
    let target: unknown = root;
    for (const seg of ref.slice(1).split('/').filter(Boolean)) {
      target = isObj(target) ? target[seg.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
    }
    if (!isObj(target)) return {};
    const { $ref: _ignored, ...rest } = cur;
    cur = { ...target, ...rest };
  }
  return cur;
}

function typeOf(s: Schema): string | undefined {
  const t = s.type;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return (t.find((x) => x !== 'null') ?? t[0]) as string | undefined;
  if (isObj(s.properties) || Array.isArray(s.required)) return 'object';
  if (s.items !== undefined || Array.isArray(s.prefixItems)) return 'array';
  return undefined;
}

function num(s: Schema, integer: boolean): number {
  const min = typeof s.minimum === 'number' ? s.minimum : undefined;
  const max = typeof s.maximum === 'number' ? s.maximum : undefined;
  const xmin = typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum : undefined;
  const xmax = typeof s.exclusiveMaximum === 'number' ? s.exclusiveMaximum : undefined;
  const step = typeof s.multipleOf === 'number' && s.multipleOf > 0 ? s.multipleOf : integer ? 1 : undefined;
  let v = min ?? xmin ?? (max !== undefined || xmax !== undefined ? Math.min(max ?? Infinity, xmax ?? Infinity) - 1 : 1);
  if (step) {
    v = Math.ceil(v / step) * step;
    if (xmin !== undefined && v <= xmin) v += step;
  } else if (xmin !== undefined && v <= xmin) {
    v = xmin + (xmax !== undefined ? (xmax - xmin) / 2 : 1);
  }
  if (integer) v = Math.ceil(v);
  return Object.is(v, -0) ? 0 : v;
}

function text(s: Schema, hint: string): string {
  if (typeof s.format === 'string' && FORMATS[s.format]) return FORMATS[s.format]!;
  const min = typeof s.minLength === 'number' ? s.minLength : 0;
  const max = typeof s.maxLength === 'number' ? s.maxLength : Infinity;
  let v = hint || 'value';
  while (v.length < min) v += ` ${hint || 'value'}`;
  if (v.length > max) v = v.slice(0, max);
  if (v.length < min) v = v.padEnd(min, 'x');
  return v;
}

function gen(raw: unknown, root: Schema, hint: string, depth: number): unknown {
  if (raw === true || raw === undefined) return hint || 'value';
  if (!isObj(raw)) return null;
  const s = resolve(raw, root);
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  if (Array.isArray(s.allOf) && s.allOf.length > 0) {
    const merged: Schema = { ...s, allOf: undefined };
    for (const part of s.allOf) {
      if (!isObj(part)) continue;
      const p = resolve(part, root);
      merged.properties = { ...(isObj(merged.properties) ? merged.properties : {}), ...(isObj(p.properties) ? p.properties : {}) };
      merged.required = [...(Array.isArray(merged.required) ? merged.required : []), ...(Array.isArray(p.required) ? p.required : [])];
      for (const [k, v] of Object.entries(p)) if (!(k in merged) || merged[k] === undefined) merged[k] = v;
    }
    delete merged.allOf;
    return gen(merged, root, hint, depth);
  }
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = s[key];
    if (Array.isArray(options) && options.length > 0) {
      const pick = options.find((o) => !(isObj(o) && o.type === 'null')) ?? options[0];
      const { [key]: _drop, ...rest } = s;
      return gen(isObj(pick) ? { ...rest, ...pick } : pick, root, hint, depth);
    }
  }
  switch (typeOf(s)) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const props = isObj(s.properties) ? s.properties : {};
      const required = new Set(Array.isArray(s.required) ? s.required.filter((x): x is string => typeof x === 'string') : []);
      for (const [k, v] of Object.entries(props)) {
        if (depth >= MAX_DEPTH && !required.has(k)) continue;
        out[k] = gen(v, root, k, depth + 1);
      }
      for (const k of required) if (!(k in out)) out[k] = gen(isObj(s.additionalProperties) ? s.additionalProperties : {}, root, k, depth + 1);
      const minP = typeof s.minProperties === 'number' ? s.minProperties : 0;
      for (let i = 0; Object.keys(out).length < minP; i++) out[`key${i}`] = gen(isObj(s.additionalProperties) ? s.additionalProperties : {}, root, `key${i}`, depth + 1);
      return out;
    }
    case 'array': {
      const prefix = Array.isArray(s.prefixItems) ? s.prefixItems : [];
      const min = typeof s.minItems === 'number' ? s.minItems : 0;
      const max = typeof s.maxItems === 'number' ? s.maxItems : Infinity;
      const n = Math.min(max, Math.max(min, prefix.length, depth >= MAX_DEPTH ? 0 : 1));
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(gen(i < prefix.length ? prefix[i] : s.items, root, hint ? `${hint} ${i + 1}` : `item ${i + 1}`, depth + 1));
      if (s.uniqueItems === true) return out.filter((x, i) => out.findIndex((y) => JSON.stringify(y) === JSON.stringify(x)) === i);
      return out;
    }
    case 'string': return text(s, hint);
    case 'integer': return num(s, true);
    case 'number': return num(s, false);
    case 'boolean': return true;
    case 'null': return null;
    default: return hint || 'value';
  }
}

/** A value valid against `schema` (the root for local `$ref`s). */
export function valueFor(schema: unknown): unknown {
  return gen(schema, isObj(schema) ? schema : {}, '', 0);
}
