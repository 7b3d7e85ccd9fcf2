/**
 * @module Create or edit an API key: name, description, models (from active subscriptions),
 * budget, rate limits and expiry. Errors show beside the field the server or the form names.
 */
import { useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  Button,
  Form,
  FormSelect,
  FormSelectOption,
  Grid,
  GridItem,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  TextArea,
  TextInput,
} from '@patternfly/react-core';
import { api, isApiError } from '../api';
import { formatDate } from '../format';
import { allowedExpiries, FieldError, initialKeyForm, keyBody, type Expiry, type KeyBody, type KeyFormState } from '../keyForm';
import { keys, teamKeys, useSubscriptions, useTeamSubscriptions, useTeams } from '../hooks/queries';
import { useConfig } from '../hooks/useConfig';
import { useToast } from '../hooks/toast';
import type { ApiKey, ApiKeyWithSecret, BudgetPeriod } from '../types';
import { Field, serverField } from './Field';
import { LinkButton } from './LinkButton';
import { MultiSelect } from './MultiSelect';
import { Loading } from './States';

const expiryChoices: { value: Expiry; label: string }[] = [
  { value: 'never', label: 'Never' },
  { value: '30', label: 'In 30 days' },
  { value: '60', label: 'In 60 days' },
  { value: '90', label: 'In 90 days' },
  { value: '180', label: 'In 180 days' },
  { value: '365', label: 'In a year' },
  { value: 'custom', label: 'On a date…' },
];

const periods: { value: BudgetPeriod; label: string }[] = [
  { value: 'monthly', label: 'Monthly' },
  { value: 'weekly', label: 'Weekly' },
  { value: 'daily', label: 'Daily' },
  { value: 'none', label: 'Total (never resets)' },
];

export function ApiKeyFormModal({
  apiKey,
  initialModels,
  team,
  onClose,
  onCreated,
}: {
  /** Create a key charged to this team (its budget, limits and subscriptions apply). */
  team?: { id: string; name: string };
  /** The key to edit; without it the form creates one. */
  apiKey?: ApiKey;
  initialModels?: string[];
  onClose: () => void;
  onCreated?: (created: ApiKeyWithSecret) => void;
}) {
  const config = useConfig();
  // Charged to: '' the person, else one of their teams. Only chosen on create; a key's owner never changes.
  const [chargeTo, setChargeTo] = useState<string>(team?.id ?? '');
  const teams = useTeams();
  const mySubscriptions = useSubscriptions();
  const teamSubscriptions = useTeamSubscriptions(chargeTo || null);
  const subscriptions = chargeTo ? teamSubscriptions : mySubscriptions;
  const queryClient = useQueryClient();
  const toast = useToast();
  const [form, setForm] = useState<KeyFormState>(() =>
    initialKeyForm(apiKey, config.data?.keyDefaults, initialModels, config.data?.keyMaximums?.expiresInDays),
  );
  const [errors, setErrors] = useState<Partial<Record<keyof KeyFormState, string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const isEdit = !!apiKey;
  const currency = config.data?.currency ?? 'USD';

  const save = useMutation({
    mutationFn: (body: KeyBody) =>
      isEdit
        ? api<ApiKey>('PATCH', `/api-keys/${encodeURIComponent(apiKey.id)}`, body)
        : api<ApiKeyWithSecret>('POST', '/api-keys', chargeTo ? { ...body, teamId: chargeTo } : body),
    onSuccess: (saved) => {
      void queryClient.invalidateQueries({ queryKey: keys.apiKeys });
      void queryClient.invalidateQueries({ queryKey: teamKeys.teams });
      if (isEdit) {
        toast.success(`Key ${saved.name} saved`);
        onClose();
      } else {
        toast.success(`Key ${saved.name} created`);
        onCreated?.(saved as ApiKeyWithSecret);
      }
    },
    onError: (error) => {
      const field = serverField(isApiError(error) ? error.field : undefined);
      const formField = (field === 'expiresAt' ? 'expiry' : field) as keyof KeyFormState | undefined;
      if (formField && formField in form) setErrors({ [formField]: error.message });
      else setFormError(error.message);
    },
  });

  const set = <K extends keyof KeyFormState>(field: K, value: KeyFormState[K]) => {
    setForm((current) => ({ ...current, [field]: value }));
    setErrors((current) => ({ ...current, [field]: undefined }));
  };

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    setFormError(null);
    try {
      save.mutate(keyBody(form));
    } catch (error) {
      if (error instanceof FieldError) setErrors({ [error.field]: error.message });
      else throw error;
    }
  };

  const active = (subscriptions.data ?? []).filter((s) => s.status === 'active').map((s) => s.modelId);
  const modelOptions = [...new Set([...active, ...form.models])].map((value) => ({ value }));
  const noSubscriptions = subscriptions.isSuccess && active.length === 0 && !isEdit;
  const maximums = config.data?.keyMaximums;
  const allowed = allowedExpiries(maximums?.expiresInDays);

  return (
    <Modal isOpen onClose={onClose} variant="medium" aria-labelledby="key-form-title">
      <ModalHeader title={isEdit ? `Edit key: ${apiKey.name}` : team ? `Create a key for team ${team.name}` : 'Create API key'} labelId="key-form-title" />
      <ModalBody>
        {subscriptions.isPending && <Loading label="Loading your subscriptions" />}
        {noSubscriptions && (
          <Alert variant="warning" isInline title="Subscribe to a model first" actionLinks={<LinkButton to="/models" variant="link" isInline>Browse models</LinkButton>}>
            A key can only use models you have an active subscription to.
          </Alert>
        )}
        {formError && (
          <Alert variant="danger" isInline title={isEdit ? 'Could not save the key' : 'Could not create the key'} style={{ marginBottom: 16 }}>
            {formError}
          </Alert>
        )}
        <Form id="key-form" onSubmit={submit} noValidate>
          {!isEdit && !team && (teams.data?.teams.length ?? 0) > 0 && (
            <Field label="Charged to" fieldId="key-charge" hint="A team's key uses the team's budget, limits and model subscriptions, and stays with the team if you leave it.">
              <FormSelect id="key-charge" value={chargeTo} onChange={(_e, v) => { setChargeTo(v); set('models', []); }}>
                <FormSelectOption value="" label="Me (my own budget)" />
                {teams.data!.teams.map((t) => (
                  <FormSelectOption key={t.id} value={t.id} label={`Team ${t.name}`} />
                ))}
              </FormSelect>
            </Field>
          )}
          <Field label="Name" fieldId="key-name" isRequired error={errors.name}>
            <TextInput id="key-name" isRequired value={form.name} onChange={(_e, v) => set('name', v)} validated={errors.name ? 'error' : 'default'} />
          </Field>
          <Field label="Description" fieldId="key-description" error={errors.description} hint="Who or what uses this key, so you recognise it later.">
            <TextArea id="key-description" value={form.description} onChange={(_e, v) => set('description', v)} resizeOrientation="vertical" rows={2} />
          </Field>
          <Field label="Models" fieldId="key-models" isRequired error={errors.models} hint={chargeTo ? "Only models the team is actively subscribed to." : 'Only models you are actively subscribed to.'}>
            <MultiSelect
              id="key-models"
              options={modelOptions}
              selected={form.models}
              onChange={(v) => set('models', v)}
              placeholder="Choose models"
              validated={errors.models ? 'error' : undefined}
            />
          </Field>
          <Grid hasGutter md={6}>
            <GridItem>
              <Field label={`Max budget (${currency})`} fieldId="key-budget" error={errors.maxBudget} hint={maximums?.maxBudget != null ? `At most ${maximums.maxBudget}. Empty: no budget.` : 'Empty: no budget.'}>
                <TextInput id="key-budget" type="number" min={0} step="any" value={form.maxBudget} onChange={(_e, v) => set('maxBudget', v)} validated={errors.maxBudget ? 'error' : 'default'} />
              </Field>
            </GridItem>
            <GridItem>
              <Field label="Budget period" fieldId="key-period" error={errors.budgetPeriod}>
                <FormSelect id="key-period" value={form.budgetPeriod} onChange={(_e, v) => set('budgetPeriod', v as BudgetPeriod)}>
                  {periods.map((p) => (
                    <FormSelectOption key={p.value} value={p.value} label={p.label} />
                  ))}
                </FormSelect>
              </Field>
            </GridItem>
            <GridItem>
              <Field label="Requests per minute (RPM)" fieldId="key-rpm" error={errors.rpm} hint={maximums?.rpm != null ? `At most ${maximums.rpm}. Empty: no limit.` : 'Empty: no limit.'}>
                <TextInput id="key-rpm" type="number" min={1} step={1} value={form.rpm} onChange={(_e, v) => set('rpm', v)} validated={errors.rpm ? 'error' : 'default'} />
              </Field>
            </GridItem>
            <GridItem>
              <Field label="Tokens per minute (TPM)" fieldId="key-tpm" error={errors.tpm} hint={maximums?.tpm != null ? `At most ${maximums.tpm}. Empty: no limit.` : 'Empty: no limit.'}>
                <TextInput id="key-tpm" type="number" min={1} step={1} value={form.tpm} onChange={(_e, v) => set('tpm', v)} validated={errors.tpm ? 'error' : 'default'} />
              </Field>
            </GridItem>
            <GridItem>
              <Field
                label="Expires"
                fieldId="key-expiry"
                error={errors.expiry}
                hint={maximums?.expiresInDays ? `Keys last at most ${maximums.expiresInDays} days.` : undefined}
              >
                <FormSelect id="key-expiry" value={form.expiry} onChange={(_e, v) => set('expiry', v as Expiry)}>
                  {isEdit && apiKey.expiresAt && <FormSelectOption value="keep" label={`Keep (${formatDate(apiKey.expiresAt)})`} />}
                  {expiryChoices
                    .filter((c) => allowed.includes(c.value) || c.value === form.expiry)
                    .map((c) => (
                      <FormSelectOption key={c.value} value={c.value} label={c.label} />
                    ))}
                </FormSelect>
              </Field>
            </GridItem>
            {form.expiry === 'custom' && (
              <GridItem>
                <Field label="Expiry date" fieldId="key-expiry-date" error={errors.expiryDate} hint="The key works until the end of this day (UTC).">
                  <TextInput id="key-expiry-date" type="date" value={form.expiryDate} onChange={(_e, v) => set('expiryDate', v)} validated={errors.expiryDate ? 'error' : 'default'} />
                </Field>
              </GridItem>
            )}
          </Grid>
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button type="submit" form="key-form" variant="primary" isLoading={save.isPending} isDisabled={save.isPending || noSubscriptions}>
          {isEdit ? 'Save' : 'Create'}
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
