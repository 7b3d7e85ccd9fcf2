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

const scopeLabels: Record<AdminTokenScope, string> = { admin: 'Admin', 'admin-readonly': 'Admin (read-only)', team: 'Team' };
const statusColors = { active: 'green', revoked: 'red', expired: 'grey' } as const;
const EXPIRY_DAYS = [['30', '30 days'], ['90', '90 days'], ['365', '1 year'], ['', 'Never']] as const;

function CreateTokenModal({ onClose, onCreated }: { onClose: () => void; onCreated: (t: AdminTokenWithSecret) => void }) {
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
      <ModalHeader title="Create admin API token" labelId="create-token-title" />
      <ModalBody>
        <Form id="create-token-form" onSubmit={submit}>
          {error && !field && <ErrorAlert error={error} title="Could not create the token" />}
          <Field label="Name" fieldId="token-name" isRequired error={errorOf('name')} hint="Shown in the audit log as token:<name>, e.g. ci-pipeline.">
            <TextInput id="token-name" isRequired value={name} onChange={(_e, v) => setName(v)} validated={errorOf('name') ? 'error' : 'default'} />
          </Field>
          <Field label="Scope" fieldId="token-scope" error={errorOf('scope')}>
            <FormSelect id="token-scope" value={scope} onChange={(_e, v) => setScope(v as AdminTokenScope)}>
              <FormSelectOption value="admin-readonly" label="Admin (read-only): every admin read, no change" />
              <FormSelectOption value="admin" label="Admin: everything an administrator may do" />
              <FormSelectOption value="team" label="Team: one team's routes only" />
            </FormSelect>
          </Field>
          {scope === 'team' && (
            <Field label="Team id" fieldId="token-team" isRequired error={errorOf('teamId')}>
              <TextInput id="token-team" isRequired value={teamId} onChange={(_e, v) => setTeamId(v)} validated={errorOf('teamId') ? 'error' : 'default'} />
            </Field>
          )}
          <Field label="Expires" fieldId="token-expiry" error={errorOf('expiresAt')}>
            <FormSelect id="token-expiry" value={days} onChange={(_e, v) => setDays(v)}>
              {EXPIRY_DAYS.map(([value, label]) => (
                <FormSelectOption key={value} value={value} label={label} />
              ))}
            </FormSelect>
          </Field>
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button type="submit" form="create-token-form" isLoading={create.isPending} isDisabled={create.isPending || !name.trim()}>
          Create
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}

function NewTokenModal({ token, onClose }: { token: AdminTokenWithSecret; onClose: () => void }) {
  return (
    <Modal isOpen onClose={onClose} variant="medium" aria-labelledby="new-token-title">
      <ModalHeader title={`Token created: ${token.name}`} labelId="new-token-title" titleIconVariant="success" />
      <ModalBody>
        <Alert variant="warning" isInline title="Copy the token now: it is not shown again" style={{ marginBottom: 16 }}>
          Only its hash is stored. Send it as <code>Authorization: Bearer &lt;token&gt;</code> to the /api/v1/admin routes.
        </Alert>
        <ClipboardCopy isReadOnly hoverTip="Copy" clickTip="Copied" textAriaLabel="The new admin API token" toggleAriaLabel="Show the token">
          {token.token}
        </ClipboardCopy>
      </ModalBody>
      <ModalFooter>
        <Button onClick={onClose}>Done</Button>
      </ModalFooter>
    </Modal>
  );
}

export function AdminTokensPage() {
  const canChange = canAdminister(useMe().data);
  const client = useQueryClient();
  const toast = useToast();
  const tokens = useQuery({ queryKey: ['admin', 'tokens'], queryFn: () => api<{ tokens: AdminToken[] }>('GET', '/admin/tokens') });
  const [dialog, setDialog] = useState<{ kind: 'create' } | { kind: 'created'; token: AdminTokenWithSecret } | { kind: 'revoke'; token: AdminToken } | null>(null);
  const revoke = useMutation({
    mutationFn: (t: AdminToken) => api<AdminToken>('DELETE', `/admin/tokens/${encodeURIComponent(t.id)}`),
    onSuccess: (t) => {
      toast.success(`Token ${t.name} revoked`, 'It no longer works.');
      setDialog(null);
      void client.invalidateQueries({ queryKey: ['admin', 'tokens'] });
    },
    onError: (error) => toast.failure('Could not revoke the token', error),
  });
  const rows = tokens.data?.tokens ?? [];

  return (
    <>
      <PageHeader
        title="Admin tokens"
        description="Named, scoped, expiring tokens for automation against the admin API, besides LITEMAAS_ADMIN_TOKEN. Each is shown once and stored hashed."
        actions={canChange && <Button onClick={() => setDialog({ kind: 'create' })}>Create token</Button>}
      />
      <PageSection isFilled>
        {tokens.isPending && <Loading label="Loading tokens" />}
        {tokens.isError && <ErrorAlert error={tokens.error} title="Could not load tokens" />}
        {tokens.isSuccess && rows.length === 0 && (
          <Empty title="No admin tokens yet" icon={KeyIcon}>
            Create one for a pipeline or a dashboard; the audit log will name it.
          </Empty>
        )}
        {rows.length > 0 && (
          <Table aria-label="Admin tokens" variant="compact">
            <Thead>
              <Tr>
                <Th>Name</Th>
                <Th>Token</Th>
                <Th>Scope</Th>
                <Th>Status</Th>
                <Th>Created</Th>
                <Th>Expires</Th>
                <Th>Last used</Th>
                <Th screenReaderText="Actions" />
              </Tr>
            </Thead>
            <Tbody>
              {rows.map((t) => (
                <Tr key={t.id}>
                  <Td dataLabel="Name">
                    <strong>{t.name}</strong>
                  </Td>
                  <Td dataLabel="Token">
                    <code>{t.prefix}</code>
                  </Td>
                  <Td dataLabel="Scope">
                    {scopeLabels[t.scope]}
                    {t.teamId && <div className="lm-muted">{t.teamId}</div>}
                  </Td>
                  <Td dataLabel="Status">
                    <Label color={statusColors[t.status]} isCompact>
                      {t.status}
                    </Label>
                  </Td>
                  <Td dataLabel="Created">
                    {formatDateTime(t.createdAt)}
                    <div className="lm-muted">by {t.createdBy}</div>
                  </Td>
                  <Td dataLabel="Expires">{t.expiresAt ? formatDateTime(t.expiresAt) : 'Never'}</Td>
                  <Td dataLabel="Last used">{t.lastUsedAt ? formatDateTime(t.lastUsedAt) : 'Never'}</Td>
                  <Td dataLabel="Actions" isActionCell>
                    {canChange && t.status === 'active' && (
                      <Button variant="link" isDanger size="sm" onClick={() => setDialog({ kind: 'revoke', token: t })}>
                        Revoke
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
          title={`Revoke ${dialog.token.name}?`}
          confirmLabel="Revoke"
          isWorking={revoke.isPending}
          onConfirm={() => revoke.mutate(dialog.token)}
          onClose={() => setDialog(null)}
        >
          Anything using this token gets 401 from now on. This cannot be undone.
        </ConfirmModal>
      )}
    </>
  );
}
