/** @module Money formatting bound to the configured currency. */
import { useCallback } from 'react';
import { formatMoney } from '../format';
import { useConfig } from './useConfig';

export function useMoney(): (value: number | null | undefined) => string {
  const currency = useConfig().data?.currency ?? 'USD';
  return useCallback((value) => formatMoney(value, currency), [currency]);
}
