/**
 * @module JSON as Python's `json.dumps` writes it by default: `", "` and
 * `": "` separators and, with `ascii`, every non-ASCII character escaped as
 * `\uXXXX` (ensure_ascii). Used for the `spaced` SSE framing and for the
 * generated tool arguments and JSON outputs (without `ascii`, as vLLM's tool
 * parsers write them).
 */

function str(s: string, ascii: boolean): string {
  const j = JSON.stringify(s);
  return ascii ? j.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : j;
}

export function pyJson(v: unknown, ascii = false): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return str(v, ascii);
  if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return `[${v.map((x) => pyJson(x, ascii)).join(', ')}]`;
  if (typeof v === 'object') {
    const parts: string[] = [];
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== undefined) parts.push(`${str(k, ascii)}: ${pyJson(x, ascii)}`);
    return `{${parts.join(', ')}}`;
  }
  return 'null';
}
