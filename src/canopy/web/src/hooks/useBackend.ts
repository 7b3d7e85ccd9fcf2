/** @module The backend's feature flags and per-feature settings, fetched once and shared. */
import { useQuery } from '@tanstack/react-query';
import { getFeatureFlags, getInfo, type FeatureInfo } from '../api';

export function useFeatureFlags() {
  return useQuery({ queryKey: ['feature-flags'], queryFn: getFeatureFlags, staleTime: Infinity });
}

export function useIsEnabled(key: string): boolean {
  return useFeatureFlags().data?.[key] === true;
}

/** The model and token budget of a feature; undefined until known, or when /info is unavailable. */
export function useFeatureInfo(key: string): FeatureInfo | undefined {
  // /info only adds detail, so a failure here is not worth retrying or showing.
  const info = useQuery({ queryKey: ['info'], queryFn: getInfo, staleTime: Infinity, retry: false });
  return info.data?.features?.[key];
}
