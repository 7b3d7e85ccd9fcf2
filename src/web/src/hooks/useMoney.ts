/** @module Money formatting bound to the configured currency and the active language. */
import { useCallback } from 'react';
import { useTranslation } from 'react-i18next';
import { formatMoney } from '../format';
import { useConfig } from './useConfig';

export function useMoney(): (value: number | null | undefined) => string {
  const currency = useConfig().data?.currency ?? 'USD';
  const { i18n } = useTranslation();
  // The language is a dependency although unused inside: a switch must give a new function, so memoised children re-render.
  return useCallback((value) => formatMoney(value, currency), [currency, i18n.resolvedLanguage]); // eslint-disable-line react-hooks/exhaustive-deps
}
