/**
 * @module Teams: the teams the person is in (admins: every team), each with its budget and
 * spend; admins — and people, when settings allow — create one. A team's page is /teams/:id.
 */
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Form, FormSelect, FormSelectOption, Grid, GridItem, Label, Modal, ModalBody, ModalFooter, ModalHeader, PageSection, TextInput } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import UsersIcon from '@patternfly/react-icons/dist/esm/icons/users-icon';
import { api, isApiError } from '../api';
import { BudgetText } from '../components/BudgetText';
import { Field, serverField } from '../components/Field';
import { PageHeader } from '../components/PageHeader';
import { Empty, ErrorAlert, Loading } from '../components/States';
import { formatLimit } from '../format';
import { teamKeys, useTeams } from '../hooks/queries';
import { canAdminister, canSeeAdmin, useMe } from '../hooks/useMe';
import { useToast } from '../hooks/toast';
import type { BudgetPeriod, Team } from '../types';
import { useTranslation } from 'react-i18next';

export function TeamsPage() {
  const { t } = useTranslation();
  const mine = useTeams();
  const me = useMe();
  const admin = canAdminister(me.data);
  const seesAll = canSeeAdmin(me.data);
  // Admins see every team (the admin list), people the ones they are in.
  const all = useQuery({ queryKey: ['admin', 'teams'], queryFn: async () => (await api<{ teams: Team[] }>('GET', '/admin/teams')).teams, enabled: seesAll });
  const [creating, setCreating] = useState(false);
  const roles = new Map((mine.data?.teams ?? []).map((team) => [team.id, team.role]));
  const teams = seesAll ? all.data?.map((team) => ({ ...team, role: roles.get(team.id) ?? null })) : mine.data?.teams;
  const loading = seesAll ? all.isPending : mine.isPending;
  const error = mine.error ?? all.error;
  const create = mine.data?.canCreate ? <Button onClick={() => setCreating(true)}>{t('teams.create')}</Button> : undefined;

  return (
    <>
      <PageHeader
        title={t('teams.title')}
        description={t('teams.description')}
        actions={create}
      />
      <PageSection isFilled>
        {loading && <Loading label={t('teams.loading')} />}
        {error && <ErrorAlert error={error} title={t('teams.loadError')} />}
        {teams && teams.length === 0 && (
          <Empty title={t('teams.empty')} icon={UsersIcon} action={create}>
            {t('teams.emptyBody')}
          </Empty>
        )}
        {teams && teams.length > 0 && (
          <Table aria-label={t('teams.title')} variant="compact">
            <Thead>
              <Tr>
                <Th>{t('teams.col.team')}</Th>
                <Th>{t('teams.col.role')}</Th>
                <Th>{t('teams.col.members')}</Th>
                <Th>{t('teams.col.budget')}</Th>
                <Th>{t('teams.col.limits')}</Th>
              </Tr>
            </Thead>
            <Tbody>
              {teams.map((team) => (
                <Tr key={team.id}>
                  <Td dataLabel={t('teams.col.team')}>
                    <Link to={`/teams/${encodeURIComponent(team.id)}`}><strong>{team.name}</strong></Link>
                    {team.disabled && <> <Label isCompact color="red">{t('teams.disabled')}</Label></>}
                    {team.description && <div className="lm-muted">{team.description}</div>}
                  </Td>
                  <Td dataLabel={t('teams.col.role')}>{team.role ? <Label isCompact color={team.role === 'owner' ? 'blue' : 'grey'}>{t(`teams.role.${team.role}`)}</Label> : '—'}</Td>
                  <Td dataLabel={t('teams.col.members')}>{team.members}</Td>
                  <Td dataLabel={t('teams.col.budget')}><BudgetText spend={team.spend} maxBudget={team.maxBudget} period={team.budgetPeriod} /></Td>
                  <Td dataLabel={t('teams.col.limits')}>{formatLimit(team.rpm, 'rpm')} · {formatLimit(team.tpm, 'tpm')}</Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        )}
      </PageSection>
      {creating && <TeamFormModal admin={admin} onClose={() => setCreating(false)} />}
    </>
  );
}

/** Each period's label is `keyForm.period.<value>`. */
const periods: BudgetPeriod[] = ['monthly', 'weekly', 'daily', 'none'];

/** Create a team; admins also set its budget and limits (people's teams start without them). */
function TeamFormModal({ admin, onClose }: { admin: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const [form, setForm] = useState({ name: '', description: '', maxBudget: '', budgetPeriod: 'monthly' as BudgetPeriod, rpm: '', tpm: '' });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const queryClient = useQueryClient();
  const toast = useToast();
  const num = (v: string) => (v.trim() === '' ? null : Number(v));
  const save = useMutation({
    mutationFn: () => {
      const body = admin
        ? { name: form.name, description: form.description || null, maxBudget: num(form.maxBudget), budgetPeriod: form.budgetPeriod, rpm: num(form.rpm), tpm: num(form.tpm) }
        : { name: form.name, description: form.description || null };
      return api<Team>('POST', admin ? '/admin/teams' : '/teams', body);
    },
    onSuccess: (team) => {
      toast.success(t('teams.created', { name: team.name }));
      void queryClient.invalidateQueries({ queryKey: teamKeys.teams });
      void queryClient.invalidateQueries({ queryKey: ['admin', 'teams'] });
      onClose();
    },
    onError: (error) => {
      const field = serverField(isApiError(error) ? error.field : undefined);
      if (field && field in form) setErrors({ [field]: error.message });
      else setFormError(error.message);
    },
  });
  const set = (field: keyof typeof form, value: string) => {
    setForm((c) => ({ ...c, [field]: value }));
    setErrors((c) => ({ ...c, [field]: '' }));
  };
  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    setFormError(null);
    if (!form.name.trim()) { setErrors({ name: t('teams.form.nameRequired') }); return; }
    save.mutate();
  };
  return (
    <Modal isOpen onClose={onClose} variant="small" aria-labelledby="team-form-title">
      <ModalHeader title={t('teams.form.title')} labelId="team-form-title" />
      <ModalBody>
        {formError && <Alert variant="danger" isInline title={t('teams.form.failed')} style={{ marginBottom: 16 }}>{formError}</Alert>}
        <Form id="team-form" onSubmit={submit} noValidate>
          <Field label={t('teams.form.name')} fieldId="team-name" isRequired error={errors.name}>
            <TextInput id="team-name" value={form.name} onChange={(_e, v) => set('name', v)} validated={errors.name ? 'error' : 'default'} />
          </Field>
          <Field label={t('teams.form.description')} fieldId="team-description" error={errors.description}>
            <TextInput id="team-description" value={form.description} onChange={(_e, v) => set('description', v)} />
          </Field>
          {admin && (
            <Grid hasGutter md={6}>
              <GridItem>
                <Field label={t('teams.form.maxBudget')} fieldId="team-budget" error={errors.maxBudget} hint={t('keyForm.emptyNoBudget')}>
                  <TextInput id="team-budget" type="number" min={0} step="any" value={form.maxBudget} onChange={(_e, v) => set('maxBudget', v)} />
                </Field>
              </GridItem>
              <GridItem>
                <Field label={t('teams.form.budgetPeriod')} fieldId="team-period">
                  <FormSelect id="team-period" value={form.budgetPeriod} onChange={(_e, v) => set('budgetPeriod', v)}>
                    {periods.map((p) => <FormSelectOption key={p} value={p} label={t(`keyForm.period.${p}`)} />)}
                  </FormSelect>
                </Field>
              </GridItem>
              <GridItem>
                <Field label={t('teams.form.rpm')} fieldId="team-rpm" error={errors.rpm} hint={t('keyForm.emptyNoLimit')}>
                  <TextInput id="team-rpm" type="number" min={1} step={1} value={form.rpm} onChange={(_e, v) => set('rpm', v)} />
                </Field>
              </GridItem>
              <GridItem>
                <Field label={t('teams.form.tpm')} fieldId="team-tpm" error={errors.tpm} hint={t('keyForm.emptyNoLimit')}>
                  <TextInput id="team-tpm" type="number" min={1} step={1} value={form.tpm} onChange={(_e, v) => set('tpm', v)} />
                </Field>
              </GridItem>
            </Grid>
          )}
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button type="submit" form="team-form" isLoading={save.isPending} isDisabled={save.isPending}>{t('teams.form.create')}</Button>
        <Button variant="link" onClick={onClose}>{t('common.cancel')}</Button>
      </ModalFooter>
    </Modal>
  );
}
