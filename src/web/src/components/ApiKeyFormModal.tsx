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
import { useTranslation } from 'react-i18next';

/** Each choice's label is `keyForm.expiry.<value>`. */
const expiryChoices: Expiry[] = ['never', '30', '60', '90', '180', '365', 'custom'];

/** Each period's label is `keyForm.period.<value>`. */
const periods: BudgetPeriod[] = ['monthly', 'weekly', 'daily', 'none'];

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
  const { t } = useTranslation();
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
        toast.success(t('keyForm.saved', { name: saved.name }));
        onClose();
      } else {
        toast.success(t('keyForm.created', { name: saved.name }));
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
      <ModalHeader title={isEdit ? t('keyForm.editTitle', { name: apiKey.name }) : team ? t('keyForm.teamTitle', { name: team.name }) : t('keyForm.createTitle')} labelId="key-form-title" />
      <ModalBody>
        {subscriptions.isPending && <Loading label={t('keyForm.loadingSubscriptions')} />}
        {noSubscriptions && (
          <Alert variant="warning" isInline title={t('keyForm.subscribeFirst')} actionLinks={<LinkButton to="/models" variant="link" isInline>{t('keyForm.browseModels')}</LinkButton>}>
            {t('keyForm.subscribeFirstBody')}
          </Alert>
        )}
        {formError && (
          <Alert variant="danger" isInline title={isEdit ? t('keyForm.saveFailed') : t('keyForm.createFailed')} style={{ marginBottom: 16 }}>
            {formError}
          </Alert>
        )}
        <Form id="key-form" onSubmit={submit} noValidate>
          {!isEdit && !team && (teams.data?.teams.length ?? 0) > 0 && (
            <Field label={t('keyForm.chargedTo')} fieldId="key-charge" hint={t('keyForm.chargedToHint')}>
              <FormSelect id="key-charge" value={chargeTo} onChange={(_e, v) => { setChargeTo(v); set('models', []); }}>
                <FormSelectOption value="" label={t('keyForm.chargeMe')} />
                {teams.data!.teams.map((other) => (
                  <FormSelectOption key={other.id} value={other.id} label={t('keyForm.chargeTeam', { name: other.name })} />
                ))}
              </FormSelect>
            </Field>
          )}
          <Field label={t('keyForm.name')} fieldId="key-name" isRequired error={errors.name}>
            <TextInput id="key-name" isRequired value={form.name} onChange={(_e, v) => set('name', v)} validated={errors.name ? 'error' : 'default'} />
          </Field>
          <Field label={t('keyForm.description')} fieldId="key-description" error={errors.description} hint={t('keyForm.descriptionHint')}>
            <TextArea id="key-description" value={form.description} onChange={(_e, v) => set('description', v)} resizeOrientation="vertical" rows={2} />
          </Field>
          <Field label={t('keyForm.models')} fieldId="key-models" isRequired error={errors.models} hint={chargeTo ? t('keyForm.modelsHintTeam') : t('keyForm.modelsHint')}>
            <MultiSelect
              id="key-models"
              options={modelOptions}
              selected={form.models}
              onChange={(v) => set('models', v)}
              placeholder={t('keyForm.chooseModels')}
              validated={errors.models ? 'error' : undefined}
            />
          </Field>
          <Grid hasGutter md={6}>
            <GridItem>
              <Field label={t('keyForm.maxBudget', { currency })} fieldId="key-budget" error={errors.maxBudget} hint={maximums?.maxBudget != null ? t('keyForm.atMostBudget', { max: maximums.maxBudget }) : t('keyForm.emptyNoBudget')}>
                <TextInput id="key-budget" type="number" min={0} step="any" value={form.maxBudget} onChange={(_e, v) => set('maxBudget', v)} validated={errors.maxBudget ? 'error' : 'default'} />
              </Field>
            </GridItem>
            <GridItem>
              <Field label={t('keyForm.budgetPeriod')} fieldId="key-period" error={errors.budgetPeriod}>
                <FormSelect id="key-period" value={form.budgetPeriod} onChange={(_e, v) => set('budgetPeriod', v as BudgetPeriod)}>
                  {periods.map((p) => (
                    <FormSelectOption key={p} value={p} label={t(`keyForm.period.${p}`)} />
                  ))}
                </FormSelect>
              </Field>
            </GridItem>
            <GridItem>
              <Field label={t('keyForm.rpm')} fieldId="key-rpm" error={errors.rpm} hint={maximums?.rpm != null ? t('keyForm.atMostLimit', { max: maximums.rpm }) : t('keyForm.emptyNoLimit')}>
                <TextInput id="key-rpm" type="number" min={1} step={1} value={form.rpm} onChange={(_e, v) => set('rpm', v)} validated={errors.rpm ? 'error' : 'default'} />
              </Field>
            </GridItem>
            <GridItem>
              <Field label={t('keyForm.tpm')} fieldId="key-tpm" error={errors.tpm} hint={maximums?.tpm != null ? t('keyForm.atMostLimit', { max: maximums.tpm }) : t('keyForm.emptyNoLimit')}>
                <TextInput id="key-tpm" type="number" min={1} step={1} value={form.tpm} onChange={(_e, v) => set('tpm', v)} validated={errors.tpm ? 'error' : 'default'} />
              </Field>
            </GridItem>
            <GridItem>
              <Field
                label={t('keyForm.expires')}
                fieldId="key-expiry"
                error={errors.expiry}
                hint={maximums?.expiresInDays ? t('keyForm.maxLifetime', { count: maximums.expiresInDays }) : undefined}
              >
                <FormSelect id="key-expiry" value={form.expiry} onChange={(_e, v) => set('expiry', v as Expiry)}>
                  {isEdit && apiKey.expiresAt && <FormSelectOption value="keep" label={t('keyForm.keep', { date: formatDate(apiKey.expiresAt) })} />}
                  {expiryChoices
                    .filter((c) => allowed.includes(c) || c === form.expiry)
                    .map((c) => (
                      <FormSelectOption key={c} value={c} label={t(`keyForm.expiry.${c}`)} />
                    ))}
                </FormSelect>
              </Field>
            </GridItem>
            {form.expiry === 'custom' && (
              <GridItem>
                <Field label={t('keyForm.expiryDate')} fieldId="key-expiry-date" error={errors.expiryDate} hint={t('keyForm.expiryDateHint')}>
                  <TextInput id="key-expiry-date" type="date" value={form.expiryDate} onChange={(_e, v) => set('expiryDate', v)} validated={errors.expiryDate ? 'error' : 'default'} />
                </Field>
              </GridItem>
            )}
          </Grid>
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button type="submit" form="key-form" variant="primary" isLoading={save.isPending} isDisabled={save.isPending || noSubscriptions}>
          {isEdit ? t('keyForm.save') : t('keyForm.create')}
        </Button>
        <Button variant="link" onClick={onClose}>
          {t('common.cancel')}
        </Button>
      </ModalFooter>
    </Modal>
  );
}
