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
import { useTranslation } from 'react-i18next';

const STATUS_COLOR = { sent: 'green', pending: 'orange', failed: 'red' } as const;

function Deliveries() {
  const { t } = useTranslation();
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
        <h2 className="pf-v6-c-title pf-m-lg">{t('alerts.deliveries')}</h2>
        <Flex>
          <ToggleGroup aria-label={t('alerts.deliveryStatus')}>
            {(['', 'pending', 'sent', 'failed'] as const).map((s) => (
              <ToggleGroupItem key={s || 'all'} text={t(`alerts.status.${s || 'all'}`)} isSelected={status === s} onChange={() => setStatus(s)} />
            ))}
          </ToggleGroup>
          <Button variant="secondary" onClick={() => void list.refetch()}>{t('alerts.refresh')}</Button>
        </Flex>
      </Flex>
      {list.isPending && <Loading label={t('alerts.loadingDeliveries')} />}
      {list.isError && <ErrorAlert error={list.error} title={t('alerts.deliveriesError')} />}
      {list.data && list.data.length === 0 && <Empty title={t('alerts.noDeliveries')}>{t('alerts.noDeliveriesBody')}</Empty>}
      {list.data && list.data.length > 0 && (
        <Table aria-label={t('alerts.deliveries')} variant="compact">
          <Thead>
            <Tr><Th screenReaderText={t('alerts.col.attemptsLog')} /><Th>{t('alerts.col.created')}</Th><Th>{t('alerts.col.type')}</Th><Th>{t('alerts.col.channel')}</Th><Th>{t('alerts.col.target')}</Th><Th>{t('alerts.col.status')}</Th><Th>{t('alerts.col.attempts')}</Th><Th>{t('alerts.col.lastError')}</Th></Tr>
          </Thead>
          {list.data.map((d, i) => (
            <Tbody key={d.id} isExpanded={open === d.id}>
              <Tr>
                <Td expand={{ rowIndex: i, isExpanded: open === d.id, onToggle: () => setOpen(open === d.id ? null : d.id) }} />
                <Td dataLabel={t('alerts.col.created')}>{formatDateTime(d.createdAt)}</Td>
                <Td dataLabel={t('alerts.col.type')}>{d.type}</Td>
                <Td dataLabel={t('alerts.col.channel')}>{d.channel}</Td>
                <Td dataLabel={t('alerts.col.target')}>{d.target}</Td>
                <Td dataLabel={t('alerts.col.status')}><Label color={STATUS_COLOR[d.status]}>{t(`alerts.status.${d.status}`)}</Label>{d.status === 'pending' && d.nextAttemptAt && <> {t('alerts.next', { date: formatDateTime(d.nextAttemptAt) })}</>}</Td>
                <Td dataLabel={t('alerts.col.attempts')}>{d.attempts}</Td>
                <Td dataLabel={t('alerts.col.lastError')}>{d.lastError ?? '—'}</Td>
              </Tr>
              <Tr isExpanded={open === d.id}>
                <Td colSpan={8}>
                  <ExpandableRowContent>
                    <Table aria-label={t('alerts.attemptsOf', { id: d.id })} variant="compact" borders={false}>
                      <Thead><Tr><Th>#</Th><Th>{t('alerts.col.at')}</Th><Th>{t('alerts.col.result')}</Th><Th>{t('alerts.col.duration')}</Th><Th>{t('alerts.col.error')}</Th></Tr></Thead>
                      <Tbody>
                        {d.log.map((a) => (
                          <Tr key={a.attempt}>
                            <Td>{a.attempt}</Td><Td>{formatDateTime(a.at)}</Td>
                            <Td>{a.ok ? t('alerts.delivered') : t('alerts.failed')}{a.statusCode !== null ? ` (${a.statusCode})` : ''}</Td>
                            <Td>{t('chat.ms', { ms: a.durationMs })}</Td><Td>{a.error ?? '—'}</Td>
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
  const { t } = useTranslation();
  const settings = useAdminSettings();
  const canChange = canAdminister(useMe().data);
  return (
    <>
      <PageHeader title={t('alerts.title')} description={t('alerts.description')} />
      <PageSection isFilled>
        {settings.isPending && <Loading label={t('alerts.loadingSettings')} />}
        {settings.isError && <ErrorAlert error={settings.error} title={t('alerts.settingsError')} />}
        {settings.data && <AlertSettingsCard settings={settings.data} canChange={canChange} />}
        <Deliveries />
      </PageSection>
    </>
  );
}
