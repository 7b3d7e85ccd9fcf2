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

export function SubscriptionsPage() {
  const subscriptions = useSubscriptions();
  const [cancelling, setCancelling] = useState<Subscription | null>(null);
  const toast = useToast();
  const queryClient = useQueryClient();
  const cancel = useMutation({
    mutationFn: (subscription: Subscription) => api<Subscription>('POST', `/subscriptions/${encodeURIComponent(subscription.id)}/cancel`),
    onSuccess: (subscription) => {
      toast.success(`Subscription to ${subscription.modelId} cancelled`);
      setCancelling(null);
      void queryClient.invalidateQueries({ queryKey: keys.subscriptions });
      void queryClient.invalidateQueries({ queryKey: keys.models });
    },
    onError: (error) => {
      toast.failure('Could not cancel the subscription', error);
      setCancelling(null);
    },
  });

  return (
    <>
      <PageHeader
        title="Subscriptions"
        description="The models you can use. Restricted models wait for an administrator's approval."
        actions={subscriptions.data?.length === 0 ? undefined : <LinkButton to="/models" variant="secondary">Browse models</LinkButton>}
      />
      <PageSection isFilled>
        {subscriptions.isPending && <Loading label="Loading subscriptions" />}
        {subscriptions.isError && <ErrorAlert error={subscriptions.error} title="Could not load subscriptions" />}
        {subscriptions.isSuccess && subscriptions.data.length === 0 && (
          <Empty title="No subscriptions yet" icon={ListIcon} action={<LinkButton to="/models">Browse models</LinkButton>}>
            Subscribe to a model first; then you can create API keys for it.
          </Empty>
        )}
        {subscriptions.isSuccess && subscriptions.data.length > 0 && (
          <Table aria-label="Subscriptions" variant="compact">
            <Thead>
              <Tr>
                <Th modifier="wrap">Model</Th>
                <Th modifier="wrap">Status</Th>
                <Th modifier="wrap">Reason</Th>
                <Th modifier="wrap">Requested</Th>
                <Th modifier="wrap">Updated</Th>
                <Th screenReaderText="Actions" />
              </Tr>
            </Thead>
            <Tbody>
              {subscriptions.data.map((subscription) => (
                <Tr key={subscription.id}>
                  <Td dataLabel="Model">{subscription.modelId}</Td>
                  <Td dataLabel="Status">
                    <SubscriptionStatusLabel status={subscription.status} />
                  </Td>
                  <Td dataLabel="Reason">{subscription.reason || '—'}</Td>
                  <Td dataLabel="Requested">{formatDate(subscription.createdAt)}</Td>
                  <Td dataLabel="Updated">{formatDate(subscription.updatedAt)}</Td>
                  <Td dataLabel="Actions" isActionCell>
                    {(subscription.status === 'active' || subscription.status === 'pending') && (
                      <Button variant="secondary" isDanger size="sm" onClick={() => setCancelling(subscription)}>
                        Cancel
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
          title="Cancel subscription?"
          confirmLabel="Cancel subscription"
          cancelLabel="Keep it"
          isWorking={cancel.isPending}
          onConfirm={() => cancel.mutate(cancelling)}
          onClose={() => setCancelling(null)}
        >
          Your API keys will no longer be able to call <strong>{cancelling.modelId}</strong>. You can subscribe again later; a restricted
          model then needs approval again.
        </ConfirmModal>
      )}
    </>
  );
}
