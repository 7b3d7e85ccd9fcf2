/**
 * @module Portal settings: the currency prices and costs are shown in, the defaults that pre-fill
 * a new key, and the maximums the server enforces on every key.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  ActionGroup,
  Alert,
  Button,
  Card,
  CardBody,
  Form,
  FormSection,
  FormSelect,
  FormSelectOption,
  Grid,
  GridItem,
  PageSection,
  TextInput,
} from '@patternfly/react-core';
import { api, isApiError } from '../../api';
import { Field, serverField } from '../../components/Field';
import { PageHeader } from '../../components/PageHeader';
import { ErrorAlert, Loading } from '../../components/States';
import { adminKeys, useAdminSettings } from '../../hooks/adminQueries';
import { useToast } from '../../hooks/toast';
import { canAdminister, useMe } from '../../hooks/useMe';
import type { BudgetPeriod, Settings } from '../../types';
import { useTranslation } from 'react-i18next';
import i18n from '../../i18n';

type Limits = 'maxBudget' | 'rpm' | 'tpm' | 'expiresInDays';
interface FormState {
  currency: string;
  budgetPeriod: BudgetPeriod;
  defaults: Record<Limits, string>;
  maximums: Record<Limits, string>;
}

/** Each field's label is `settings.limit.<name>`. */
const limitFields: { name: Limits; integer: boolean }[] = [
  { name: 'maxBudget', integer: false },
  { name: 'rpm', integer: true },
  { name: 'tpm', integer: true },
  { name: 'expiresInDays', integer: true },
];

const text = (value: number | null) => (value === null ? '' : String(value));
const toForm = (s: Settings): FormState => ({
  currency: s.currency,
  budgetPeriod: s.keyDefaults.budgetPeriod,
  defaults: { maxBudget: text(s.keyDefaults.maxBudget), rpm: text(s.keyDefaults.rpm), tpm: text(s.keyDefaults.tpm), expiresInDays: text(s.keyDefaults.expiresInDays) },
  maximums: { maxBudget: text(s.keyMaximums.maxBudget), rpm: text(s.keyMaximums.rpm), tpm: text(s.keyMaximums.tpm), expiresInDays: text(s.keyMaximums.expiresInDays) },
});

function numbers(values: Record<Limits, string>, where: string): Record<Limits, number | null> {
  const out = {} as Record<Limits, number | null>;
  for (const { name, integer } of limitFields) {
    const raw = values[name].trim();
    const value = raw === '' ? null : Number(raw);
    if (value !== null && (!Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value)))) {
      throw new Error(i18n.t(integer ? 'settings.error.whole' : 'settings.error.number', { where, field: i18n.t(`settings.limit.${name}`) }));
    }
    out[name] = value;
  }
  return out;
}

export function SettingsPage() {
  const { t } = useTranslation();
  const settings = useAdminSettings();
  const canChange = canAdminister(useMe().data);
  const toast = useToast();
  const queryClient = useQueryClient();
  const [form, setForm] = useState<FormState | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  useEffect(() => {
    if (settings.data) setForm(toForm(settings.data));
  }, [settings.data]);

  const save = useMutation({
    mutationFn: (body: Settings) => api<Settings>('PUT', '/admin/settings', body),
    onSuccess: (saved) => {
      queryClient.setQueryData(adminKeys.settings, saved);
      void queryClient.invalidateQueries({ queryKey: ['config'] }); // the currency lives there too
      toast.success(t('settings.saved'));
    },
    onError: (error) => {
      const field = serverField(isApiError(error) ? error.field : undefined);
      setFormError(field ? `${error.message} (${field})` : error.message);
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!form) return;
    setFormError(null);
    try {
      const defaults = numbers(form.defaults, t('settings.defaults'));
      const maximums = numbers(form.maximums, t('settings.maximums'));
      save.mutate({ currency: form.currency.trim().toUpperCase(), keyDefaults: { budgetPeriod: form.budgetPeriod, ...defaults }, keyMaximums: maximums });
    } catch (error) {
      setFormError((error as Error).message);
    }
  };

  const setLimit = (group: 'defaults' | 'maximums', name: Limits, value: string) =>
    setForm((f) => (f ? { ...f, [group]: { ...f[group], [name]: value } } : f));

  const limitInputs = (group: 'defaults' | 'maximums') =>
    limitFields.map(({ name }) => (
      <GridItem key={name}>
        <Field label={t(`settings.limit.${name}`)} fieldId={`${group}-${name}`} hint={t('settings.emptyNone')}>
          <TextInput id={`${group}-${name}`} type="number" min={0} value={form?.[group][name] ?? ''} onChange={(_e, v) => setLimit(group, name, v)} isDisabled={!canChange} />
        </Field>
      </GridItem>
    ));

  return (
    <>
      <PageHeader title={t('settings.title')} description={t('settings.description')} />
      <PageSection isFilled>
        {settings.isPending && <Loading label={t('settings.loading')} />}
        {settings.isError && <ErrorAlert error={settings.error} title={t('settings.loadError')} />}
        {form && (
          <Card>
            <CardBody>
              {!canChange && (
                <Alert variant="info" isInline isPlain title={t('settings.readOnly')} style={{ marginBottom: 16 }} />
              )}
              {formError && (
                <Alert variant="danger" isInline title={t('settings.saveFailed')} style={{ marginBottom: 16 }}>
                  {formError}
                </Alert>
              )}
              <Form onSubmit={submit}>
                <Grid hasGutter md={6} xl={3}>
                  <GridItem>
                    <Field label={t('settings.currency')} fieldId="settings-currency" hint={t('settings.currencyHint')}>
                      <TextInput id="settings-currency" value={form.currency} maxLength={3} onChange={(_e, v) => setForm({ ...form, currency: v })} isDisabled={!canChange} />
                    </Field>
                  </GridItem>
                </Grid>
                <FormSection title={t('settings.defaults')} titleElement="h2">
                  <p className="lm-muted">{t('settings.defaultsHint')}</p>
                  <Grid hasGutter md={6} xl={3}>
                    {limitInputs('defaults')}
                    <GridItem>
                      <Field label={t('settings.budgetPeriod')} fieldId="defaults-period">
                        <FormSelect id="defaults-period" value={form.budgetPeriod} onChange={(_e, v) => setForm({ ...form, budgetPeriod: v as BudgetPeriod })} isDisabled={!canChange}>
                          {(['monthly', 'weekly', 'daily', 'none'] as const).map((p) => (
                            <FormSelectOption key={p} value={p} label={t(`keyForm.period.${p}`)} />
                          ))}
                        </FormSelect>
                      </Field>
                    </GridItem>
                  </Grid>
                </FormSection>
                <FormSection title={t('settings.maximums')} titleElement="h2">
                  <p className="lm-muted">{t('settings.maximumsHint')}</p>
                  <Grid hasGutter md={6} xl={3}>
                    {limitInputs('maximums')}
                  </Grid>
                </FormSection>
                {canChange && (
                  <ActionGroup>
                    <Button type="submit" variant="primary" isLoading={save.isPending} isDisabled={save.isPending}>
                      {t('settings.save')}
                    </Button>
                    <Button variant="link" onClick={() => settings.data && setForm(toForm(settings.data))}>
                      {t('settings.reset')}
                    </Button>
                  </ActionGroup>
                )}
              </Form>
            </CardBody>
          </Card>
        )}
      </PageSection>
    </>
  );
}
