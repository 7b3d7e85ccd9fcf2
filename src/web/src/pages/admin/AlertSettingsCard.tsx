/**
 * @module The alerts section of the settings: thresholds, the webhook (URL and
 * signing secret) and the SMTP server. Secrets are write-only: the form shows
 * whether one is stored, an empty field keeps it, "Clear" removes it.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { ActionGroup, Alert, Button, Card, CardBody, CardTitle, Checkbox, Form, FormSection, Grid, GridItem, TextInput } from '@patternfly/react-core';
import { api, isApiError } from '../../api';
import { Field } from '../../components/Field';
import { adminKeys } from '../../hooks/adminQueries';
import { useToast } from '../../hooks/toast';
import type { AlertSettings, AlertSettingsInput, Settings } from '../../types';
import { useTranslation } from 'react-i18next';

interface FormState {
  thresholds: string; webhookUrl: string; webhookSecret: string; clearSecret: boolean;
  host: string; port: string; secure: boolean; user: string; password: string; from: string; allowInvalidCertificate: boolean;
}

/** An address, the same in every language. */
const SMTP_FROM_EXAMPLE = 'LiteMaaS <alerts@example.com>';

const toForm = (a: AlertSettings | undefined): FormState => ({
  thresholds: (a?.thresholds ?? [50, 80, 100]).join(', '), webhookUrl: a?.webhookUrl ?? '', webhookSecret: '', clearSecret: false,
  host: a?.email?.host ?? '', port: a?.email ? String(a.email.port) : '587', secure: a?.email?.secure ?? false, user: a?.email?.user ?? '',
  password: '', from: a?.email?.from ?? '', allowInvalidCertificate: a?.email?.allowInvalidCertificate ?? false,
});

function toInput(f: FormState): AlertSettingsInput {
  const thresholds = f.thresholds.split(/[\s,]+/).filter(Boolean).map(Number);
  return {
    thresholds,
    webhookUrl: f.webhookUrl.trim() || null,
    ...(f.clearSecret ? { webhookSecret: null } : f.webhookSecret ? { webhookSecret: f.webhookSecret } : {}),
    email: f.host.trim()
      ? { host: f.host.trim(), port: Number(f.port), secure: f.secure, user: f.user.trim() || null, from: f.from.trim(), allowInvalidCertificate: f.allowInvalidCertificate, ...(f.password ? { password: f.password } : {}) }
      : null,
  };
}

export function AlertSettingsCard({ settings, canChange }: { settings: Settings; canChange: boolean }) {
  const { t } = useTranslation();
  const [form, setForm] = useState(() => toForm(settings.alerts));
  const [error, setError] = useState<{ message: string; field?: string } | null>(null);
  const queryClient = useQueryClient();
  const toast = useToast();
  useEffect(() => setForm(toForm(settings.alerts)), [settings.alerts]);
  const save = useMutation({
    mutationFn: (alerts: AlertSettingsInput) => api<Settings>('PUT', '/admin/settings', { alerts }),
    onSuccess: (saved) => { queryClient.setQueryData(adminKeys.settings, saved); toast.success(t('alertSettings.saved')); },
    onError: (e) => setError({ message: e.message, field: isApiError(e) ? e.field : undefined }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    save.mutate(toInput(form));
  };
  const set = <K extends keyof FormState>(k: K, v: FormState[K]) => setForm((f) => ({ ...f, [k]: v }));
  const errorFor = (field: string) => (error?.field?.startsWith(`alerts.${field}`) ? error.message : undefined);
  const a = settings.alerts;

  return (
    <Card>
      <CardTitle component="h2">{t('alertSettings.title')}</CardTitle>
      <CardBody>
        {error && !error.field && <Alert variant="danger" isInline title={t('alertSettings.saveFailed')}>{error.message}</Alert>}
        <Form onSubmit={submit}>
          <Field label={t('alertSettings.thresholds')} fieldId="alerts-thresholds" error={errorFor('thresholds')} hint={t('alertSettings.thresholdsHint')}>
            <TextInput id="alerts-thresholds" value={form.thresholds} onChange={(_e, v) => set('thresholds', v)} isDisabled={!canChange} />
          </Field>
          <FormSection title={t('alertSettings.webhook')} titleElement="h3">
            <Grid hasGutter md={6}>
              <GridItem>
                <Field label={t('alertSettings.url')} fieldId="alerts-webhook-url" error={errorFor('webhookUrl')} hint={t('alertSettings.urlHint')}>
                  <TextInput id="alerts-webhook-url" value={form.webhookUrl} onChange={(_e, v) => set('webhookUrl', v)} isDisabled={!canChange} />
                </Field>
              </GridItem>
              <GridItem>
                <Field label={t('alertSettings.secret')} fieldId="alerts-webhook-secret" error={errorFor('webhookSecret')} hint={a?.webhookSecretSet ? t('alertSettings.secretStored') : t('alertSettings.secretHint')}>
                  <TextInput id="alerts-webhook-secret" type="password" value={form.webhookSecret} onChange={(_e, v) => set('webhookSecret', v)} isDisabled={!canChange || form.clearSecret} autoComplete="new-password" />
                </Field>
                {a?.webhookSecretSet && <Checkbox id="alerts-webhook-clear" label={t('alertSettings.clearSecret')} isChecked={form.clearSecret} onChange={(_e, v) => set('clearSecret', v)} isDisabled={!canChange} />}
              </GridItem>
            </Grid>
          </FormSection>
          <FormSection title={t('alertSettings.email')} titleElement="h3">
            <Grid hasGutter md={6} xl={4}>
              <GridItem><Field label={t('alertSettings.host')} fieldId="alerts-smtp-host" error={errorFor('email.host')} hint={t('alertSettings.hostHint')}><TextInput id="alerts-smtp-host" value={form.host} onChange={(_e, v) => set('host', v)} isDisabled={!canChange} /></Field></GridItem>
              <GridItem><Field label={t('alertSettings.port')} fieldId="alerts-smtp-port" error={errorFor('email.port')}><TextInput id="alerts-smtp-port" type="number" value={form.port} onChange={(_e, v) => set('port', v)} isDisabled={!canChange} /></Field></GridItem>
              <GridItem><Field label={t('alertSettings.from')} fieldId="alerts-smtp-from" error={errorFor('email.from')} hint={SMTP_FROM_EXAMPLE}><TextInput id="alerts-smtp-from" value={form.from} onChange={(_e, v) => set('from', v)} isDisabled={!canChange} /></Field></GridItem>
              <GridItem><Field label={t('alertSettings.user')} fieldId="alerts-smtp-user" error={errorFor('email.user')}><TextInput id="alerts-smtp-user" value={form.user} onChange={(_e, v) => set('user', v)} isDisabled={!canChange} /></Field></GridItem>
              <GridItem>
                <Field label={t('alertSettings.password')} fieldId="alerts-smtp-password" error={errorFor('email.password')} hint={a?.email?.passwordSet ? t('alertSettings.passwordStored') : undefined}>
                  <TextInput id="alerts-smtp-password" type="password" value={form.password} onChange={(_e, v) => set('password', v)} isDisabled={!canChange} autoComplete="new-password" />
                </Field>
              </GridItem>
              <GridItem>
                <Checkbox id="alerts-smtp-secure" label={t('alertSettings.secure')} isChecked={form.secure} onChange={(_e, v) => set('secure', v)} isDisabled={!canChange} />
                <Checkbox id="alerts-smtp-insecure" label={t('alertSettings.insecure')} isChecked={form.allowInvalidCertificate} onChange={(_e, v) => set('allowInvalidCertificate', v)} isDisabled={!canChange} />
              </GridItem>
            </Grid>
          </FormSection>
          {canChange && (
            <ActionGroup>
              <Button type="submit" variant="primary" isLoading={save.isPending} isDisabled={save.isPending}>{t('alertSettings.save')}</Button>
            </ActionGroup>
          )}
        </Form>
      </CardBody>
    </Card>
  );
}
