/** @module Spend against budgets: the person's own, and each key's that has one. */
import { Card, CardBody, CardTitle, Progress, Stack, StackItem } from '@patternfly/react-core';
import { periodLabels } from '../format';
import { useMoney } from '../hooks/useMoney';
import type { ApiKey, Me } from '../types';

function BudgetBar({ title, spend, max, period }: { title: string; spend: number; max: number; period: string }) {
  const money = useMoney();
  const share = max > 0 ? (spend / max) * 100 : 100;
  return (
    <Progress
      title={title}
      value={Math.min(share, 100)}
      label={`${money(spend)} of ${money(max)} ${periodLabels[period] ?? period}`}
      valueText={`${money(spend)} of ${money(max)}`}
      measureLocation="outside"
      variant={share >= 100 ? 'danger' : share >= 80 ? 'warning' : undefined}
    />
  );
}

export function BudgetCard({ me, apiKeys }: { me: Me | undefined; apiKeys: ApiKey[] | undefined }) {
  const keyed = (apiKeys ?? []).flatMap((key) => (key.maxBudget !== null && key.status === 'active' ? [{ key, max: key.maxBudget }] : []));
  const ownMax = me?.budget.maxBudget ?? null;
  const own = me && ownMax !== null ? { ...me.budget, max: ownMax } : null;
  return (
    <Card isFullHeight>
      <CardTitle>Budgets</CardTitle>
      <CardBody>
        {!own && keyed.length === 0 ? (
          <p className="lm-muted">No budgets are set. Give a key a max budget to cap what it can spend.</p>
        ) : (
          <Stack hasGutter>
            {own && (
              <StackItem>
                <BudgetBar title="Your budget" spend={own.spend} max={own.max} period={own.budgetPeriod} />
              </StackItem>
            )}
            {keyed.map(({ key, max }) => (
              <StackItem key={key.id}>
                <BudgetBar title={`Key ${key.name}`} spend={key.spend} max={max} period={key.budgetPeriod} />
              </StackItem>
            ))}
          </Stack>
        )}
      </CardBody>
    </Card>
  );
}
