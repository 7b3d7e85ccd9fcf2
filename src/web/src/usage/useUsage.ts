/** @module Usage queries that refetch every 10 s while auto-refresh is on, so the page moves with traffic. */
import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import type { UsageGroupBy, UsageSummary, UsageTimeseries } from '../types';
import { usagePath, type Scope, type UsageFilters } from './filters';

export const REFRESH_MS = 10_000;

export function useUsageSummary(scope: Scope, filters: UsageFilters, groupBy: UsageGroupBy, autoRefresh: boolean, enabled = true) {
  const path = usagePath(scope, 'summary', filters, { groupBy });
  return useQuery({
    queryKey: ['usage', scope, path],
    queryFn: () => api<UsageSummary>('GET', path),
    enabled,
    refetchInterval: autoRefresh ? REFRESH_MS : false,
    placeholderData: (previous) => previous, // keep the old numbers on screen while a new range loads
  });
}

export function useUsageTimeseries(scope: Scope, filters: UsageFilters, autoRefresh: boolean) {
  const path = usagePath(scope, 'timeseries', filters);
  return useQuery({
    queryKey: ['usage', scope, path],
    queryFn: () => api<UsageTimeseries>('GET', path),
    refetchInterval: autoRefresh ? REFRESH_MS : false,
    placeholderData: (previous) => previous,
  });
}
