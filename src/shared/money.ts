/**
 * @module Exact money. Amounts are BigInt pico-units (1e-12 of the currency):
 * a price per 1M tokens with up to 6 decimals is then an integer per token,
 * so tokens × price is exact. The database keeps numeric(28,12) decimals.
 */
const SCALE = 12;
const ONE = 10n ** BigInt(SCALE);

/** '0.15' → 150000000000n. Accepts numbers (from JSON) and decimal strings. */
export function toPico(v: string | number): bigint {
  const s = typeof v === 'number' ? numberToDecimal(v) : v.trim();
  const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new RangeError(`not a decimal amount: ${s}`);
  const frac = (m[3] ?? '').padEnd(SCALE, '0');
  if (frac.length > SCALE && /[1-9]/.test(frac.slice(SCALE))) throw new RangeError(`more than ${SCALE} decimals: ${s}`);
  const abs = BigInt(m[2] || '0') * ONE + BigInt(frac.slice(0, SCALE) || '0');
  return m[1] ? -abs : abs;
}

function numberToDecimal(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`not a finite amount: ${n}`);
  // toFixed avoids exponent notation; 12 decimals is the store's scale.
  return n.toFixed(SCALE);
}

/** 150000000000n → '0.150000000000' */
export function fromPico(p: bigint): string {
  const neg = p < 0n;
  const a = neg ? -p : p;
  const s = `${a / ONE}.${(a % ONE).toString().padStart(SCALE, '0')}`;
  return neg ? `-${s}` : s;
}

/** For JSON output only: a number rounded to 12 decimals, never summed further. */
export function picoToNumber(p: bigint): number {
  return Number(fromPico(p));
}

/** Price per 1M tokens → pico-units per token (exact when the price has ≤ 6 decimals). */
export function pricePerTokenPico(pricePer1M: string | number): bigint {
  return toPico(pricePer1M) / 1_000_000n;
}

export function costPico(promptTokens: number, completionTokens: number, inPerToken: bigint, outPerToken: bigint): bigint {
  return BigInt(promptTokens) * inPerToken + BigInt(completionTokens) * outPerToken;
}
