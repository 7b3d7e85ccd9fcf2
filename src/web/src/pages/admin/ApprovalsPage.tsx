/** @module The subscription approval queue: pending requests first, Approve or Deny with a reason. */
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Button,
  Flex,
  Form,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  PageSection,
  TextArea,
  ToggleGroup,
  ToggleGroupItem,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import CheckCircleIcon from '@patternfly/react-icons/dist/esm/icons/check-circle-icon';
import { api, query } from '../../api';
import { Field } from '../../components/Field';
import { PageHeader } from '../../components/PageHeader';
import { Empty, ErrorAlert, Loading } from '../../components/States';
import { SubscriptionStatusLabel } from '../../components/StatusLabel';
import { formatDateTime } from '../../format';
import { adminKeys } from '../../hooks/adminQueries';
import { keys } from '../../hooks/queries';
import { useToast } from '../../hooks/toast';
import { canAdminister, useMe } from '../../hooks/useMe';
import type { Subscription, SubscriptionStatus } from '../../types';
import { useTranslation } from 'react-i18next';

type Filter = SubscriptionStatus | 'all';
/** Each filter's label is `approvals.filter.<value>`. */
const filters: Filter[] = ['pending', 'active', 'denied', 'all'];

export function ApprovalsPage() {
  const { t } = useTranslation();
  const [status, setStatus] = useState<Filter>('pending');
  const [denying, setDenying] = useState<Subscription | null>(null);
  const [reason, setReason] = useState('');
  const canChange = canAdminister(useMe().data);
  const toast = useToast();
  const queryClient = useQueryClient();
  const list = useQuery({
    queryKey: adminKeys.subscriptions(status),
    queryFn: async () =>
      (await api<{ subscriptions: Subscription[] }>('GET', `/admin/subscriptions${query({ status: status === 'all' ? undefined : status })}`))
        .subscriptions,
  });

  const decide = useMutation({
    mutationFn: ({ subscription, approve, reason }: { subscription: Subscription; approve: boolean; reason?: string }) =>
      api<Subscription>('POST', `/admin/subscriptions/${encodeURIComponent(subscription.id)}/${approve ? 'approve' : 'deny'}`, reason ? { reason } : {}),
    onSuccess: (subscription, { approve }) => {
      toast.success(t(approve ? 'approvals.approved' : 'approvals.denied', { username: subscription.username, model: subscription.modelId }));
      setDenying(null);
      setReason('');
      void queryClient.invalidateQueries({ queryKey: ['admin', 'subscriptions'] });
      void queryClient.invalidateQueries({ queryKey: ['admin', 'users'] });
      void queryClient.invalidateQueries({ queryKey: keys.models });
      void queryClient.invalidateQueries({ queryKey: keys.subscriptions });
    },
    onError: (error) => toast.failure(t('approvals.failed'), error),
  });

  return (
    <>
      <PageHeader title={t('approvals.title')} description={t('approvals.description')} />
      <PageSection isFilled>
        <Toolbar>
          <ToolbarContent>
            <ToolbarItem>
              <ToggleGroup aria-label={t('approvals.filterBy')}>
                {filters.map((f) => (
                  <ToggleGroupItem key={f} text={t(`approvals.filter.${f}`)} isSelected={status === f} onChange={() => setStatus(f)} />
                ))}
              </ToggleGroup>
            </ToolbarItem>
          </ToolbarContent>
        </Toolbar>
        {list.isPending && <Loading label={t('approvals.loading')} />}
        {list.isError && <ErrorAlert error={list.error} title={t('approvals.loadError')} />}
        {list.isSuccess && list.data.length === 0 && (
          <Empty title={status === 'pending' ? t('approvals.nothingPending') : t('approvals.nothingHere')} icon={CheckCircleIcon}>
            {status === 'pending' ? t('approvals.nothingPendingBody') : t('approvals.nothingHereBody')}
          </Empty>
        )}
        {list.isSuccess && list.data.length > 0 && (
          <Table aria-label={t('approvals.table')} variant="compact">
            <Thead>
              <Tr>
                <Th modifier="wrap">{t('approvals.col.user')}</Th>
                <Th modifier="wrap">{t('approvals.col.model')}</Th>
                <Th modifier="wrap">{t('approvals.col.status')}</Th>
                <Th modifier="wrap">{t('approvals.col.requested')}</Th>
                <Th modifier="wrap">{t('approvals.col.reason')}</Th>
                <Th modifier="wrap">{t('approvals.col.decidedBy')}</Th>
                <Th screenReaderText={t('approvals.col.actions')} />
              </Tr>
            </Thead>
            <Tbody>
              {list.data.map((subscription) => (
                <Tr key={subscription.id}>
                  <Td dataLabel={t('approvals.col.user')}>{subscription.username}</Td>
                  <Td dataLabel={t('approvals.col.model')}>{subscription.modelId}</Td>
                  <Td dataLabel={t('approvals.col.status')}>
                    <SubscriptionStatusLabel status={subscription.status} />
                  </Td>
                  <Td dataLabel={t('approvals.col.requested')}>{formatDateTime(subscription.createdAt)}</Td>
                  <Td dataLabel={t('approvals.col.reason')}>{subscription.reason || '—'}</Td>
                  <Td dataLabel={t('approvals.col.decidedBy')}>{subscription.decidedBy || '—'}</Td>
                  <Td dataLabel={t('approvals.col.actions')} isActionCell>
                    {canChange && (
                      <Flex gap={{ default: 'gapSm' }}>
                        {subscription.status !== 'active' && (
                          <Button
                            variant="primary"
                            size="sm"
                            isDisabled={decide.isPending}
                            onClick={() => decide.mutate({ subscription, approve: true })}
                          >
                            {t('approvals.approve')}
                          </Button>
                        )}
                        {(subscription.status === 'pending' || subscription.status === 'active') && (
                          <Button variant="secondary" isDanger size="sm" onClick={() => setDenying(subscription)}>
                            {t('approvals.deny')}
                          </Button>
                        )}
                      </Flex>
                    )}
                  </Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        )}
      </PageSection>
      {denying && (
        <Modal isOpen variant="small" onClose={() => setDenying(null)} aria-labelledby="deny-title">
          <ModalHeader title={t('approvals.denyTitle', { username: denying.username, model: denying.modelId })} labelId="deny-title" />
          <ModalBody>
            <Form
              id="deny-form"
              onSubmit={(event) => {
                event.preventDefault();
                if (reason.trim()) decide.mutate({ subscription: denying, approve: false, reason: reason.trim() });
              }}
            >
              <Field label={t('approvals.reason')} fieldId="deny-reason" isRequired hint={t('approvals.reasonHint')}>
                <TextArea id="deny-reason" isRequired value={reason} onChange={(_e, v) => setReason(v)} rows={3} autoFocus />
              </Field>
            </Form>
          </ModalBody>
          <ModalFooter>
            <Button type="submit" form="deny-form" variant="danger" isDisabled={!reason.trim() || decide.isPending} isLoading={decide.isPending}>
              {t('approvals.deny')}
            </Button>
            <Button variant="link" onClick={() => setDenying(null)}>
              {t('common.cancel')}
            </Button>
          </ModalFooter>
        </Modal>
      )}
    </>
  );
}
