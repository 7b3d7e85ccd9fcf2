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

type Filter = SubscriptionStatus | 'all';
const filters: { value: Filter; label: string }[] = [
  { value: 'pending', label: 'Pending' },
  { value: 'active', label: 'Approved' },
  { value: 'denied', label: 'Denied' },
  { value: 'all', label: 'All' },
];

export function ApprovalsPage() {
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
      toast.success(`${approve ? 'Approved' : 'Denied'}: ${subscription.username} → ${subscription.modelId}`);
      setDenying(null);
      setReason('');
      void queryClient.invalidateQueries({ queryKey: ['admin', 'subscriptions'] });
      void queryClient.invalidateQueries({ queryKey: ['admin', 'users'] });
      void queryClient.invalidateQueries({ queryKey: keys.models });
      void queryClient.invalidateQueries({ queryKey: keys.subscriptions });
    },
    onError: (error) => toast.failure('Could not record the decision', error),
  });

  return (
    <>
      <PageHeader title="Subscription approvals" description="Requests for restricted models wait here until an administrator decides." />
      <PageSection isFilled>
        <Toolbar>
          <ToolbarContent>
            <ToolbarItem>
              <ToggleGroup aria-label="Filter by status">
                {filters.map((f) => (
                  <ToggleGroupItem key={f.value} text={f.label} isSelected={status === f.value} onChange={() => setStatus(f.value)} />
                ))}
              </ToggleGroup>
            </ToolbarItem>
          </ToolbarContent>
        </Toolbar>
        {list.isPending && <Loading label="Loading subscriptions" />}
        {list.isError && <ErrorAlert error={list.error} title="Could not load subscriptions" />}
        {list.isSuccess && list.data.length === 0 && (
          <Empty title={status === 'pending' ? 'Nothing waiting for approval' : 'No subscriptions here'} icon={CheckCircleIcon}>
            {status === 'pending' ? 'New requests for restricted models will appear here.' : 'Try another status filter.'}
          </Empty>
        )}
        {list.isSuccess && list.data.length > 0 && (
          <Table aria-label="Subscriptions" variant="compact">
            <Thead>
              <Tr>
                <Th modifier="wrap">User</Th>
                <Th modifier="wrap">Model</Th>
                <Th modifier="wrap">Status</Th>
                <Th modifier="wrap">Requested</Th>
                <Th modifier="wrap">Reason</Th>
                <Th modifier="wrap">Decided by</Th>
                <Th screenReaderText="Actions" />
              </Tr>
            </Thead>
            <Tbody>
              {list.data.map((subscription) => (
                <Tr key={subscription.id}>
                  <Td dataLabel="User">{subscription.username}</Td>
                  <Td dataLabel="Model">{subscription.modelId}</Td>
                  <Td dataLabel="Status">
                    <SubscriptionStatusLabel status={subscription.status} />
                  </Td>
                  <Td dataLabel="Requested">{formatDateTime(subscription.createdAt)}</Td>
                  <Td dataLabel="Reason">{subscription.reason || '—'}</Td>
                  <Td dataLabel="Decided by">{subscription.decidedBy || '—'}</Td>
                  <Td dataLabel="Actions" isActionCell>
                    {canChange && (
                      <Flex gap={{ default: 'gapSm' }}>
                        {subscription.status !== 'active' && (
                          <Button
                            variant="primary"
                            size="sm"
                            isDisabled={decide.isPending}
                            onClick={() => decide.mutate({ subscription, approve: true })}
                          >
                            Approve
                          </Button>
                        )}
                        {(subscription.status === 'pending' || subscription.status === 'active') && (
                          <Button variant="secondary" isDanger size="sm" onClick={() => setDenying(subscription)}>
                            Deny
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
          <ModalHeader title={`Deny ${denying.username} access to ${denying.modelId}?`} labelId="deny-title" />
          <ModalBody>
            <Form
              id="deny-form"
              onSubmit={(event) => {
                event.preventDefault();
                if (reason.trim()) decide.mutate({ subscription: denying, approve: false, reason: reason.trim() });
              }}
            >
              <Field label="Reason" fieldId="deny-reason" isRequired hint="The person sees this on their Subscriptions page.">
                <TextArea id="deny-reason" isRequired value={reason} onChange={(_e, v) => setReason(v)} rows={3} autoFocus />
              </Field>
            </Form>
          </ModalBody>
          <ModalFooter>
            <Button type="submit" form="deny-form" variant="danger" isDisabled={!reason.trim() || decide.isPending} isLoading={decide.isPending}>
              Deny
            </Button>
            <Button variant="link" onClick={() => setDenying(null)}>
              Cancel
            </Button>
          </ModalFooter>
        </Modal>
      )}
    </>
  );
}
