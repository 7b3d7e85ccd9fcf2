/** @module Usage rows grouped by key, model or user, busiest first. */
import { Card, CardBody, CardTitle } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { formatNumber, formatPercent } from '../format';
import { useMoney } from '../hooks/useMoney';
import type { UsageRow } from '../types';

export function UsageTable({ title, groupLabel, rows, name }: { title: string; groupLabel: string; rows: UsageRow[]; name: (row: UsageRow) => string }) {
  const money = useMoney();
  const sorted = [...rows].sort((a, b) => b.cost - a.cost || b.requests - a.requests);
  return (
    <Card>
      <CardTitle>{title}</CardTitle>
      <CardBody>
        {sorted.length === 0 ? (
          <p className="lm-muted">Nothing in this range yet.</p>
        ) : (
          <Table aria-label={title} variant="compact">
            <Thead>
              <Tr>
                <Th modifier="wrap">{groupLabel}</Th>
                <Th modifier="wrap">Requests</Th>
                <Th modifier="wrap">Errors</Th>
                <Th modifier="wrap">Success rate</Th>
                <Th modifier="wrap">Prompt tokens</Th>
                <Th modifier="wrap">Completion tokens</Th>
                <Th modifier="wrap">Cost</Th>
              </Tr>
            </Thead>
            <Tbody>
              {sorted.map((row) => (
                <Tr key={name(row)}>
                  <Td dataLabel={groupLabel}>{name(row)}</Td>
                  <Td dataLabel="Requests">{formatNumber(row.requests)}</Td>
                  <Td dataLabel="Errors">{formatNumber(row.errors)}</Td>
                  <Td dataLabel="Success rate">{formatPercent(row.requests, row.requests + row.errors)}</Td>
                  <Td dataLabel="Prompt tokens">{formatNumber(row.promptTokens)}</Td>
                  <Td dataLabel="Completion tokens">{formatNumber(row.completionTokens)}</Td>
                  <Td dataLabel="Cost">{money(row.cost)}</Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        )}
      </CardBody>
    </Card>
  );
}
