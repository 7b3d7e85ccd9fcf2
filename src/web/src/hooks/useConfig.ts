/** @module The public portal configuration: gateway URL, currency, sign-in options. Fetched once. */
import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import type { Config } from '../types';

export function useConfig() {
  return useQuery({
    queryKey: ['config'],
    queryFn: () => api<Config>('GET', '/config'),
    staleTime: Infinity,
  });
}
