/** @module How requests and cost split across models (from /usage/summary?groupBy=model). */
import { useState } from 'react';
import { Card, CardBody, CardHeader, CardTitle, ToggleGroup, ToggleGroupItem } from '@patternfly/react-core';
import { ChartDonut, ChartThemeColor } from '@patternfly/react-charts/victory';
import { formatNumber } from '../format';
import { useMoney } from '../hooks/useMoney';
import { useWidth } from '../hooks/useWidth';
import type { UsageRow } from '../types';
import { useTranslation } from 'react-i18next';

type Metric = 'requests' | 'tokens' | 'cost';

export function ByModelChart({ rows }: { rows: UsageRow[] }) {
  const { t } = useTranslation();
  const [metric, setMetric] = useState<Metric>('requests');
  const money = useMoney();
  const { ref, width } = useWidth<HTMLDivElement>(400);
  const value = (row: UsageRow) => (metric === 'requests' ? row.requests : metric === 'tokens' ? row.totalTokens : row.cost);
  const format = (n: number) => (metric === 'cost' ? money(n) : formatNumber(n));
  const data = rows.filter((row) => value(row) > 0).map((row) => ({ x: row.modelId ?? t('usage.unknownModel'), y: value(row) }));
  const total = data.reduce((sum, d) => sum + d.y, 0);
  const narrow = width < 480;
  const height = narrow ? 320 : 240;

  return (
    <Card isFullHeight>
      <CardHeader
        actions={{
          actions: (
            <ToggleGroup aria-label={t('usage.byModel.metric')} isCompact>
              <ToggleGroupItem text={t('usage.metric.requests')} isSelected={metric === 'requests'} onChange={() => setMetric('requests')} />
              <ToggleGroupItem text={t('usage.metric.tokens')} isSelected={metric === 'tokens'} onChange={() => setMetric('tokens')} />
              <ToggleGroupItem text={t('usage.metric.cost')} isSelected={metric === 'cost'} onChange={() => setMetric('cost')} />
            </ToggleGroup>
          ),
          hasNoOffset: true,
        }}
      >
        <CardTitle>{t('usage.byModel.title')}</CardTitle>
      </CardHeader>
      <CardBody>
        <div ref={ref} className="lm-chart" style={{ height }}>
          {data.length === 0 ? (
            <p className="lm-muted">{t('usage.nothing')}</p>
          ) : (
            <ChartDonut
              ariaTitle={t('usage.byModel.ariaTitle', { metric: t(`usage.metric.${metric}`) })}
              width={width}
              height={height}
              data={data}
              labels={({ datum }: { datum: { x: string; y: number } }) => `${datum.x}: ${format(datum.y)}`}
              legendData={data.map((d) => ({ name: `${d.x}: ${format(d.y)}` }))}
              legendOrientation="vertical"
              legendPosition={narrow ? 'bottom' : 'right'}
              padding={narrow ? { top: 10, bottom: 110, left: 10, right: 10 } : { top: 20, bottom: 20, left: 20, right: Math.min(260, width / 2) }}
              title={format(total)}
              subTitle={t(`usage.metric.${metric}`)}
              themeColor={ChartThemeColor.multiOrdered}
            />
          )}
        </div>
      </CardBody>
    </Card>
  );
}
