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

export function TeamsPage() {
  const mine = useTeams();
  const me = useMe();
  const admin = canAdminister(me.data);
  const seesAll = canSeeAdmin(me.data);
  // Admins see every team (the admin list), people the ones they are in.
  const all = useQuery({ queryKey: ['admin', 'teams'], queryFn: async () => (await api<{ teams: Team[] }>('GET', '/admin/teams')).teams, enabled: seesAll });
  const [creating, setCreating] = useState(false);
  const roles = new Map((mine.data?.teams ?? []).map((t) => [t.id, t.role]));
  const teams = seesAll ? all.data?.map((t) => ({ ...t, role: roles.get(t.id) ?? null })) : mine.data?.teams;
  const loading = seesAll ? all.isPending : mine.isPending;
  const error = mine.error ?? all.error;
  const create = mine.data?.canCreate ? <Button onClick={() => setCreating(true)}>Create team</Button> : undefined;

  return (
    <>
      <PageHeader
        title="Teams"
        description="A team shares a budget, rate limits, model subscriptions and API keys. Its keys belong to the team and keep working when the person who made them leaves."
        actions={create}
      />
      <PageSection isFilled>
        {loading && <Loading label="Loading teams" />}
        {error && <ErrorAlert error={error} title="Could not load teams" />}
        {teams && teams.length === 0 && (
          <Empty title="You are not in a team yet" icon={UsersIcon} action={create}>
            An administrator adds you to a team, or a team owner does. Team keys are charged to the team's budget.
          </Empty>
        )}
        {teams && teams.length > 0 && (
          <Table aria-label="Teams" variant="compact">
            <Thead>
              <Tr>
                <Th>Team</Th>
                <Th>Your role</Th>
                <Th>Members</Th>
                <Th>Budget</Th>
                <Th>Limits</Th>
              </Tr>
            </Thead>
            <Tbody>
              {teams.map((t) => (
                <Tr key={t.id}>
                  <Td dataLabel="Team">
                    <Link to={`/teams/${encodeURIComponent(t.id)}`}><strong>{t.name}</strong></Link>
                    {t.disabled && <> <Label isCompact color="red">disabled</Label></>}
                    {t.description && <div className="lm-muted">{t.description}</div>}
                  </Td>
                  <Td dataLabel="Your role">{t.role ? <Label isCompact color={t.role === 'owner' ? 'blue' : 'grey'}>{t.role}</Label> : '—'}</Td>
                  <Td dataLabel="Members">{t.members}</Td>
                  <Td dataLabel="Budget"><BudgetText spend={t.spend} maxBudget={t.maxBudget} period={t.budgetPeriod} /></Td>
                  <Td dataLabel="Limits">{formatLimit(t.rpm, 'rpm')} · {formatLimit(t.tpm, 'tpm')}</Td>
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

const periods: { value: BudgetPeriod; label: string }[] = [
  { value: 'monthly', label: 'Monthly' },
  { value: 'weekly', label: 'Weekly' },
  { value: 'daily', label: 'Daily' },
  { value: 'none', label: 'Total (never resets)' },
];

/** Create a team; admins also set its budget and limits (people's teams start without them). */
function TeamFormModal({ admin, onClose }: { admin: boolean; onClose: () => void }) {
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
    onSuccess: (t) => {
      toast.success(`Team ${t.name} created`);
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
    if (!form.name.trim()) { setErrors({ name: 'Give the team a name.' }); return; }
    save.mutate();
  };
  return (
    <Modal isOpen onClose={onClose} variant="small" aria-labelledby="team-form-title">
      <ModalHeader title="Create team" labelId="team-form-title" />
      <ModalBody>
        {formError && <Alert variant="danger" isInline title="Could not create the team" style={{ marginBottom: 16 }}>{formError}</Alert>}
        <Form id="team-form" onSubmit={submit} noValidate>
          <Field label="Name" fieldId="team-name" isRequired error={errors.name}>
            <TextInput id="team-name" value={form.name} onChange={(_e, v) => set('name', v)} validated={errors.name ? 'error' : 'default'} />
          </Field>
          <Field label="Description" fieldId="team-description" error={errors.description}>
            <TextInput id="team-description" value={form.description} onChange={(_e, v) => set('description', v)} />
          </Field>
          {admin && (
            <Grid hasGutter md={6}>
              <GridItem>
                <Field label="Max budget" fieldId="team-budget" error={errors.maxBudget} hint="Empty: no budget.">
                  <TextInput id="team-budget" type="number" min={0} step="any" value={form.maxBudget} onChange={(_e, v) => set('maxBudget', v)} />
                </Field>
              </GridItem>
              <GridItem>
                <Field label="Budget period" fieldId="team-period">
                  <FormSelect id="team-period" value={form.budgetPeriod} onChange={(_e, v) => set('budgetPeriod', v)}>
                    {periods.map((p) => <FormSelectOption key={p.value} value={p.value} label={p.label} />)}
                  </FormSelect>
                </Field>
              </GridItem>
              <GridItem>
                <Field label="Requests per minute" fieldId="team-rpm" error={errors.rpm} hint="Empty: no limit.">
                  <TextInput id="team-rpm" type="number" min={1} step={1} value={form.rpm} onChange={(_e, v) => set('rpm', v)} />
                </Field>
              </GridItem>
              <GridItem>
                <Field label="Tokens per minute" fieldId="team-tpm" error={errors.tpm} hint="Empty: no limit.">
                  <TextInput id="team-tpm" type="number" min={1} step={1} value={form.tpm} onChange={(_e, v) => set('tpm', v)} />
                </Field>
              </GridItem>
            </Grid>
          )}
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button type="submit" form="team-form" isLoading={save.isPending} isDisabled={save.isPending}>Create</Button>
        <Button variant="link" onClick={onClose}>Cancel</Button>
      </ModalFooter>
    </Modal>
  );
}
