/**
 * @module One team: its budget and limits, members (owners add, change and remove them),
 * model subscriptions (owners request them) and keys (members create keys charged to the
 * team; owners view, revoke and see usage of all of them).
 */
import { useState, type FormEvent } from 'react';
import { useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Button, Card, CardBody, CardTitle, DescriptionList, DescriptionListDescription, DescriptionListGroup, DescriptionListTerm,
  Flex, FlexItem, FormSelect, FormSelectOption, Label, PageSection, Stack, StackItem, TextInput,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { api } from '../api';
import { ApiKeyFormModal } from '../components/ApiKeyFormModal';
import { BudgetText } from '../components/BudgetText';
import { ConfirmModal } from '../components/ConfirmModal';
import { LinkButton } from '../components/LinkButton';
import { NewKeyModal } from '../components/NewKeyModal';
import { PageHeader } from '../components/PageHeader';
import { ErrorAlert, Loading } from '../components/States';
import { KeyStatusLabel, SubscriptionStatusLabel } from '../components/StatusLabel';
import { ViewKeyModal } from '../components/ViewKeyModal';
import { formatDate, formatLimit } from '../format';
import { teamKeys, useModels, useTeamSubscriptions } from '../hooks/queries';
import { canAdminister, useMe } from '../hooks/useMe';
import { useToast } from '../hooks/toast';
import type { ApiKey, ApiKeyWithSecret, Team, TeamMember } from '../types';

type Dialog = { kind: 'create' } | { kind: 'secret'; key: ApiKeyWithSecret } | { kind: 'view'; key: ApiKey } | { kind: 'revoke'; key: ApiKey } | { kind: 'remove'; member: TeamMember };

export function TeamPage() {
  const { id = '' } = useParams();
  const base = `/teams/${encodeURIComponent(id)}`;
  const me = useMe();
  const toast = useToast();
  const queryClient = useQueryClient();
  const team = useQuery({ queryKey: teamKeys.team(id), queryFn: () => api<Team>('GET', base) });
  const members = useQuery({ queryKey: [...teamKeys.team(id), 'members'], queryFn: async () => (await api<{ members: TeamMember[] }>('GET', `${base}/members`)).members });
  const apiKeys = useQuery({ queryKey: [...teamKeys.team(id), 'keys'], queryFn: async () => (await api<{ apiKeys: ApiKey[] }>('GET', `${base}/api-keys`)).apiKeys });
  const subscriptions = useTeamSubscriptions(id);
  const models = useModels();
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const [newMember, setNewMember] = useState({ username: '', role: 'member' });
  const [model, setModel] = useState('');

  const owner = team.data?.role === 'owner' || canAdminister(me.data);
  const refresh = () => void queryClient.invalidateQueries({ queryKey: teamKeys.team(id) });
  const fail = (what: string) => (error: unknown) => toast.failure(what, error);

  const addMember = useMutation({
    mutationFn: () => api('POST', `${base}/members`, { username: newMember.username.trim(), role: newMember.role }),
    onSuccess: () => { toast.success(`${newMember.username} added`); setNewMember({ username: '', role: 'member' }); refresh(); },
    onError: fail('Could not add the member'),
  });
  const setRole = useMutation({
    mutationFn: (m: { userId: string; role: string }) => api('POST', `${base}/members`, m),
    onSuccess: refresh,
    onError: fail('Could not change the role'),
  });
  const removeMember = useMutation({
    mutationFn: (m: TeamMember) => api('DELETE', `${base}/members/${encodeURIComponent(m.userId)}`),
    onSuccess: () => { setDialog(null); refresh(); },
    onError: (e) => { setDialog(null); fail('Could not remove the member')(e); },
  });
  const subscribe = useMutation({
    mutationFn: () => api('POST', `${base}/subscriptions`, { modelId: model }),
    onSuccess: () => { toast.success(`Team subscribed to ${model}`); setModel(''); refresh(); },
    onError: fail('Could not subscribe the team'),
  });
  const revoke = useMutation({
    mutationFn: (k: ApiKey) => api('DELETE', `/api-keys/${encodeURIComponent(k.id)}`),
    onSuccess: () => { setDialog(null); refresh(); },
    onError: (e) => { setDialog(null); fail('Could not revoke the key')(e); },
  });

  if (team.isPending) return <PageSection><Loading label="Loading the team" /></PageSection>;
  if (team.isError) return <PageSection><ErrorAlert error={team.error} title="Could not load the team" /></PageSection>;
  const t = team.data;
  const subscribed = new Set((subscriptions.data ?? []).filter((s) => s.status !== 'cancelled' && s.status !== 'denied').map((s) => s.modelId));
  const available = (models.data ?? []).filter((m) => !subscribed.has(m.id));
  const add = (e: FormEvent) => { e.preventDefault(); if (newMember.username.trim()) addMember.mutate(); };

  return (
    <>
      <PageHeader
        title={`Team ${t.name}`}
        description={t.description ?? 'Keys of this team use its budget, limits and subscriptions.'}
        actions={owner ? <LinkButton to={`/usage?team=${encodeURIComponent(id)}`} variant="secondary">Team usage</LinkButton> : undefined}
      />
      <PageSection isFilled>
        <Stack hasGutter>
          <StackItem>
            <Card isCompact>
              <CardTitle>Budget and limits</CardTitle>
              <CardBody>
                <DescriptionList isHorizontal isCompact columnModifier={{ default: '2Col' }}>
                  <DescriptionListGroup><DescriptionListTerm>Budget</DescriptionListTerm><DescriptionListDescription><BudgetText spend={t.spend} maxBudget={t.maxBudget} period={t.budgetPeriod} /></DescriptionListDescription></DescriptionListGroup>
                  <DescriptionListGroup><DescriptionListTerm>Rate limits</DescriptionListTerm><DescriptionListDescription>{formatLimit(t.rpm, 'rpm')} · {formatLimit(t.tpm, 'tpm')}</DescriptionListDescription></DescriptionListGroup>
                  <DescriptionListGroup><DescriptionListTerm>Your role</DescriptionListTerm><DescriptionListDescription>{t.role ?? (canAdminister(me.data) ? 'administrator' : '—')}</DescriptionListDescription></DescriptionListGroup>
                  <DescriptionListGroup><DescriptionListTerm>Status</DescriptionListTerm><DescriptionListDescription>{t.disabled ? <Label color="red">disabled — its keys do not work</Label> : 'active'}</DescriptionListDescription></DescriptionListGroup>
                </DescriptionList>
              </CardBody>
            </Card>
          </StackItem>

          <StackItem>
            <Card isCompact>
              <CardTitle>Members</CardTitle>
              <CardBody>
                {members.isError && <ErrorAlert error={members.error} title="Could not load members" />}
                <Table aria-label="Members" variant="compact">
                  <Thead><Tr><Th>Person</Th><Th>Role</Th><Th>Added</Th><Th screenReaderText="Actions" /></Tr></Thead>
                  <Tbody>
                    {(members.data ?? []).map((m) => (
                      <Tr key={m.userId}>
                        <Td dataLabel="Person"><strong>{m.displayName ?? m.username}</strong> <span className="lm-muted">{m.username}</span></Td>
                        <Td dataLabel="Role">
                          {owner ? (
                            <FormSelect aria-label={`Role of ${m.username}`} value={m.role} onChange={(_e, role) => setRole.mutate({ userId: m.userId, role })} style={{ width: 140 }}>
                              <FormSelectOption value="owner" label="owner" />
                              <FormSelectOption value="member" label="member" />
                            </FormSelect>
                          ) : <Label isCompact color={m.role === 'owner' ? 'blue' : 'grey'}>{m.role}</Label>}
                        </Td>
                        <Td dataLabel="Added">{formatDate(m.addedAt)}</Td>
                        <Td isActionCell>
                          {(owner || m.userId === me.data?.id) && (
                            <Button variant="secondary" isDanger size="sm" onClick={() => setDialog({ kind: 'remove', member: m })}>{m.userId === me.data?.id ? 'Leave' : 'Remove'}</Button>
                          )}
                        </Td>
                      </Tr>
                    ))}
                  </Tbody>
                </Table>
                {owner && (
                  <form onSubmit={add} style={{ marginTop: 12 }}>
                    <Flex gap={{ default: 'gapSm' }} alignItems={{ default: 'alignItemsCenter' }}>
                      <FlexItem style={{ width: 240 }}>
                        <TextInput aria-label="Username to add" placeholder="username" value={newMember.username} onChange={(_e, v) => setNewMember((c) => ({ ...c, username: v }))} />
                      </FlexItem>
                      <FlexItem style={{ width: 140 }}>
                        <FormSelect aria-label="Role of the new member" value={newMember.role} onChange={(_e, role) => setNewMember((c) => ({ ...c, role }))}>
                          <FormSelectOption value="member" label="member" />
                          <FormSelectOption value="owner" label="owner" />
                        </FormSelect>
                      </FlexItem>
                      <Button type="submit" variant="secondary" isLoading={addMember.isPending} isDisabled={!newMember.username.trim()}>Add member</Button>
                    </Flex>
                  </form>
                )}
              </CardBody>
            </Card>
          </StackItem>

          <StackItem>
            <Card isCompact>
              <CardTitle>Model subscriptions</CardTitle>
              <CardBody>
                <Table aria-label="Team subscriptions" variant="compact">
                  <Thead><Tr><Th>Model</Th><Th>Status</Th><Th>Since</Th></Tr></Thead>
                  <Tbody>
                    {(subscriptions.data ?? []).map((s) => (
                      <Tr key={s.id}><Td dataLabel="Model">{s.modelId}</Td><Td dataLabel="Status"><SubscriptionStatusLabel status={s.status} /></Td><Td dataLabel="Since">{formatDate(s.createdAt)}</Td></Tr>
                    ))}
                  </Tbody>
                </Table>
                {owner && available.length > 0 && (
                  <Flex gap={{ default: 'gapSm' }} style={{ marginTop: 12 }}>
                    <FlexItem style={{ width: 320 }}>
                      <FormSelect aria-label="Model to subscribe the team to" value={model} onChange={(_e, v) => setModel(v)}>
                        <FormSelectOption value="" label="Choose a model" isPlaceholder />
                        {available.map((m) => <FormSelectOption key={m.id} value={m.id} label={m.id} />)}
                      </FormSelect>
                    </FlexItem>
                    <Button variant="secondary" isDisabled={!model} isLoading={subscribe.isPending} onClick={() => subscribe.mutate()}>Subscribe the team</Button>
                  </Flex>
                )}
              </CardBody>
            </Card>
          </StackItem>

          <StackItem>
            <Card isCompact>
              <CardTitle>
                <Flex justifyContent={{ default: 'justifyContentSpaceBetween' }}>
                  <span>Team API keys</span>
                  {t.role && !t.disabled && <Button size="sm" onClick={() => setDialog({ kind: 'create' })}>Create team key</Button>}
                </Flex>
              </CardTitle>
              <CardBody>
                <Table aria-label="Team API keys" variant="compact">
                  <Thead><Tr><Th>Name</Th><Th>Key</Th><Th>Spend</Th><Th>Status</Th><Th screenReaderText="Actions" /></Tr></Thead>
                  <Tbody>
                    {(apiKeys.data ?? []).map((k) => {
                      const mine = owner || k.createdBy === me.data?.id;
                      return (
                        <Tr key={k.id}>
                          <Td dataLabel="Name"><strong>{k.name}</strong>{k.createdBy && members.data && <div className="lm-muted">by {members.data.find((m) => m.userId === k.createdBy)?.username ?? 'a former member'}</div>}</Td>
                          <Td dataLabel="Key"><code className="lm-nowrap">{k.prefix}</code></Td>
                          <Td dataLabel="Spend"><BudgetText spend={k.spend} maxBudget={k.maxBudget} period={k.budgetPeriod} /></Td>
                          <Td dataLabel="Status"><KeyStatusLabel status={k.status} /></Td>
                          <Td isActionCell>
                            {mine && k.status === 'active' && (
                              <Flex gap={{ default: 'gapSm' }} flexWrap={{ default: 'nowrap' }}>
                                <Button variant="secondary" size="sm" onClick={() => setDialog({ kind: 'view', key: k })}>View key</Button>
                                <Button variant="secondary" isDanger size="sm" onClick={() => setDialog({ kind: 'revoke', key: k })}>Revoke</Button>
                              </Flex>
                            )}
                          </Td>
                        </Tr>
                      );
                    })}
                  </Tbody>
                </Table>
              </CardBody>
            </Card>
          </StackItem>
        </Stack>
      </PageSection>

      {dialog?.kind === 'create' && (
        <ApiKeyFormModal team={{ id, name: t.name }} onClose={() => setDialog(null)} onCreated={(key) => { refresh(); setDialog({ kind: 'secret', key }); }} />
      )}
      {dialog?.kind === 'secret' && <NewKeyModal apiKey={dialog.key} title={`Team key created: ${dialog.key.name}`} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'view' && <ViewKeyModal apiKey={dialog.key} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'revoke' && (
        <ConfirmModal title="Revoke team key?" confirmLabel="Revoke" isWorking={revoke.isPending} onConfirm={() => revoke.mutate(dialog.key)} onClose={() => setDialog(null)}>
          Applications using <strong>{dialog.key.name}</strong> stop working at once.
        </ConfirmModal>
      )}
      {dialog?.kind === 'remove' && (
        <ConfirmModal title={dialog.member.userId === me.data?.id ? 'Leave the team?' : `Remove ${dialog.member.username}?`} confirmLabel={dialog.member.userId === me.data?.id ? 'Leave' : 'Remove'} isWorking={removeMember.isPending} onConfirm={() => removeMember.mutate(dialog.member)} onClose={() => setDialog(null)}>
          The team's keys stay with the team and keep working.
        </ConfirmModal>
      )}
    </>
  );
}
