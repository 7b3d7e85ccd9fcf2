/**
 * @module The Usage page's filters (date range, models, keys, user) and how they become query
 * parameters for /usage/* or /admin/usage/* (summary, timeseries, export, and requests: one line per request).
 */
import { query } from '../api';
import { daysAgo, utcDay } from '../format';
import type { UsageGroupBy } from '../types';

export type Preset = '7' | '30' | '90' | 'custom';
/** Whose usage: mine, everyone's (admins), or a team's (its owners and admins). */
export type Scope = 'me' | 'admin' | `team:${string}`;

export interface UsageFilters {
  preset: Preset;
  customFrom: string;
  customTo: string;
  models: string[];
  keys: string[];
  userId: string;
}

/** A function, not a constant: "today" is whenever the page opens. */
export function initialFilters(): UsageFilters {
  return { preset: '30', customFrom: daysAgo(29), customTo: utcDay(new Date()), models: [], keys: [], userId: '' };
}

export function range(filters: UsageFilters): { from: string; to: string } {
  if (filters.preset === 'custom') return { from: filters.customFrom, to: filters.customTo };
  return { from: daysAgo(Number(filters.preset) - 1), to: utcDay(new Date()) };
}

export function usagePath(scope: Scope, what: 'summary' | 'timeseries' | 'export' | 'requests', filters: UsageFilters, extra: { groupBy?: UsageGroupBy; format?: 'csv' | 'json' } = {}): string {
  const { from, to } = range(filters);
  const base = scope === 'admin' ? '/admin/usage' : scope.startsWith('team:') ? `/teams/${encodeURIComponent(scope.slice(5))}/usage` : '/usage';
  return `${base}/${what}${query({
    format: extra.format,
    from,
    to,
    groupBy: extra.groupBy,
    models: filters.models,
    keys: filters.keys,
    userId: scope === 'admin' ? filters.userId : undefined,
  })}`;
}
