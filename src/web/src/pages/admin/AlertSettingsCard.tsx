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

interface FormState {
  thresholds: string; webhookUrl: string; webhookSecret: string; clearSecret: boolean;
  host: string; port: string; secure: boolean; user: string; password: string; from: string; allowInvalidCertificate: boolean;
}

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
  const [form, setForm] = useState(() => toForm(settings.alerts));
  const [error, setError] = useState<{ message: string; field?: string } | null>(null);
  const queryClient = useQueryClient();
  const toast = useToast();
  useEffect(() => setForm(toForm(settings.alerts)), [settings.alerts]);
  const save = useMutation({
    mutationFn: (alerts: AlertSettingsInput) => api<Settings>('PUT', '/admin/settings', { alerts }),
    onSuccess: (saved) => { queryClient.setQueryData(adminKeys.settings, saved); toast.success('Alert settings saved'); },
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
      <CardTitle component="h2">Budget alerts</CardTitle>
      <CardBody>
        {error && !error.field && <Alert variant="danger" isInline title="Could not save the alert settings">{error.message}</Alert>}
        <Form onSubmit={submit}>
          <Field label="Thresholds (% of a budget)" fieldId="alerts-thresholds" error={errorFor('thresholds')} hint="Each is notified once per budget period, for keys, users and teams. Soft budgets on keys are notified too.">
            <TextInput id="alerts-thresholds" value={form.thresholds} onChange={(_e, v) => set('thresholds', v)} isDisabled={!canChange} />
          </Field>
          <FormSection title="Webhook" titleElement="h3">
            <Grid hasGutter md={6}>
              <GridItem>
                <Field label="URL" fieldId="alerts-webhook-url" error={errorFor('webhookUrl')} hint="JSON POST with a Slack-compatible text field. Empty: no webhook.">
                  <TextInput id="alerts-webhook-url" value={form.webhookUrl} onChange={(_e, v) => set('webhookUrl', v)} isDisabled={!canChange} />
                </Field>
              </GridItem>
              <GridItem>
                <Field label="Signing secret" fieldId="alerts-webhook-secret" error={errorFor('webhookSecret')} hint={a?.webhookSecretSet ? 'A secret is stored; leave empty to keep it.' : 'x-litemaas-signature: sha256=HMAC of the body.'}>
                  <TextInput id="alerts-webhook-secret" type="password" value={form.webhookSecret} onChange={(_e, v) => set('webhookSecret', v)} isDisabled={!canChange || form.clearSecret} autoComplete="new-password" />
                </Field>
                {a?.webhookSecretSet && <Checkbox id="alerts-webhook-clear" label="Remove the stored secret" isChecked={form.clearSecret} onChange={(_e, v) => set('clearSecret', v)} isDisabled={!canChange} />}
              </GridItem>
            </Grid>
          </FormSection>
          <FormSection title="E-mail (SMTP)" titleElement="h3">
            <Grid hasGutter md={6} xl={4}>
              <GridItem><Field label="Host" fieldId="alerts-smtp-host" error={errorFor('email.host')} hint="Empty: no e-mail."><TextInput id="alerts-smtp-host" value={form.host} onChange={(_e, v) => set('host', v)} isDisabled={!canChange} /></Field></GridItem>
              <GridItem><Field label="Port" fieldId="alerts-smtp-port" error={errorFor('email.port')}><TextInput id="alerts-smtp-port" type="number" value={form.port} onChange={(_e, v) => set('port', v)} isDisabled={!canChange} /></Field></GridItem>
              <GridItem><Field label="From" fieldId="alerts-smtp-from" error={errorFor('email.from')} hint="LiteMaaS <alerts@example.com>"><TextInput id="alerts-smtp-from" value={form.from} onChange={(_e, v) => set('from', v)} isDisabled={!canChange} /></Field></GridItem>
              <GridItem><Field label="User" fieldId="alerts-smtp-user" error={errorFor('email.user')}><TextInput id="alerts-smtp-user" value={form.user} onChange={(_e, v) => set('user', v)} isDisabled={!canChange} /></Field></GridItem>
              <GridItem>
                <Field label="Password" fieldId="alerts-smtp-password" error={errorFor('email.password')} hint={a?.email?.passwordSet ? 'A password is stored; leave empty to keep it.' : undefined}>
                  <TextInput id="alerts-smtp-password" type="password" value={form.password} onChange={(_e, v) => set('password', v)} isDisabled={!canChange} autoComplete="new-password" />
                </Field>
              </GridItem>
              <GridItem>
                <Checkbox id="alerts-smtp-secure" label="TLS from the start (port 465)" isChecked={form.secure} onChange={(_e, v) => set('secure', v)} isDisabled={!canChange} />
                <Checkbox id="alerts-smtp-insecure" label="Accept an unverified certificate" isChecked={form.allowInvalidCertificate} onChange={(_e, v) => set('allowInvalidCertificate', v)} isDisabled={!canChange} />
              </GridItem>
            </Grid>
          </FormSection>
          {canChange && (
            <ActionGroup>
              <Button type="submit" variant="primary" isLoading={save.isPending} isDisabled={save.isPending}>Save alert settings</Button>
            </ActionGroup>
          )}
        </Form>
      </CardBody>
    </Card>
  );
}
