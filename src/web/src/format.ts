/**
 * @module How numbers, money and dates read in the UI, in the active language's conventions (Intl
 * with the i18n language). Money uses the currency the admin configured; sums under one unit keep
 * up to six decimals so the cost of a single request stays visible.
 */
import i18n, { currentLocale } from './i18n';

/** Intl formatters are costly to build: one per locale and options, kept. */
const cache = new Map<string, Intl.NumberFormat>();
function numberFormat(options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const locale = currentLocale();
  const id = `${locale}|${JSON.stringify(options)}`;
  let format = cache.get(id);
  if (!format) {
    format = new Intl.NumberFormat(locale, options);
    cache.set(id, format);
  }
  return format;
}

function moneyFormat(currency: string) {
  let code = currency;
  try {
    numberFormat({ style: 'currency', currency: code });
  } catch {
    code = 'USD'; // an unknown code must not break every page; settings validation is the server's job
  }
  return {
    large: numberFormat({ style: 'currency', currency: code, minimumFractionDigits: 2, maximumFractionDigits: 2 }),
    small: numberFormat({ style: 'currency', currency: code, minimumFractionDigits: 2, maximumFractionDigits: 6 }),
  };
}

export function formatMoney(value: number | null | undefined, currency: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const formats = moneyFormat(currency);
  return Math.abs(value) >= 1 || value === 0 ? formats.large.format(value) : formats.small.format(value);
}

export function formatNumber(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : numberFormat({ maximumFractionDigits: 0 }).format(value);
}

export function formatDecimal(value: number): string {
  return numberFormat({ maximumFractionDigits: 1 }).format(value);
}

/** "—" when there is nothing to divide, so an idle range does not claim 0 % or 100 %. */
export function formatPercent(part: number, whole: number): string {
  if (whole <= 0) return '—';
  const share = part / whole;
  return numberFormat({ style: 'percent', maximumFractionDigits: share === 1 || share === 0 ? 0 : 1, minimumFractionDigits: share === 1 || share === 0 ? 0 : 1 }).format(share);
}

/** Unset limits are "no limit", not zero. */
export function formatLimit(value: number | null | undefined, unit: string): string {
  return value === null || value === undefined ? i18n.t('format.noLimit', { unit }) : `${formatNumber(value)} ${unit}`;
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleDateString(currentLocale(), { year: 'numeric', month: 'short', day: 'numeric' });
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(currentLocale(), { dateStyle: 'medium', timeStyle: 'short' });
}

const periods = new Set(['none', 'daily', 'weekly', 'monthly']);

/** How a budget period reads after an amount: "total", "per day"… (an unknown period as it is). */
export function periodLabel(period: string): string {
  return periods.has(period) ? i18n.t(`format.period.${period}`) : period;
}

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
  return Number.isNaN(date.getTime()) ? day : date.toLocaleDateString(currentLocale(), { month: 'short', day: 'numeric', timeZone: 'UTC' });
}
