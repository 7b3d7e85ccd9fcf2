/** @module "$0.0012 of $10.00 per month", or the spend alone when there is no budget. */
import { periodLabel } from '../format';
import { useMoney } from '../hooks/useMoney';
import type { BudgetPeriod } from '../types';
import { useTranslation } from 'react-i18next';

export function BudgetText({ spend, maxBudget, period }: { spend: number; maxBudget: number | null; period: BudgetPeriod }) {
  const { t } = useTranslation();
  const money = useMoney();
  if (maxBudget === null) return <>{t('budget.spentNoBudget', { spend: money(spend) })}</>;
  return <>{t('budget.spendOfBudget', { spend: money(spend), max: money(maxBudget), period: periodLabel(period) })}</>;
}
