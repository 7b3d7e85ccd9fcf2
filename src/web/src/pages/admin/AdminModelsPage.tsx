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
import { useTranslation } from 'react-i18next';

export function AdminModelsPage() {
  const { t } = useTranslation();
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
      toast.success(t('adminModels.deleted', { id: model.id }));
      setDeleting(null);
      void queryClient.invalidateQueries({ queryKey: adminKeys.models });
      void queryClient.invalidateQueries({ queryKey: keys.models });
    },
    onError: (error) => {
      toast.failure(t('adminModels.deleteFailed'), error);
      setDeleting(null);
    },
  });

  const addButton = canChange && <Button onClick={() => setEditing('new')}>{t('adminModels.add')}</Button>;

  return (
    <>
      <PageHeader title={t('adminModels.title')} description={t('adminModels.description')} actions={models.data?.length === 0 ? undefined : addButton} />
      <PageSection isFilled>
        {models.isPending && <Loading label={t('adminModels.loading')} />}
        {models.isError && <ErrorAlert error={models.error} title={t('adminModels.loadError')} />}
        {models.isSuccess && models.data.length === 0 && (
          <Empty title={t('adminModels.empty')} icon={CubesIcon} action={addButton || undefined}>
            {t('adminModels.emptyBody')}
          </Empty>
        )}
        {models.isSuccess && models.data.length > 0 && (
          <Table aria-label={t('adminModels.title')} variant="compact">
            <Thead>
              <Tr>
                <Th modifier="wrap">{t('adminModels.col.model')}</Th>
                <Th modifier="wrap">{t('adminModels.col.provider')}</Th>
                <Th modifier="wrap">{t('adminModels.col.kind')}</Th>
                <Th modifier="wrap">{t('adminModels.col.context')}</Th>
                <Th modifier="wrap">{t('adminModels.col.prices')}</Th>
                <Th modifier="wrap">{t('adminModels.col.access')}</Th>
                <Th modifier="wrap">{t('adminModels.col.deployments')}</Th>
                <Th screenReaderText={t('adminModels.col.actions')} />
              </Tr>
            </Thead>
            <Tbody>
              {models.data.map((model) => (
                <Tr key={model.id}>
                  <Td dataLabel={t('adminModels.col.model')}>
                    <strong>{model.id}</strong>
                    {model.status === 'deprecated' && (
                      <>
                        {' '}
                        <Label isCompact color="grey">{t('adminModels.deprecated')}</Label>
                      </>
                    )}
                  </Td>
                  <Td dataLabel={t('adminModels.col.provider')}>{model.provider || '—'}</Td>
                  <Td dataLabel={t('adminModels.col.kind')}>{kindLabel(model.kind)}</Td>
                  <Td dataLabel={t('adminModels.col.context')}>{model.contextLength ? formatNumber(model.contextLength) : '—'}</Td>
                  <Td dataLabel={t('adminModels.col.prices')}>
                    {priceLines(model, money).map((line) => (
                      <div key={line.unit}>
                        {line.amount} <span className="lm-muted">{line.unit}</span>
                      </div>
                    ))}
                  </Td>
                  <Td dataLabel={t('adminModels.col.access')}>
                    {model.restricted ? (
                      <Label isCompact color="orange" icon={<LockIcon />}>{t('adminModels.restricted')}</Label>
                    ) : (
                      <Label isCompact color="green">{t('adminModels.open')}</Label>
                    )}
                  </Td>
                  <Td dataLabel={t('adminModels.col.deployments')}>
                    {model.deployments.map((d) => (
                      <div key={d.id} className="lm-mono lm-muted">
                        {d.url} → {d.upstreamModel}
                        {d.weight !== 1 && ` (×${d.weight})`}
                        {!d.enabled && ` ${t('adminModels.disabled')}`}
                      </div>
                    ))}
                  </Td>
                  <Td dataLabel={t('adminModels.col.actions')} isActionCell>
                    {canChange && (
                      <Flex gap={{ default: 'gapSm' }}>
                        <Button variant="link" size="sm" onClick={() => setEditing(model)}>
                          {t('adminModels.edit')}
                        </Button>
                        <Button variant="link" size="sm" isDanger onClick={() => setDeleting(model)}>
                          {t('adminModels.delete')}
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
          title={t('adminModels.deleteTitle', { id: deleting.id })}
          confirmLabel={t('adminModels.deleteConfirm')}
          isWorking={remove.isPending}
          onConfirm={() => remove.mutate(deleting)}
          onClose={() => setDeleting(null)}
        >
          {t('adminModels.deleteBody')}
        </ConfirmModal>
      )}
    </>
  );
}
