/**
 * @module Admin: budget alert settings and the delivery log — every webhook
 * and e-mail sent or being retried, with each attempt's answer.
 */
import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Button, Flex, Label, PageSection, ToggleGroup, ToggleGroupItem } from '@patternfly/react-core';
import { ExpandableRowContent, Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { api, query } from '../../api';
import { PageHeader } from '../../components/PageHeader';
import { Empty, ErrorAlert, Loading } from '../../components/States';
import { formatDateTime } from '../../format';
import { useAdminSettings } from '../../hooks/adminQueries';
import { canAdminister, useMe } from '../../hooks/useMe';
import type { NotificationDelivery } from '../../types';
import { AlertSettingsCard } from './AlertSettingsCard';

const STATUS_COLOR = { sent: 'green', pending: 'orange', failed: 'red' } as const;

function Deliveries() {
  const [status, setStatus] = useState<'' | NotificationDelivery['status']>('');
  const [open, setOpen] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ['admin', 'deliveries', status],
    queryFn: async () => (await api<{ deliveries: NotificationDelivery[] }>('GET', `/admin/notifications/deliveries${query({ status: status || undefined })}`)).deliveries,
    refetchInterval: 15_000,
  });
  return (
    <>
      <Flex justifyContent={{ default: 'justifyContentSpaceBetween' }} style={{ margin: '24px 0 8px' }}>
        <h2 className="pf-v6-c-title pf-m-lg">Deliveries</h2>
        <Flex>
          <ToggleGroup aria-label="Delivery status">
            {(['', 'pending', 'sent', 'failed'] as const).map((s) => (
              <ToggleGroupItem key={s || 'all'} text={s || 'all'} isSelected={status === s} onChange={() => setStatus(s)} />
            ))}
          </ToggleGroup>
          <Button variant="secondary" onClick={() => void list.refetch()}>Refresh</Button>
        </Flex>
      </Flex>
      {list.isPending && <Loading label="Loading deliveries" />}
      {list.isError && <ErrorAlert error={list.error} title="Could not load deliveries" />}
      {list.data && list.data.length === 0 && <Empty title="No deliveries">Webhook and e-mail sends appear here once alerts are configured and something happens.</Empty>}
      {list.data && list.data.length > 0 && (
        <Table aria-label="Deliveries" variant="compact">
          <Thead>
            <Tr><Th screenReaderText="Attempts log" /><Th>Created</Th><Th>Type</Th><Th>Channel</Th><Th>Target</Th><Th>Status</Th><Th>Attempts</Th><Th>Last error</Th></Tr>
          </Thead>
          {list.data.map((d, i) => (
            <Tbody key={d.id} isExpanded={open === d.id}>
              <Tr>
                <Td expand={{ rowIndex: i, isExpanded: open === d.id, onToggle: () => setOpen(open === d.id ? null : d.id) }} />
                <Td dataLabel="Created">{formatDateTime(d.createdAt)}</Td>
                <Td dataLabel="Type">{d.type}</Td>
                <Td dataLabel="Channel">{d.channel}</Td>
                <Td dataLabel="Target">{d.target}</Td>
                <Td dataLabel="Status"><Label color={STATUS_COLOR[d.status]}>{d.status}</Label>{d.status === 'pending' && d.nextAttemptAt && <> next {formatDateTime(d.nextAttemptAt)}</>}</Td>
                <Td dataLabel="Attempts">{d.attempts}</Td>
                <Td dataLabel="Last error">{d.lastError ?? '—'}</Td>
              </Tr>
              <Tr isExpanded={open === d.id}>
                <Td colSpan={8}>
                  <ExpandableRowContent>
                    <Table aria-label={`Attempts of delivery ${d.id}`} variant="compact" borders={false}>
                      <Thead><Tr><Th>#</Th><Th>At</Th><Th>Result</Th><Th>Duration</Th><Th>Error</Th></Tr></Thead>
                      <Tbody>
                        {d.log.map((a) => (
                          <Tr key={a.attempt}>
                            <Td>{a.attempt}</Td><Td>{formatDateTime(a.at)}</Td>
                            <Td>{a.ok ? 'delivered' : 'failed'}{a.statusCode !== null ? ` (${a.statusCode})` : ''}</Td>
                            <Td>{a.durationMs} ms</Td><Td>{a.error ?? '—'}</Td>
                          </Tr>
                        ))}
                      </Tbody>
                    </Table>
                  </ExpandableRowContent>
                </Td>
              </Tr>
            </Tbody>
          ))}
        </Table>
      )}
    </>
  );
}

export function AlertsPage() {
  const settings = useAdminSettings();
  const canChange = canAdminister(useMe().data);
  return (
    <>
      <PageHeader title="Alerts" description="Budget thresholds, where alerts are sent, and the log of every webhook and e-mail delivery." />
      <PageSection isFilled>
        {settings.isPending && <Loading label="Loading settings" />}
        {settings.isError && <ErrorAlert error={settings.error} title="Could not load settings" />}
        {settings.data && <AlertSettingsCard settings={settings.data} canChange={canChange} />}
        <Deliveries />
      </PageSection>
    </>
  );
}
