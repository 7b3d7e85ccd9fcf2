/**
 * @module How numbers, money and dates read in the UI. Money uses the currency the admin configured;
 * sums under one unit keep up to six decimals so the cost of a single request stays visible.
 */

const moneyFormats = new Map<string, { large: Intl.NumberFormat; small: Intl.NumberFormat }>();

function moneyFormat(currency: string) {
  let formats = moneyFormats.get(currency);
  if (!formats) {
    let code = currency;
    try {
      new Intl.NumberFormat(undefined, { style: 'currency', currency: code });
    } catch {
      code = 'USD'; // an unknown code must not break every page; settings validation is the server's job
    }
    formats = {
      large: new Intl.NumberFormat(undefined, { style: 'currency', currency: code, minimumFractionDigits: 2, maximumFractionDigits: 2 }),
      small: new Intl.NumberFormat(undefined, { style: 'currency', currency: code, minimumFractionDigits: 2, maximumFractionDigits: 6 }),
    };
    moneyFormats.set(currency, formats);
  }
  return formats;
}

export function formatMoney(value: number | null | undefined, currency: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const formats = moneyFormat(currency);
  return Math.abs(value) >= 1 || value === 0 ? formats.large.format(value) : formats.small.format(value);
}

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

export function formatNumber(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : integer.format(value);
}

export function formatDecimal(value: number): string {
  return decimal.format(value);
}

/** "—" when there is nothing to divide, so an idle range does not claim 0 % or 100 %. */
export function formatPercent(part: number, whole: number): string {
  if (whole <= 0) return '—';
  const share = (part / whole) * 100;
  return `${share === 100 || share === 0 ? share.toFixed(0) : share.toFixed(1)}%`;
}

/** Unset limits are "no limit", not zero. */
export function formatLimit(value: number | null | undefined, unit: string): string {
  return value === null || value === undefined ? `no ${unit} limit` : `${formatNumber(value)} ${unit}`;
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export const periodLabels: Record<string, string> = {
  none: 'total',
  daily: 'per day',
  weekly: 'per week',
  monthly: 'per month',
};

/** Usage days are UTC calendar days (the ledger's `day`), so ranges are computed in UTC too. */
export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function daysAgo(days: number, from = new Date()): string {
  const date = new Date(from.getTime());
  date.setUTCDate(date.getUTCDate() - days);
  return utcDay(date);
}

/** "2025-01-31" → "Jan 31", read as a UTC day so it does not shift a day in western time zones. */
export function formatDay(day: string): string {
  const date = new Date(`${day}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? day : date.toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
}
