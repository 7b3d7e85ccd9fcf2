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

type Dialog =
  | { kind: 'create'; models: string[] }
  | { kind: 'edit'; key: ApiKey }
  | { kind: 'rotate'; key: ApiKey }
  | { kind: 'revoke'; key: ApiKey }
  | { kind: 'secret'; key: ApiKeyWithSecret; title: string };

export function ApiKeysPage() {
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
      const until = rotated.previousValidUntil ? `The old secret works until ${formatDateTime(rotated.previousValidUntil)}.` : 'The old secret no longer works.';
      toast.success(`Key ${rotated.name} rotated`, until);
      setDialog({ kind: 'secret', key: rotated, title: `Key rotated: ${rotated.name}` });
    },
    onError: (error) => {
      toast.failure('Could not rotate the key', error);
      setDialog(null);
    },
  });
  const revoke = useMutation({
    mutationFn: (key: ApiKey) => api<ApiKey>('DELETE', `/api-keys/${encodeURIComponent(key.id)}`),
    onSuccess: (revoked) => {
      void queryClient.invalidateQueries({ queryKey: keys.apiKeys });
      toast.success(`Key ${revoked.name} revoked`);
      setDialog(null);
    },
    onError: (error) => {
      toast.failure('Could not revoke the key', error);
      setDialog(null);
    },
  });

  // A member of a team can create a key charged to it without a subscription of their own.
  const hasActiveSubscription = subscriptions.data?.some((s) => s.status === 'active') || (teams.data?.teams.length ?? 0) > 0;
  const createButton = (
    <Button variant="primary" onClick={() => setDialog({ kind: 'create', models: [] })}>
      Create API key
    </Button>
  );

  return (
    <>
      <PageHeader
        title="API Keys"
        description="Keys let your applications call the models you subscribe to. Use one key per application."
        actions={apiKeys.data?.length === 0 ? undefined : createButton /* the empty state offers it instead */}
      />
      <PageSection isFilled>
        {apiKeys.isPending && <Loading label="Loading API keys" />}
        {apiKeys.isError && <ErrorAlert error={apiKeys.error} title="Could not load API keys" />}
        {apiKeys.isSuccess && apiKeys.data.length === 0 &&
          (subscriptions.isSuccess && !hasActiveSubscription ? (
            <Empty title="Subscribe to a model first" icon={KeyIcon} action={<LinkButton to="/models">Browse models</LinkButton>}>
              A key can call only the models you are subscribed to. Pick a model, subscribe, then come back to create a key.
            </Empty>
          ) : (
            <Empty title="No API keys yet — create one" icon={KeyIcon} action={createButton}>
              Create a key for each application, with its own budget and limits.
            </Empty>
          ))}
        {apiKeys.isSuccess && apiKeys.data.length > 0 && (
          <Table aria-label="API keys" variant="compact">
            <Thead>
              <Tr>
                <Th modifier="wrap">Name</Th>
                <Th modifier="wrap">Key</Th>
                <Th modifier="wrap">Models</Th>
                <Th modifier="wrap">Budget and limits</Th>
                <Th modifier="wrap">Expires · last used</Th>
                <Th modifier="wrap">Status</Th>
                <Th screenReaderText="Actions" />
              </Tr>
            </Thead>
            <Tbody>
              {apiKeys.data.map((key) => (
                <Tr key={key.id}>
                  <Td dataLabel="Name">
                    <strong>{key.name}</strong>
                    {key.teamName && (
                      <div>
                        <Label isCompact color="purple">Team {key.teamName}</Label>
                      </div>
                    )}
                    {key.description && <div className="lm-muted">{key.description}</div>}
                  </Td>
                  <Td dataLabel="Key" modifier="nowrap">
                    <span className="lm-mono">{key.prefix}</span>
                  </Td>
                  <Td dataLabel="Models">
                    <LabelGroup numLabels={2}>
                      {key.models.map((model) => (
                        <Label key={model} isCompact>
                          {model}
                        </Label>
                      ))}
                    </LabelGroup>
                  </Td>
                  <Td dataLabel="Budget and limits">
                    <BudgetText spend={key.spend} maxBudget={key.maxBudget} period={key.budgetPeriod} />
                    <div className="lm-muted">
                      {key.rpm === null && key.tpm === null ? 'No rate limits' : `${formatLimit(key.rpm, 'RPM')} · ${formatLimit(key.tpm, 'TPM')}`}
                    </div>
                  </Td>
                  <Td dataLabel="Expires · last used">
                    {key.expiresAt ? `Expires ${formatDate(key.expiresAt)}` : 'Never expires'}
                    <div className="lm-muted">{key.lastUsedAt ? `Used ${formatDateTime(key.lastUsedAt)}` : 'Never used'}</div>
                  </Td>
                  <Td dataLabel="Status">
                    <KeyStatusLabel status={key.status} />
                  </Td>
                  <Td dataLabel="Actions">
                    <Flex gap={{ default: 'gapXs' }}>
                      <Button variant="secondary" size="sm" onClick={() => setView(key.id)}>
                        View key
                      </Button>
                      {key.status !== 'revoked' && (
                        <>
                          <Button variant="link" size="sm" onClick={() => setDialog({ kind: 'edit', key })}>
                            Edit
                          </Button>
                          <Button variant="link" size="sm" onClick={() => setDialog({ kind: 'rotate', key })}>
                            Rotate
                          </Button>
                          <Button variant="link" isDanger size="sm" onClick={() => setDialog({ kind: 'revoke', key })}>
                            Revoke
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
            setDialog({ kind: 'secret', key: created, title: `API key created: ${created.name}` });
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
          title={`Revoke key ${dialog.key.name}?`}
          confirmLabel="Revoke key"
          isWorking={revoke.isPending}
          onConfirm={() => revoke.mutate(dialog.key)}
          onClose={close}
        >
          Applications using this key will be refused from now on. This cannot be undone; its usage history is kept.
        </ConfirmModal>
      )}
    </>
  );
}
