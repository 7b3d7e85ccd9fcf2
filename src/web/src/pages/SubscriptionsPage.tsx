/** @module The person's subscriptions, with Cancel (confirmed). */
import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Button, PageSection } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import ListIcon from '@patternfly/react-icons/dist/esm/icons/list-icon';
import { api } from '../api';
import { ConfirmModal } from '../components/ConfirmModal';
import { LinkButton } from '../components/LinkButton';
import { PageHeader } from '../components/PageHeader';
import { Empty, ErrorAlert, Loading } from '../components/States';
import { SubscriptionStatusLabel } from '../components/StatusLabel';
import { formatDate } from '../format';
import { keys, useSubscriptions } from '../hooks/queries';
import { useToast } from '../hooks/toast';
import type { Subscription } from '../types';
import { Trans, useTranslation } from 'react-i18next';

export function SubscriptionsPage() {
  const { t } = useTranslation();
  const subscriptions = useSubscriptions();
  const [cancelling, setCancelling] = useState<Subscription | null>(null);
  const toast = useToast();
  const queryClient = useQueryClient();
  const cancel = useMutation({
    mutationFn: (subscription: Subscription) => api<Subscription>('POST', `/subscriptions/${encodeURIComponent(subscription.id)}/cancel`),
    onSuccess: (subscription) => {
      toast.success(t('subscriptions.cancelled', { model: subscription.modelId }));
      setCancelling(null);
      void queryClient.invalidateQueries({ queryKey: keys.subscriptions });
      void queryClient.invalidateQueries({ queryKey: keys.models });
    },
    onError: (error) => {
      toast.failure(t('subscriptions.cancelFailed'), error);
      setCancelling(null);
    },
  });

  return (
    <>
      <PageHeader
        title={t('subscriptions.title')}
        description={t('subscriptions.description')}
        actions={subscriptions.data?.length === 0 ? undefined : <LinkButton to="/models" variant="secondary">{t('subscriptions.browse')}</LinkButton>}
      />
      <PageSection isFilled>
        {subscriptions.isPending && <Loading label={t('subscriptions.loading')} />}
        {subscriptions.isError && <ErrorAlert error={subscriptions.error} title={t('subscriptions.loadError')} />}
        {subscriptions.isSuccess && subscriptions.data.length === 0 && (
          <Empty title={t('subscriptions.empty')} icon={ListIcon} action={<LinkButton to="/models">{t('subscriptions.browse')}</LinkButton>}>
            {t('subscriptions.emptyBody')}
          </Empty>
        )}
        {subscriptions.isSuccess && subscriptions.data.length > 0 && (
          <Table aria-label={t('subscriptions.title')} variant="compact">
            <Thead>
              <Tr>
                <Th modifier="wrap">{t('subscriptions.col.model')}</Th>
                <Th modifier="wrap">{t('subscriptions.col.status')}</Th>
                <Th modifier="wrap">{t('subscriptions.col.reason')}</Th>
                <Th modifier="wrap">{t('subscriptions.col.requested')}</Th>
                <Th modifier="wrap">{t('subscriptions.col.updated')}</Th>
                <Th screenReaderText={t('subscriptions.col.actions')} />
              </Tr>
            </Thead>
            <Tbody>
              {subscriptions.data.map((subscription) => (
                <Tr key={subscription.id}>
                  <Td dataLabel={t('subscriptions.col.model')}>{subscription.modelId}</Td>
                  <Td dataLabel={t('subscriptions.col.status')}>
                    <SubscriptionStatusLabel status={subscription.status} />
                  </Td>
                  <Td dataLabel={t('subscriptions.col.reason')}>{subscription.reason || '—'}</Td>
                  <Td dataLabel={t('subscriptions.col.requested')}>{formatDate(subscription.createdAt)}</Td>
                  <Td dataLabel={t('subscriptions.col.updated')}>{formatDate(subscription.updatedAt)}</Td>
                  <Td dataLabel={t('subscriptions.col.actions')} isActionCell>
                    {(subscription.status === 'active' || subscription.status === 'pending') && (
                      <Button variant="secondary" isDanger size="sm" onClick={() => setCancelling(subscription)}>
                        {t('subscriptions.cancel')}
                      </Button>
                    )}
                  </Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        )}
      </PageSection>
      {cancelling && (
        <ConfirmModal
          title={t('subscriptions.confirmTitle')}
          confirmLabel={t('subscriptions.confirm')}
          cancelLabel={t('subscriptions.keep')}
          isWorking={cancel.isPending}
          onConfirm={() => cancel.mutate(cancelling)}
          onClose={() => setCancelling(null)}
        >
          <Trans i18nKey="subscriptions.confirmBody" values={{ model: cancelling.modelId }} components={{ model: <strong /> }} />
        </ConfirmModal>
      )}
    </>
  );
}
