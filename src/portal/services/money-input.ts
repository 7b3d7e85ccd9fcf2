/**
 * @module A money amount from a request, as the exact decimal the client
 * wrote. JSON numbers arrive as doubles; `String(n)` gives the shortest
 * decimal that reads back as the same double (`0.1`, `1e-13`), which is what
 * the person typed. Anything finer than the store's 12 decimals is refused:
 * rounding it would store a budget of 0.0000000000001 as 0, which is no
 * budget at all in the other direction.
 */
import { invalid } from '../errors.js';
import { MONEY_LIMIT } from '../schemas.js';

const SCALE = 12;

/** A finite number as a plain decimal string, without exponent and without rounding. */
export function plainDecimal(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`not a finite number: ${n}`);
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(n));
  if (!m) throw new RangeError(`unexpected number form: ${n}`);
  const [, sign, int, frac = '', exp = '0'] = m;
  const digits = int! + frac;
  const point = int!.length + Number(exp);
  const whole = point <= 0 ? '0' : digits.slice(0, point).padEnd(point, '0');
  const rest = point <= 0 ? '0'.repeat(-point) + digits : digits.slice(point);
  const out = (whole.replace(/^0+(?=\d)/, '')) + (/[1-9]/.test(rest) ? '.' + rest.replace(/0+$/, '') : '');
  return sign && out !== '0' ? `-${out}` : out;
}

/** The amount as a decimal string for numeric(28,12), or a 400 naming `field`. */
export function moneyInput(field: string, v: number | string): string {
  const s = typeof v === 'number' ? plainDecimal(v) : v.trim();
  const m = /^(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) throw invalid(field, 'must be a non-negative decimal amount');
  const [, int, frac = ''] = m;
  if (frac.replace(/0+$/, '').length > SCALE) {
    const tiny = /^0+$/.test(int!) && /^0{12}/.test(frac);
    throw invalid(field, tiny ? 'is smaller than the smallest amount stored (0.000000000001): use 0 or a larger amount'
      : `has more than ${SCALE} decimals`);
  }
  if (BigInt(int!) >= BigInt(MONEY_LIMIT)) throw invalid(field, `must be less than ${MONEY_LIMIT}`);
  return s;
}

/** `moneyInput` that lets null and undefined through (a limit left out or lifted). */
export function optionalMoney(field: string, v: number | string | null | undefined): string | null | undefined {
  return v === null || v === undefined ? v : moneyInput(field, v);
}
