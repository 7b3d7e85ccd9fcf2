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
import { Trans, useTranslation } from 'react-i18next';

type Dialog = { kind: 'create' } | { kind: 'secret'; key: ApiKeyWithSecret } | { kind: 'view'; key: ApiKey } | { kind: 'revoke'; key: ApiKey } | { kind: 'remove'; member: TeamMember };

export function TeamPage() {
  const { t } = useTranslation();
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
    onSuccess: () => { toast.success(t('team.added', { username: newMember.username })); setNewMember({ username: '', role: 'member' }); refresh(); },
    onError: fail(t('team.addFailed')),
  });
  const setRole = useMutation({
    mutationFn: (m: { userId: string; role: string }) => api('POST', `${base}/members`, m),
    onSuccess: refresh,
    onError: fail(t('team.roleFailed')),
  });
  const removeMember = useMutation({
    mutationFn: (m: TeamMember) => api('DELETE', `${base}/members/${encodeURIComponent(m.userId)}`),
    onSuccess: () => { setDialog(null); refresh(); },
    onError: (e) => { setDialog(null); fail(t('team.removeFailed'))(e); },
  });
  const subscribe = useMutation({
    mutationFn: () => api('POST', `${base}/subscriptions`, { modelId: model }),
    onSuccess: () => { toast.success(t('team.subscribed', { model })); setModel(''); refresh(); },
    onError: fail(t('team.subscribeFailed')),
  });
  const revoke = useMutation({
    mutationFn: (k: ApiKey) => api('DELETE', `/api-keys/${encodeURIComponent(k.id)}`),
    onSuccess: () => { setDialog(null); refresh(); },
    onError: (e) => { setDialog(null); fail(t('team.revokeFailed'))(e); },
  });

  if (team.isPending) return <PageSection><Loading label={t('team.loading')} /></PageSection>;
  if (team.isError) return <PageSection><ErrorAlert error={team.error} title={t('team.loadError')} /></PageSection>;
  const current = team.data;
  const subscribed = new Set((subscriptions.data ?? []).filter((s) => s.status !== 'cancelled' && s.status !== 'denied').map((s) => s.modelId));
  const available = (models.data ?? []).filter((m) => !subscribed.has(m.id));
  const add = (e: FormEvent) => { e.preventDefault(); if (newMember.username.trim()) addMember.mutate(); };

  return (
    <>
      <PageHeader
        title={t('team.title', { name: current.name })}
        description={current.description ?? t('team.defaultDescription')}
        actions={owner ? <LinkButton to={`/usage?team=${encodeURIComponent(id)}`} variant="secondary">{t('team.usage')}</LinkButton> : undefined}
      />
      <PageSection isFilled>
        <Stack hasGutter>
          <StackItem>
            <Card isCompact>
              <CardTitle>{t('team.budgetAndLimits')}</CardTitle>
              <CardBody>
                <DescriptionList isHorizontal isCompact columnModifier={{ default: '2Col' }}>
                  <DescriptionListGroup><DescriptionListTerm>{t('team.budget')}</DescriptionListTerm><DescriptionListDescription><BudgetText spend={current.spend} maxBudget={current.maxBudget} period={current.budgetPeriod} /></DescriptionListDescription></DescriptionListGroup>
                  <DescriptionListGroup><DescriptionListTerm>{t('team.rateLimits')}</DescriptionListTerm><DescriptionListDescription>{formatLimit(current.rpm, 'rpm')} · {formatLimit(current.tpm, 'tpm')}</DescriptionListDescription></DescriptionListGroup>
                  <DescriptionListGroup><DescriptionListTerm>{t('team.yourRole')}</DescriptionListTerm><DescriptionListDescription>{current.role ? t(`teams.role.${current.role}`) : canAdminister(me.data) ? t('team.administrator') : '—'}</DescriptionListDescription></DescriptionListGroup>
                  <DescriptionListGroup><DescriptionListTerm>{t('team.status')}</DescriptionListTerm><DescriptionListDescription>{current.disabled ? <Label color="red">{t('team.disabled')}</Label> : t('team.active')}</DescriptionListDescription></DescriptionListGroup>
                </DescriptionList>
              </CardBody>
            </Card>
          </StackItem>

          <StackItem>
            <Card isCompact>
              <CardTitle>{t('team.members')}</CardTitle>
              <CardBody>
                {members.isError && <ErrorAlert error={members.error} title={t('team.membersError')} />}
                <Table aria-label={t('team.members')} variant="compact">
                  <Thead><Tr><Th>{t('team.col.person')}</Th><Th>{t('team.col.role')}</Th><Th>{t('team.col.added')}</Th><Th screenReaderText={t('team.col.actions')} /></Tr></Thead>
                  <Tbody>
                    {(members.data ?? []).map((m) => (
                      <Tr key={m.userId}>
                        <Td dataLabel={t('team.col.person')}><strong>{m.displayName ?? m.username}</strong> <span className="lm-muted">{m.username}</span></Td>
                        <Td dataLabel={t('team.col.role')}>
                          {owner ? (
                            <FormSelect aria-label={t('team.roleOf', { username: m.username })} value={m.role} onChange={(_e, role) => setRole.mutate({ userId: m.userId, role })} style={{ width: 140 }}>
                              <FormSelectOption value="owner" label={t('teams.role.owner')} />
                              <FormSelectOption value="member" label={t('teams.role.member')} />
                            </FormSelect>
                          ) : <Label isCompact color={m.role === 'owner' ? 'blue' : 'grey'}>{t(`teams.role.${m.role}`)}</Label>}
                        </Td>
                        <Td dataLabel={t('team.col.added')}>{formatDate(m.addedAt)}</Td>
                        <Td isActionCell>
                          {(owner || m.userId === me.data?.id) && (
                            <Button variant="secondary" isDanger size="sm" onClick={() => setDialog({ kind: 'remove', member: m })}>{m.userId === me.data?.id ? t('team.leave') : t('team.remove')}</Button>
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
                        <TextInput aria-label={t('team.usernameToAdd')} placeholder={t('team.usernamePlaceholder')} value={newMember.username} onChange={(_e, v) => setNewMember((c) => ({ ...c, username: v }))} />
                      </FlexItem>
                      <FlexItem style={{ width: 140 }}>
                        <FormSelect aria-label={t('team.newMemberRole')} value={newMember.role} onChange={(_e, role) => setNewMember((c) => ({ ...c, role }))}>
                          <FormSelectOption value="member" label={t('teams.role.member')} />
                          <FormSelectOption value="owner" label={t('teams.role.owner')} />
                        </FormSelect>
                      </FlexItem>
                      <Button type="submit" variant="secondary" isLoading={addMember.isPending} isDisabled={!newMember.username.trim()}>{t('team.addMember')}</Button>
                    </Flex>
                  </form>
                )}
              </CardBody>
            </Card>
          </StackItem>

          <StackItem>
            <Card isCompact>
              <CardTitle>{t('team.subscriptions')}</CardTitle>
              <CardBody>
                <Table aria-label={t('team.subscriptionsTable')} variant="compact">
                  <Thead><Tr><Th>{t('team.col.model')}</Th><Th>{t('team.col.status')}</Th><Th>{t('team.col.since')}</Th></Tr></Thead>
                  <Tbody>
                    {(subscriptions.data ?? []).map((s) => (
                      <Tr key={s.id}><Td dataLabel={t('team.col.model')}>{s.modelId}</Td><Td dataLabel={t('team.col.status')}><SubscriptionStatusLabel status={s.status} /></Td><Td dataLabel={t('team.col.since')}>{formatDate(s.createdAt)}</Td></Tr>
                    ))}
                  </Tbody>
                </Table>
                {owner && available.length > 0 && (
                  <Flex gap={{ default: 'gapSm' }} style={{ marginTop: 12 }}>
                    <FlexItem style={{ width: 320 }}>
                      <FormSelect aria-label={t('team.modelToSubscribe')} value={model} onChange={(_e, v) => setModel(v)}>
                        <FormSelectOption value="" label={t('team.chooseModel')} isPlaceholder />
                        {available.map((m) => <FormSelectOption key={m.id} value={m.id} label={m.id} />)}
                      </FormSelect>
                    </FlexItem>
                    <Button variant="secondary" isDisabled={!model} isLoading={subscribe.isPending} onClick={() => subscribe.mutate()}>{t('team.subscribe')}</Button>
                  </Flex>
                )}
              </CardBody>
            </Card>
          </StackItem>

          <StackItem>
            <Card isCompact>
              <CardTitle>
                <Flex justifyContent={{ default: 'justifyContentSpaceBetween' }}>
                  <span>{t('team.keys')}</span>
                  {current.role && !current.disabled && <Button size="sm" onClick={() => setDialog({ kind: 'create' })}>{t('team.createKey')}</Button>}
                </Flex>
              </CardTitle>
              <CardBody>
                <Table aria-label={t('team.keys')} variant="compact">
                  <Thead><Tr><Th>{t('team.col.name')}</Th><Th>{t('team.col.key')}</Th><Th>{t('team.col.spend')}</Th><Th>{t('team.col.status')}</Th><Th screenReaderText={t('team.col.actions')} /></Tr></Thead>
                  <Tbody>
                    {(apiKeys.data ?? []).map((k) => {
                      const mine = owner || k.createdBy === me.data?.id;
                      return (
                        <Tr key={k.id}>
                          <Td dataLabel={t('team.col.name')}><strong>{k.name}</strong>{k.createdBy && members.data && <div className="lm-muted">{t('team.by', { username: members.data.find((m) => m.userId === k.createdBy)?.username ?? t('team.formerMember') })}</div>}</Td>
                          <Td dataLabel={t('team.col.key')}><code className="lm-nowrap">{k.prefix}</code></Td>
                          <Td dataLabel={t('team.col.spend')}><BudgetText spend={k.spend} maxBudget={k.maxBudget} period={k.budgetPeriod} /></Td>
                          <Td dataLabel={t('team.col.status')}><KeyStatusLabel status={k.status} /></Td>
                          <Td isActionCell>
                            {mine && k.status === 'active' && (
                              <Flex gap={{ default: 'gapSm' }} flexWrap={{ default: 'nowrap' }}>
                                <Button variant="secondary" size="sm" onClick={() => setDialog({ kind: 'view', key: k })}>{t('team.viewKey')}</Button>
                                <Button variant="secondary" isDanger size="sm" onClick={() => setDialog({ kind: 'revoke', key: k })}>{t('team.revoke')}</Button>
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
        <ApiKeyFormModal team={{ id, name: current.name }} onClose={() => setDialog(null)} onCreated={(key) => { refresh(); setDialog({ kind: 'secret', key }); }} />
      )}
      {dialog?.kind === 'secret' && <NewKeyModal apiKey={dialog.key} title={t('team.keyCreated', { name: dialog.key.name })} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'view' && <ViewKeyModal apiKey={dialog.key} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'revoke' && (
        <ConfirmModal title={t('team.revokeTitle')} confirmLabel={t('team.revoke')} isWorking={revoke.isPending} onConfirm={() => revoke.mutate(dialog.key)} onClose={() => setDialog(null)}>
          <Trans i18nKey="team.revokeBody" values={{ name: dialog.key.name }} components={{ key: <strong /> }} />
        </ConfirmModal>
      )}
      {dialog?.kind === 'remove' && (
        <ConfirmModal title={dialog.member.userId === me.data?.id ? t('team.leaveTitle') : t('team.removeTitle', { username: dialog.member.username })} confirmLabel={dialog.member.userId === me.data?.id ? t('team.leave') : t('team.remove')} isWorking={removeMember.isPending} onConfirm={() => removeMember.mutate(dialog.member)} onClose={() => setDialog(null)}>
          {t('team.removeBody')}
        </ConfirmModal>
      )}
    </>
  );
}
