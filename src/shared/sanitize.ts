/**
 * @module Cleaning client-supplied strings before they are recorded, used as
 * a metric label or written to a CSV cell. PostgreSQL cannot store NUL, a lone
 * surrogate is not UTF-8, control characters break log lines and CSV rows, and
 * an unbounded string multiplies storage and label cardinality. This runs on
 * the gateway's hot path, so a clean string costs one regex test and comes
 * back as the same string.
 */

/** Bound for ids, model names, error codes: what a label or a cell should ever hold. */
export const MAX_ID_LENGTH = 200;

// C0 controls (NUL included), DEL, or a surrogate that is not half of a pair.
// Without the `u` flag the regex sees UTF-16 code units, which is what lets it find lone halves.
const DIRTY = /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const CONTROLS = /[\u0000-\u001f\u007f]+/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * `s` without C0 controls and DEL, lone surrogates replaced by U+FFFD, cut to
 * `max` UTF-16 units (never between the halves of a pair).
 */
export function sanitize(s: string, max: number = MAX_ID_LENGTH): string {
  if (s.length <= max && !DIRTY.test(s)) return s;
  let out = s.replace(CONTROLS, '').replace(LONE_SURROGATE, '\ufffd');
  if (out.length > max) {
    out = out.slice(0, max);
    const last = out.charCodeAt(out.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) out = out.slice(0, -1); // the pair's other half was cut off
  }
  return out;
}
