/** @module Usage rows grouped by key, model or user, busiest first. */
import { Card, CardBody, CardTitle } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { formatNumber, formatPercent } from '../format';
import { useMoney } from '../hooks/useMoney';
import type { UsageRow } from '../types';
import { useTranslation } from 'react-i18next';

export function UsageTable({ title, groupLabel, rows, name }: { title: string; groupLabel: string; rows: UsageRow[]; name: (row: UsageRow) => string }) {
  const { t } = useTranslation();
  const money = useMoney();
  const sorted = [...rows].sort((a, b) => b.cost - a.cost || b.requests - a.requests);
  return (
    <Card>
      <CardTitle>{title}</CardTitle>
      <CardBody>
        {sorted.length === 0 ? (
          <p className="lm-muted">{t('usage.nothing')}</p>
        ) : (
          <Table aria-label={title} variant="compact">
            <Thead>
              <Tr>
                <Th modifier="wrap">{groupLabel}</Th>
                <Th modifier="wrap">{t('usage.metric.requests')}</Th>
                <Th modifier="wrap">{t('usage.table.errors')}</Th>
                <Th modifier="wrap">{t('usage.cards.successRate')}</Th>
                <Th modifier="wrap">{t('usage.table.promptTokens')}</Th>
                <Th modifier="wrap">{t('usage.table.completionTokens')}</Th>
                <Th modifier="wrap">{t('usage.metric.cost')}</Th>
              </Tr>
            </Thead>
            <Tbody>
              {sorted.map((row) => (
                <Tr key={name(row)}>
                  <Td dataLabel={groupLabel}>{name(row)}</Td>
                  <Td dataLabel={t('usage.metric.requests')}>{formatNumber(row.requests)}</Td>
                  <Td dataLabel={t('usage.table.errors')}>{formatNumber(row.errors)}</Td>
                  <Td dataLabel={t('usage.cards.successRate')}>{formatPercent(row.requests, row.requests + row.errors)}</Td>
                  <Td dataLabel={t('usage.table.promptTokens')}>{formatNumber(row.promptTokens)}</Td>
                  <Td dataLabel={t('usage.table.completionTokens')}>{formatNumber(row.completionTokens)}</Td>
                  <Td dataLabel={t('usage.metric.cost')}>{money(row.cost)}</Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        )}
      </CardBody>
    </Card>
  );
}
