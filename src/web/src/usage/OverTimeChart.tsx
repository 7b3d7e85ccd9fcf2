/** @module Requests, tokens or cost per day (from /usage/timeseries), as stacked bars. */
import { useState } from 'react';
import { Card, CardBody, CardHeader, CardTitle, ToggleGroup, ToggleGroupItem } from '@patternfly/react-core';
import { Chart, ChartAxis, ChartBar, ChartStack, ChartVoronoiContainer } from '@patternfly/react-charts/victory';
import { formatDay, formatNumber } from '../format';
import { useMoney } from '../hooks/useMoney';
import { useWidth } from '../hooks/useWidth';
import type { UsageTimeseries } from '../types';
import { useTranslation } from 'react-i18next';

type Metric = 'requests' | 'tokens' | 'cost';
type Point = UsageTimeseries['points'][number];

// Chart palette tokens, with their values as fallbacks; failures in red so they never read as success.
const colors = {
  blue: 'var(--pf-t--chart--color--blue--200, #0066cc)',
  red: 'var(--pf-t--chart--color--red-orange--300, #b1380b)',
  purple: 'var(--pf-t--chart--color--purple--300, #3d2785)',
  green: 'var(--pf-t--chart--color--green--300, #3d7317)',
};

/** `name` is the series' translation key. */
const series: Record<Metric, { name: string; color: string; value: (p: Point) => number }[]> = {
  requests: [
    { name: 'usage.series.answered', color: colors.blue, value: (p) => p.requests },
    { name: 'usage.series.refused', color: colors.red, value: (p) => p.errors },
  ],
  tokens: [
    { name: 'usage.series.prompt', color: colors.blue, value: (p) => p.promptTokens },
    { name: 'usage.series.completion', color: colors.purple, value: (p) => p.completionTokens },
  ],
  cost: [{ name: 'usage.series.cost', color: colors.green, value: (p) => p.cost }],
};

/** Whole-number ticks for counts (the default ticks repeat "1, 1, 2, 2" when the largest bar is small). */
function countTicks(values: number[]): number[] | undefined {
  const max = Math.max(0, ...values);
  if (max === 0) return undefined;
  const step = Math.max(1, Math.ceil(max / 5));
  const ticks: number[] = [];
  for (let t = step; t <= max + step - 1; t += step) ticks.push(t);
  return ticks;
}

export function OverTimeChart({ data }: { data: UsageTimeseries | undefined }) {
  const { t } = useTranslation();
  const [metric, setMetric] = useState<Metric>('requests');
  const money = useMoney();
  const { ref, width } = useWidth<HTMLDivElement>();
  const points = data?.points ?? [];
  const format = (value: number) => (metric === 'cost' ? money(value) : formatNumber(value));
  const height = 260;

  return (
    <Card isFullHeight>
      <CardHeader
        actions={{
          actions: (
            <ToggleGroup aria-label={t('usage.overTime.metric')} isCompact>
              <ToggleGroupItem text={t('usage.metric.requests')} isSelected={metric === 'requests'} onChange={() => setMetric('requests')} />
              <ToggleGroupItem text={t('usage.metric.tokens')} isSelected={metric === 'tokens'} onChange={() => setMetric('tokens')} />
              <ToggleGroupItem text={t('usage.metric.cost')} isSelected={metric === 'cost'} onChange={() => setMetric('cost')} />
            </ToggleGroup>
          ),
          hasNoOffset: true,
        }}
      >
        <CardTitle>{t('usage.overTime.title')}</CardTitle>
      </CardHeader>
      <CardBody>
        <div ref={ref} className="lm-chart" style={{ height }}>
          <Chart
            ariaTitle={t('usage.overTime.ariaTitle', { metric: t(`usage.metric.${metric}`) })}
            width={width}
            height={height}
            padding={{ top: 20, bottom: 80, left: metric === 'cost' ? 80 : 60, right: 20 }}
            domainPadding={{ x: [10, 10] }}
            legendData={series[metric].map((s) => ({ name: t(s.name), symbol: { fill: s.color } }))}
            legendPosition="bottom-left"
            containerComponent={
              <ChartVoronoiContainer
                labels={({ datum }: { datum: { name: string; x: string; y: number } }) => t('usage.overTime.point', { series: datum.name, day: formatDay(datum.x), value: format(datum.y) })}
                constrainToVisibleArea
              />
            }
          >
            <ChartAxis tickFormat={(day: string) => formatDay(day)} fixLabelOverlap />
            <ChartAxis dependentAxis showGrid tickFormat={(value: number) => format(value)} tickValues={metric === 'cost' ? undefined : countTicks(points.map((p) => series[metric].reduce((sum, s) => sum + s.value(p), 0)))} />
            <ChartStack>
              {series[metric].map((s) => (
                <ChartBar key={s.name} name={s.name} style={{ data: { fill: s.color } }} data={points.map((p) => ({ name: t(s.name), x: p.day, y: s.value(p) }))} />
              ))}
            </ChartStack>
          </Chart>
        </div>
      </CardBody>
    </Card>
  );
}
