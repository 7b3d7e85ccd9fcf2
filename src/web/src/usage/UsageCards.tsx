/** @module The four headline numbers: requests, tokens, cost, success rate. */
import type { ReactNode } from 'react';
import { Card, CardBody, CardTitle, Grid, GridItem, Skeleton } from '@patternfly/react-core';
import { formatNumber, formatPercent } from '../format';
import { useMoney } from '../hooks/useMoney';
import type { UsageTotals } from '../types';
import { useTranslation } from 'react-i18next';

function Metric({ title, testId, value, detail }: { title: string; testId: string; value: ReactNode; detail: ReactNode }) {
  return (
    <GridItem>
      <Card isCompact isFullHeight>
        <CardTitle>{title}</CardTitle>
        <CardBody>
          <div className="lm-big-number" data-testid={testId}>
            {value}
          </div>
          <div className="lm-muted">{detail}</div>
        </CardBody>
      </Card>
    </GridItem>
  );
}

export function UsageCards({ totals }: { totals: UsageTotals | undefined }) {
  const { t } = useTranslation();
  const money = useMoney();
  if (!totals) {
    return (
      <Grid hasGutter sm={6} xl={3}>
        {[t('usage.metric.requests'), t('usage.metric.tokens'), t('usage.metric.cost'), t('usage.cards.successRate')].map((title) => (
          <GridItem key={title}>
            <Card isCompact>
              <CardTitle>{title}</CardTitle>
              <CardBody>
                <Skeleton height="2.5em" screenreaderText={t('usage.cards.loading', { metric: title })} />
              </CardBody>
            </Card>
          </GridItem>
        ))}
      </Grid>
    );
  }
  const attempts = totals.requests + totals.errors;
  return (
    <Grid hasGutter sm={6} xl={3}>
      <Metric
        title={t('usage.metric.requests')}
        testId="usage-requests"
        value={formatNumber(totals.requests)}
        detail={totals.errors > 0 ? t('usage.cards.answeredRefused', { errors: formatNumber(totals.errors) }) : t('usage.cards.answered')}
      />
      <Metric
        title={t('usage.metric.tokens')}
        testId="usage-tokens"
        value={formatNumber(totals.totalTokens)}
        detail={t('usage.cards.tokensDetail', { prompt: formatNumber(totals.promptTokens), completion: formatNumber(totals.completionTokens) })}
      />
      <Metric title={t('usage.metric.cost')} testId="usage-cost" value={money(totals.cost)} detail={t('usage.cards.inRange')} />
      <Metric
        title={t('usage.cards.successRate')}
        testId="usage-success-rate"
        value={formatPercent(totals.requests, attempts)}
        detail={attempts > 0 ? t('usage.cards.ofRequests', { requests: formatNumber(totals.requests), attempts: formatNumber(attempts) }) : t('usage.cards.noRequests')}
      />
    </Grid>
  );
}
