/**
 * @module Admin API tokens: create one (name, scope, expiry) and copy it — it is shown once —
 * see who made each, when it was last used, and revoke it. Admin-readonly sees the list only.
 */
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  Button,
  ClipboardCopy,
  Form,
  FormSelect,
  FormSelectOption,
  Label,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  PageSection,
  TextInput,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import KeyIcon from '@patternfly/react-icons/dist/esm/icons/key-icon';
import { api, isApiError } from '../../api';
import { ConfirmModal } from '../../components/ConfirmModal';
import { Field, serverField } from '../../components/Field';
import { PageHeader } from '../../components/PageHeader';
import { Empty, ErrorAlert, Loading } from '../../components/States';
import { formatDateTime } from '../../format';
import { useToast } from '../../hooks/toast';
import { canAdminister, useMe } from '../../hooks/useMe';
import type { AdminToken, AdminTokenScope, AdminTokenWithSecret } from '../../types';
import { Trans, useTranslation } from 'react-i18next';

const statusColors = { active: 'green', revoked: 'red', expired: 'grey' } as const;
/** Days a new token lasts ('' never); each one's label is `adminTokens.expiry.<days or never>`. */
const EXPIRY_DAYS = ['30', '90', '365', ''] as const;

function CreateTokenModal({ onClose, onCreated }: { onClose: () => void; onCreated: (token: AdminTokenWithSecret) => void }) {
  const { t } = useTranslation();
  const [name, setName] = useState('');
  const [scope, setScope] = useState<AdminTokenScope>('admin-readonly');
  const [teamId, setTeamId] = useState('');
  const [days, setDays] = useState('90');
  const create = useMutation({
    mutationFn: () =>
      api<AdminTokenWithSecret>('POST', '/admin/tokens', {
        name: name.trim(),
        scope,
        ...(scope === 'team' ? { teamId: teamId.trim() } : {}),
        expiresAt: days ? new Date(Date.now() + Number(days) * 86_400_000).toISOString() : null,
      }),
    onSuccess: onCreated,
  });
  const error = create.error;
  const field = isApiError(error) ? serverField(error.field) : undefined;
  const errorOf = (f: string) => (field === f ? error?.message : undefined);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <Modal isOpen onClose={onClose} variant="small" aria-labelledby="create-token-title">
      <ModalHeader title={t('adminTokens.createTitle')} labelId="create-token-title" />
      <ModalBody>
        <Form id="create-token-form" onSubmit={submit}>
          {error && !field && <ErrorAlert error={error} title={t('adminTokens.createFailed')} />}
          <Field label={t('adminTokens.name')} fieldId="token-name" isRequired error={errorOf('name')} hint={t('adminTokens.nameHint')}>
            <TextInput id="token-name" isRequired value={name} onChange={(_e, v) => setName(v)} validated={errorOf('name') ? 'error' : 'default'} />
          </Field>
          <Field label={t('adminTokens.scopeLabel')} fieldId="token-scope" error={errorOf('scope')}>
            <FormSelect id="token-scope" value={scope} onChange={(_e, v) => setScope(v as AdminTokenScope)}>
              <FormSelectOption value="admin-readonly" label={t('adminTokens.scopeReadonly')} />
              <FormSelectOption value="admin" label={t('adminTokens.scopeAdmin')} />
              <FormSelectOption value="team" label={t('adminTokens.scopeTeam')} />
            </FormSelect>
          </Field>
          {scope === 'team' && (
            <Field label={t('adminTokens.teamId')} fieldId="token-team" isRequired error={errorOf('teamId')}>
              <TextInput id="token-team" isRequired value={teamId} onChange={(_e, v) => setTeamId(v)} validated={errorOf('teamId') ? 'error' : 'default'} />
            </Field>
          )}
          <Field label={t('adminTokens.expires')} fieldId="token-expiry" error={errorOf('expiresAt')}>
            <FormSelect id="token-expiry" value={days} onChange={(_e, v) => setDays(v)}>
              {EXPIRY_DAYS.map((value) => (
                <FormSelectOption key={value} value={value} label={t(`adminTokens.expiry.${value || 'never'}`)} />
              ))}
            </FormSelect>
          </Field>
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button type="submit" form="create-token-form" isLoading={create.isPending} isDisabled={create.isPending || !name.trim()}>
          {t('adminTokens.create')}
        </Button>
        <Button variant="link" onClick={onClose}>
          {t('common.cancel')}
        </Button>
      </ModalFooter>
    </Modal>
  );
}

function NewTokenModal({ token, onClose }: { token: AdminTokenWithSecret; onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <Modal isOpen onClose={onClose} variant="medium" aria-labelledby="new-token-title">
      <ModalHeader title={t('adminTokens.createdTitle', { name: token.name })} labelId="new-token-title" titleIconVariant="success" />
      <ModalBody>
        <Alert variant="warning" isInline title={t('adminTokens.copyNow')} style={{ marginBottom: 16 }}>
          <Trans i18nKey="adminTokens.copyNowBody" components={{ c1: <code /> }} />
        </Alert>
        <ClipboardCopy isReadOnly hoverTip={t('adminTokens.copy')} clickTip={t('adminTokens.copied')} textAriaLabel={t('adminTokens.tokenLabel')} toggleAriaLabel={t('adminTokens.showToken')}>
          {token.token}
        </ClipboardCopy>
      </ModalBody>
      <ModalFooter>
        <Button onClick={onClose}>{t('adminTokens.done')}</Button>
      </ModalFooter>
    </Modal>
  );
}

export function AdminTokensPage() {
  const { t } = useTranslation();
  const canChange = canAdminister(useMe().data);
  const client = useQueryClient();
  const toast = useToast();
  const tokens = useQuery({ queryKey: ['admin', 'tokens'], queryFn: () => api<{ tokens: AdminToken[] }>('GET', '/admin/tokens') });
  const [dialog, setDialog] = useState<{ kind: 'create' } | { kind: 'created'; token: AdminTokenWithSecret } | { kind: 'revoke'; token: AdminToken } | null>(null);
  const revoke = useMutation({
    mutationFn: (tok: AdminToken) => api<AdminToken>('DELETE', `/admin/tokens/${encodeURIComponent(tok.id)}`),
    onSuccess: (tok) => {
      toast.success(t('adminTokens.revoked', { name: tok.name }), t('adminTokens.revokedBody'));
      setDialog(null);
      void client.invalidateQueries({ queryKey: ['admin', 'tokens'] });
    },
    onError: (error) => toast.failure(t('adminTokens.revokeFailed'), error),
  });
  const rows = tokens.data?.tokens ?? [];

  return (
    <>
      <PageHeader
        title={t('adminTokens.title')}
        description={t('adminTokens.description')}
        actions={canChange && <Button onClick={() => setDialog({ kind: 'create' })}>{t('adminTokens.createButton')}</Button>}
      />
      <PageSection isFilled>
        {tokens.isPending && <Loading label={t('adminTokens.loading')} />}
        {tokens.isError && <ErrorAlert error={tokens.error} title={t('adminTokens.loadError')} />}
        {tokens.isSuccess && rows.length === 0 && (
          <Empty title={t('adminTokens.empty')} icon={KeyIcon}>
            {t('adminTokens.emptyBody')}
          </Empty>
        )}
        {rows.length > 0 && (
          <Table aria-label={t('adminTokens.title')} variant="compact">
            <Thead>
              <Tr>
                <Th>{t('adminTokens.col.name')}</Th>
                <Th>{t('adminTokens.col.token')}</Th>
                <Th>{t('adminTokens.col.scope')}</Th>
                <Th>{t('adminTokens.col.status')}</Th>
                <Th>{t('adminTokens.col.created')}</Th>
                <Th>{t('adminTokens.col.expires')}</Th>
                <Th>{t('adminTokens.col.lastUsed')}</Th>
                <Th screenReaderText={t('adminTokens.col.actions')} />
              </Tr>
            </Thead>
            <Tbody>
              {rows.map((tok) => (
                <Tr key={tok.id}>
                  <Td dataLabel={t('adminTokens.col.name')}>
                    <strong>{tok.name}</strong>
                  </Td>
                  <Td dataLabel={t('adminTokens.col.token')}>
                    <code>{tok.prefix}</code>
                  </Td>
                  <Td dataLabel={t('adminTokens.col.scope')}>
                    {t(`adminTokens.scope.${tok.scope}`)}
                    {tok.teamId && <div className="lm-muted">{tok.teamId}</div>}
                  </Td>
                  <Td dataLabel={t('adminTokens.col.status')}>
                    <Label color={statusColors[tok.status]} isCompact>
                      {t(`adminTokens.status.${tok.status}`)}
                    </Label>
                  </Td>
                  <Td dataLabel={t('adminTokens.col.created')}>
                    {formatDateTime(tok.createdAt)}
                    <div className="lm-muted">{t('adminTokens.by', { name: tok.createdBy })}</div>
                  </Td>
                  <Td dataLabel={t('adminTokens.col.expires')}>{tok.expiresAt ? formatDateTime(tok.expiresAt) : t('adminTokens.never')}</Td>
                  <Td dataLabel={t('adminTokens.col.lastUsed')}>{tok.lastUsedAt ? formatDateTime(tok.lastUsedAt) : t('adminTokens.never')}</Td>
                  <Td dataLabel={t('adminTokens.col.actions')} isActionCell>
                    {canChange && tok.status === 'active' && (
                      <Button variant="link" isDanger size="sm" onClick={() => setDialog({ kind: 'revoke', token: tok })}>
                        {t('adminTokens.revoke')}
                      </Button>
                    )}
                  </Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        )}
      </PageSection>
      {dialog?.kind === 'create' && (
        <CreateTokenModal
          onClose={() => setDialog(null)}
          onCreated={(token) => {
            setDialog({ kind: 'created', token });
            void client.invalidateQueries({ queryKey: ['admin', 'tokens'] });
          }}
        />
      )}
      {dialog?.kind === 'created' && <NewTokenModal token={dialog.token} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'revoke' && (
        <ConfirmModal
          title={t('adminTokens.revokeTitle', { name: dialog.token.name })}
          confirmLabel={t('adminTokens.revoke')}
          isWorking={revoke.isPending}
          onConfirm={() => revoke.mutate(dialog.token)}
          onClose={() => setDialog(null)}
        >
          {t('adminTokens.revokeBody')}
        </ConfirmModal>
      )}
    </>
  );
}
