/** @module Spend against budgets: the person's own, and each key's that has one. */
import { Card, CardBody, CardTitle, Progress, Stack, StackItem } from '@patternfly/react-core';
import { periodLabel } from '../format';
import { useMoney } from '../hooks/useMoney';
import type { ApiKey, Me } from '../types';
import { useTranslation } from 'react-i18next';

function BudgetBar({ title, spend, max, period }: { title: string; spend: number; max: number; period: string }) {
  const { t } = useTranslation();
  const money = useMoney();
  const share = max > 0 ? (spend / max) * 100 : 100;
  return (
    <Progress
      title={title}
      value={Math.min(share, 100)}
      label={t('budget.spendOfBudget', { spend: money(spend), max: money(max), period: periodLabel(period) })}
      valueText={t('usage.budget.spendOf', { spend: money(spend), max: money(max) })}
      measureLocation="outside"
      variant={share >= 100 ? 'danger' : share >= 80 ? 'warning' : undefined}
    />
  );
}

export function BudgetCard({ me, apiKeys }: { me: Me | undefined; apiKeys: ApiKey[] | undefined }) {
  const { t } = useTranslation();
  const keyed = (apiKeys ?? []).flatMap((key) => (key.maxBudget !== null && key.status === 'active' ? [{ key, max: key.maxBudget }] : []));
  const ownMax = me?.budget.maxBudget ?? null;
  const own = me && ownMax !== null ? { ...me.budget, max: ownMax } : null;
  return (
    <Card isFullHeight>
      <CardTitle>{t('usage.budget.title')}</CardTitle>
      <CardBody>
        {!own && keyed.length === 0 ? (
          <p className="lm-muted">{t('usage.budget.none')}</p>
        ) : (
          <Stack hasGutter>
            {own && (
              <StackItem>
                <BudgetBar title={t('usage.budget.yours')} spend={own.spend} max={own.max} period={own.budgetPeriod} />
              </StackItem>
            )}
            {keyed.map(({ key, max }) => (
              <StackItem key={key.id}>
                <BudgetBar title={t('usage.budget.key', { name: key.name })} spend={key.spend} max={max} period={key.budgetPeriod} />
              </StackItem>
            ))}
          </Stack>
        )}
      </CardBody>
    </Card>
  );
}
