/**
 * @module The person's API keys: create, view (endpoint, examples, reveal), edit, rotate, revoke.
 * `?create=1&model=<id>` opens the create form with that model chosen (the Models page links here);
 * `?view=<id>` opens View key (where "sign in again" comes back to).
 */
import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Button, Flex, Label, LabelGroup, PageSection } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import KeyIcon from '@patternfly/react-icons/dist/esm/icons/key-icon';
import { api } from '../api';
import { ApiKeyFormModal } from '../components/ApiKeyFormModal';
import { BudgetText } from '../components/BudgetText';
import { ConfirmModal } from '../components/ConfirmModal';
import { LinkButton } from '../components/LinkButton';
import { NewKeyModal } from '../components/NewKeyModal';
import { RotateKeyModal } from '../components/RotateKeyModal';
import { PageHeader } from '../components/PageHeader';
import { Empty, ErrorAlert, Loading } from '../components/States';
import { KeyStatusLabel } from '../components/StatusLabel';
import { ViewKeyModal } from '../components/ViewKeyModal';
import { formatDate, formatDateTime, formatLimit } from '../format';
import { keys, useApiKeys, useSubscriptions, useTeams } from '../hooks/queries';
import { useToast } from '../hooks/toast';
import type { ApiKey, ApiKeyWithSecret } from '../types';
import { useTranslation } from 'react-i18next';

type Dialog =
  | { kind: 'create'; models: string[] }
  | { kind: 'edit'; key: ApiKey }
  | { kind: 'rotate'; key: ApiKey }
  | { kind: 'revoke'; key: ApiKey }
  | { kind: 'secret'; key: ApiKeyWithSecret; title: string };

export function ApiKeysPage() {
  const { t } = useTranslation();
  const apiKeys = useApiKeys();
  const subscriptions = useSubscriptions();
  const teams = useTeams();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [params, setParams] = useSearchParams();
  const [dialog, setDialog] = useState<Dialog | null>(() =>
    params.get('create') ? { kind: 'create', models: params.getAll('model') } : null,
  );

  const viewId = params.get('view');
  const viewing = apiKeys.data?.find((key) => key.id === viewId);
  const setView = (id: string | null) =>
    setParams((current) => {
      const next = new URLSearchParams(current);
      next.delete('create');
      next.delete('model');
      if (id) next.set('view', id);
      else next.delete('view');
      return next;
    });
  const close = () => {
    setDialog(null);
    if (params.has('create')) setView(null);
  };

  const rotate = useMutation({
    mutationFn: ({ key, graceSeconds }: { key: ApiKey; graceSeconds: number }) =>
      api<ApiKeyWithSecret>('POST', `/api-keys/${encodeURIComponent(key.id)}/rotate`, { graceSeconds }),
    onSuccess: (rotated) => {
      void queryClient.invalidateQueries({ queryKey: keys.apiKeys });
      const until = rotated.previousValidUntil ? t('apiKeys.rotate.oldUntil', { date: formatDateTime(rotated.previousValidUntil) }) : t('apiKeys.rotate.oldGone');
      toast.success(t('apiKeys.rotate.done', { name: rotated.name }), until);
      setDialog({ kind: 'secret', key: rotated, title: t('apiKeys.rotate.title', { name: rotated.name }) });
    },
    onError: (error) => {
      toast.failure(t('apiKeys.rotate.failed'), error);
      setDialog(null);
    },
  });
  const revoke = useMutation({
    mutationFn: (key: ApiKey) => api<ApiKey>('DELETE', `/api-keys/${encodeURIComponent(key.id)}`),
    onSuccess: (revoked) => {
      void queryClient.invalidateQueries({ queryKey: keys.apiKeys });
      toast.success(t('apiKeys.revoke.done', { name: revoked.name }));
      setDialog(null);
    },
    onError: (error) => {
      toast.failure(t('apiKeys.revoke.failed'), error);
      setDialog(null);
    },
  });

  // A member of a team can create a key charged to it without a subscription of their own.
  const hasActiveSubscription = subscriptions.data?.some((s) => s.status === 'active') || (teams.data?.teams.length ?? 0) > 0;
  const createButton = (
    <Button variant="primary" onClick={() => setDialog({ kind: 'create', models: [] })}>
      {t('apiKeys.create')}
    </Button>
  );

  return (
    <>
      <PageHeader
        title={t('apiKeys.title')}
        description={t('apiKeys.description')}
        actions={apiKeys.data?.length === 0 ? undefined : createButton /* the empty state offers it instead */}
      />
      <PageSection isFilled>
        {apiKeys.isPending && <Loading label={t('apiKeys.loading')} />}
        {apiKeys.isError && <ErrorAlert error={apiKeys.error} title={t('apiKeys.loadError')} />}
        {apiKeys.isSuccess && apiKeys.data.length === 0 &&
          (subscriptions.isSuccess && !hasActiveSubscription ? (
            <Empty title={t('apiKeys.subscribeFirst')} icon={KeyIcon} action={<LinkButton to="/models">{t('apiKeys.browseModels')}</LinkButton>}>
              {t('apiKeys.subscribeFirstBody')}
            </Empty>
          ) : (
            <Empty title={t('apiKeys.empty')} icon={KeyIcon} action={createButton}>
              {t('apiKeys.emptyBody')}
            </Empty>
          ))}
        {apiKeys.isSuccess && apiKeys.data.length > 0 && (
          <Table aria-label={t('apiKeys.table')} variant="compact">
            <Thead>
              <Tr>
                <Th modifier="wrap">{t('apiKeys.col.name')}</Th>
                <Th modifier="wrap">{t('apiKeys.col.key')}</Th>
                <Th modifier="wrap">{t('apiKeys.col.models')}</Th>
                <Th modifier="wrap">{t('apiKeys.col.budget')}</Th>
                <Th modifier="wrap">{t('apiKeys.col.expires')}</Th>
                <Th modifier="wrap">{t('apiKeys.col.status')}</Th>
                <Th screenReaderText={t('apiKeys.col.actions')} />
              </Tr>
            </Thead>
            <Tbody>
              {apiKeys.data.map((key) => (
                <Tr key={key.id}>
                  <Td dataLabel={t('apiKeys.col.name')}>
                    <strong>{key.name}</strong>
                    {key.teamName && (
                      <div>
                        <Label isCompact color="purple">{t('apiKeys.team', { name: key.teamName })}</Label>
                      </div>
                    )}
                    {key.description && <div className="lm-muted">{key.description}</div>}
                  </Td>
                  <Td dataLabel={t('apiKeys.col.key')} modifier="nowrap">
                    <span className="lm-mono">{key.prefix}</span>
                  </Td>
                  <Td dataLabel={t('apiKeys.col.models')}>
                    <LabelGroup numLabels={2}>
                      {key.models.map((model) => (
                        <Label key={model} isCompact>
                          {model}
                        </Label>
                      ))}
                    </LabelGroup>
                  </Td>
                  <Td dataLabel={t('apiKeys.col.budget')}>
                    <BudgetText spend={key.spend} maxBudget={key.maxBudget} period={key.budgetPeriod} />
                    <div className="lm-muted">
                      {key.rpm === null && key.tpm === null ? t('apiKeys.noRateLimits') : `${formatLimit(key.rpm, 'RPM')} · ${formatLimit(key.tpm, 'TPM')}`}
                    </div>
                  </Td>
                  <Td dataLabel={t('apiKeys.col.expires')}>
                    {key.expiresAt ? t('apiKeys.expires', { date: formatDate(key.expiresAt) }) : t('apiKeys.neverExpires')}
                    <div className="lm-muted">{key.lastUsedAt ? t('apiKeys.used', { date: formatDateTime(key.lastUsedAt) }) : t('apiKeys.neverUsed')}</div>
                  </Td>
                  <Td dataLabel={t('apiKeys.col.status')}>
                    <KeyStatusLabel status={key.status} />
                  </Td>
                  <Td dataLabel={t('apiKeys.col.actions')}>
                    <Flex gap={{ default: 'gapXs' }}>
                      <Button variant="secondary" size="sm" onClick={() => setView(key.id)}>
                        {t('apiKeys.view')}
                      </Button>
                      {key.status !== 'revoked' && (
                        <>
                          <Button variant="link" size="sm" onClick={() => setDialog({ kind: 'edit', key })}>
                            {t('apiKeys.edit')}
                          </Button>
                          <Button variant="link" size="sm" onClick={() => setDialog({ kind: 'rotate', key })}>
                            {t('apiKeys.rotateAction')}
                          </Button>
                          <Button variant="link" isDanger size="sm" onClick={() => setDialog({ kind: 'revoke', key })}>
                            {t('apiKeys.revokeAction')}
                          </Button>
                        </>
                      )}
                    </Flex>
                  </Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        )}
      </PageSection>

      {viewing && <ViewKeyModal apiKey={viewing} onClose={() => setView(null)} />}
      {dialog?.kind === 'create' && (
        <ApiKeyFormModal
          initialModels={dialog.models}
          onClose={close}
          onCreated={(created) => {
            if (params.has('create')) setView(null);
            setDialog({ kind: 'secret', key: created, title: t('apiKeys.createdTitle', { name: created.name }) });
          }}
        />
      )}
      {dialog?.kind === 'edit' && <ApiKeyFormModal apiKey={dialog.key} onClose={close} />}
      {dialog?.kind === 'secret' && <NewKeyModal apiKey={dialog.key} title={dialog.title} onClose={close} />}
      {dialog?.kind === 'rotate' && (
        <RotateKeyModal name={dialog.key.name} isWorking={rotate.isPending} onConfirm={(graceSeconds) => rotate.mutate({ key: dialog.key, graceSeconds })} onClose={close} />
      )}
      {dialog?.kind === 'revoke' && (
        <ConfirmModal
          title={t('apiKeys.revoke.title', { name: dialog.key.name })}
          confirmLabel={t('apiKeys.revoke.confirm')}
          isWorking={revoke.isPending}
          onConfirm={() => revoke.mutate(dialog.key)}
          onClose={close}
        >
          {t('apiKeys.revoke.body')}
        </ConfirmModal>
      )}
    </>
  );
}
