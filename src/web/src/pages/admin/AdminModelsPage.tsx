/** @module The model catalogue for administrators: prices, access, deployments; add, edit, delete. */
import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Button, Flex, Label, PageSection } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import CubesIcon from '@patternfly/react-icons/dist/esm/icons/cubes-icon';
import LockIcon from '@patternfly/react-icons/dist/esm/icons/lock-icon';
import { api } from '../../api';
import { ConfirmModal } from '../../components/ConfirmModal';
import { PageHeader } from '../../components/PageHeader';
import { Empty, ErrorAlert, Loading } from '../../components/States';
import { formatNumber } from '../../format';
import { kindLabel, priceLines } from '../../kinds';
import { adminKeys, useAdminModels } from '../../hooks/adminQueries';
import { keys } from '../../hooks/queries';
import { useToast } from '../../hooks/toast';
import { canAdminister, useMe } from '../../hooks/useMe';
import { useMoney } from '../../hooks/useMoney';
import type { AdminModel } from '../../types';
import { ModelFormModal } from './ModelFormModal';

export function AdminModelsPage() {
  const models = useAdminModels();
  const canChange = canAdminister(useMe().data);
  const money = useMoney();
  const toast = useToast();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState<AdminModel | 'new' | null>(null);
  const [deleting, setDeleting] = useState<AdminModel | null>(null);

  const remove = useMutation({
    mutationFn: (model: AdminModel) => api<void>('DELETE', `/admin/models/${encodeURIComponent(model.id)}`),
    onSuccess: (_nothing, model) => {
      toast.success(`Model ${model.id} deleted`);
      setDeleting(null);
      void queryClient.invalidateQueries({ queryKey: adminKeys.models });
      void queryClient.invalidateQueries({ queryKey: keys.models });
    },
    onError: (error) => {
      toast.failure('Could not delete the model', error);
      setDeleting(null);
    },
  });

  const addButton = canChange && <Button onClick={() => setEditing('new')}>Add model</Button>;

  return (
    <>
      <PageHeader title="Models" description="What people can subscribe to, what it costs, and where requests go." actions={models.data?.length === 0 ? undefined : addButton} />
      <PageSection isFilled>
        {models.isPending && <Loading label="Loading models" />}
        {models.isError && <ErrorAlert error={models.error} title="Could not load models" />}
        {models.isSuccess && models.data.length === 0 && (
          <Empty title="No models yet" icon={CubesIcon} action={addButton || undefined}>
            Add a model and point it at an OpenAI-compatible upstream, such as a vLLM server.
          </Empty>
        )}
        {models.isSuccess && models.data.length > 0 && (
          <Table aria-label="Models" variant="compact">
            <Thead>
              <Tr>
                <Th modifier="wrap">Model</Th>
                <Th modifier="wrap">Provider</Th>
                <Th modifier="wrap">Kind</Th>
                <Th modifier="wrap">Context</Th>
                <Th modifier="wrap">Prices</Th>
                <Th modifier="wrap">Access</Th>
                <Th modifier="wrap">Deployments</Th>
                <Th screenReaderText="Actions" />
              </Tr>
            </Thead>
            <Tbody>
              {models.data.map((model) => (
                <Tr key={model.id}>
                  <Td dataLabel="Model">
                    <strong>{model.id}</strong>
                    {model.status === 'deprecated' && (
                      <>
                        {' '}
                        <Label isCompact color="grey">Deprecated</Label>
                      </>
                    )}
                  </Td>
                  <Td dataLabel="Provider">{model.provider || '—'}</Td>
                  <Td dataLabel="Kind">{kindLabel(model.kind)}</Td>
                  <Td dataLabel="Context">{model.contextLength ? formatNumber(model.contextLength) : '—'}</Td>
                  <Td dataLabel="Prices">
                    {priceLines(model, money).map((line) => (
                      <div key={line.unit}>
                        {line.amount} <span className="lm-muted">{line.unit}</span>
                      </div>
                    ))}
                  </Td>
                  <Td dataLabel="Access">
                    {model.restricted ? (
                      <Label isCompact color="orange" icon={<LockIcon />}>Restricted</Label>
                    ) : (
                      <Label isCompact color="green">Open</Label>
                    )}
                  </Td>
                  <Td dataLabel="Deployments">
                    {model.deployments.map((d) => (
                      <div key={d.id} className="lm-mono lm-muted">
                        {d.url} → {d.upstreamModel}
                        {d.weight !== 1 && ` (×${d.weight})`}
                        {!d.enabled && ' (disabled)'}
                      </div>
                    ))}
                  </Td>
                  <Td dataLabel="Actions" isActionCell>
                    {canChange && (
                      <Flex gap={{ default: 'gapSm' }}>
                        <Button variant="link" size="sm" onClick={() => setEditing(model)}>
                          Edit
                        </Button>
                        <Button variant="link" size="sm" isDanger onClick={() => setDeleting(model)}>
                          Delete
                        </Button>
                      </Flex>
                    )}
                  </Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        )}
      </PageSection>
      {editing && <ModelFormModal model={editing === 'new' ? undefined : editing} onClose={() => setEditing(null)} />}
      {deleting && (
        <ConfirmModal
          title={`Delete model ${deleting.id}?`}
          confirmLabel="Delete model"
          isWorking={remove.isPending}
          onConfirm={() => remove.mutate(deleting)}
          onClose={() => setDeleting(null)}
        >
          People lose access to it and keys can no longer call it. Past usage stays in the ledger.
        </ConfirmModal>
      )}
    </>
  );
}
