/** @module The four headline numbers: requests, tokens, cost, success rate. */
import type { ReactNode } from 'react';
import { Card, CardBody, CardTitle, Grid, GridItem, Skeleton } from '@patternfly/react-core';
import { formatNumber, formatPercent } from '../format';
import { useMoney } from '../hooks/useMoney';
import type { UsageTotals } from '../types';

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
  const money = useMoney();
  if (!totals) {
    return (
      <Grid hasGutter sm={6} xl={3}>
        {['Requests', 'Tokens', 'Cost', 'Success rate'].map((title) => (
          <GridItem key={title}>
            <Card isCompact>
              <CardTitle>{title}</CardTitle>
              <CardBody>
                <Skeleton height="2.5em" screenreaderText={`Loading ${title.toLowerCase()}`} />
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
        title="Requests"
        testId="usage-requests"
        value={formatNumber(totals.requests)}
        detail={totals.errors > 0 ? `answered · ${formatNumber(totals.errors)} refused or failed` : 'answered'}
      />
      <Metric
        title="Tokens"
        testId="usage-tokens"
        value={formatNumber(totals.totalTokens)}
        detail={`${formatNumber(totals.promptTokens)} prompt · ${formatNumber(totals.completionTokens)} completion`}
      />
      <Metric title="Cost" testId="usage-cost" value={money(totals.cost)} detail="in the selected range" />
      <Metric
        title="Success rate"
        testId="usage-success-rate"
        value={formatPercent(totals.requests, attempts)}
        detail={attempts > 0 ? `${formatNumber(totals.requests)} of ${formatNumber(attempts)} requests` : 'no requests yet'}
      />
    </Grid>
  );
}
