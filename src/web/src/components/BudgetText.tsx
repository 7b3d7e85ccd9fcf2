/** @module "$0.0012 of $10.00 per month", or the spend alone when there is no budget. */
import { periodLabels } from '../format';
import { useMoney } from '../hooks/useMoney';
import type { BudgetPeriod } from '../types';

export function BudgetText({ spend, maxBudget, period }: { spend: number; maxBudget: number | null; period: BudgetPeriod }) {
  const money = useMoney();
  if (maxBudget === null) return <>{money(spend)} spent · no budget</>;
  return (
    <>
      {money(spend)} of {money(maxBudget)} {periodLabels[period] ?? period}
    </>
  );
}
