/**
 * @module Create or edit a model: catalogue fields, prices, restricted flag, and its upstream
 * deployments, with "Test configuration" to call each deployment before saving.
 */
import { useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  Button,
  Form,
  FormSection,
  FormSelect,
  FormSelectOption,
  Grid,
  GridItem,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  Stack,
  Switch,
  TextArea,
  TextInput,
} from '@patternfly/react-core';
import PlusIcon from '@patternfly/react-icons/dist/esm/icons/plus-circle-icon';
import { api } from '../../api';
import { Field } from '../../components/Field';
import { adminKeys } from '../../hooks/adminQueries';
import { keys } from '../../hooks/queries';
import { useConfig } from '../../hooks/useConfig';
import { useToast } from '../../hooks/toast';
import type { AdminModel, ModelKind, ModelTestResult } from '../../types';
import { kindEndpoints, kindLabel, modelKinds } from '../../kinds';
import { DeploymentFields } from './DeploymentFields';
import { deploymentBody, emptyDeployment, initialModelForm, modelBody, type DeploymentForm, type ModelFormState } from './modelForm';
import { useTranslation } from 'react-i18next';

export function ModelFormModal({ model, onClose }: { model?: AdminModel; onClose: () => void }) {
  const { t } = useTranslation();
  const isEdit = !!model;
  const currency = useConfig().data?.currency ?? 'USD';
  const toast = useToast();
  const queryClient = useQueryClient();
  const [form, setForm] = useState<ModelFormState>(() => initialModelForm(model));
  const [formError, setFormError] = useState<string | null>(null);
  const [results, setResults] = useState<(ModelTestResult | Error | undefined)[]>([]);
  const [isTesting, setTesting] = useState(false);

  const save = useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      isEdit ? api<AdminModel>('PUT', `/admin/models/${encodeURIComponent(model.id)}`, body) : api<AdminModel>('POST', '/admin/models', body),
    onSuccess: (saved) => {
      toast.success(isEdit ? t('modelForm.saved', { id: saved.id }) : t('modelForm.created', { id: saved.id }));
      void queryClient.invalidateQueries({ queryKey: adminKeys.models });
      void queryClient.invalidateQueries({ queryKey: keys.models });
      onClose();
    },
    onError: (error) => setFormError(error.message),
  });

  const set = <K extends keyof ModelFormState>(field: K, value: ModelFormState[K]) => setForm((f) => ({ ...f, [field]: value }));
  const setDeployment = (index: number, patch: Partial<DeploymentForm>) =>
    setForm((f) => ({ ...f, deployments: f.deployments.map((d, i) => (i === index ? { ...d, ...patch } : d)) }));
  const removeDeployment = (index: number) => {
    setForm((f) => ({ ...f, deployments: f.deployments.filter((_, i) => i !== index) }));
    setResults((r) => r.filter((_, i) => i !== index));
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setFormError(null);
    try {
      save.mutate(modelBody(form, isEdit));
    } catch (error) {
      setFormError((error as Error).message);
    }
  };

  // Test each deployment in turn; a stored token is used by the server when modelId is given and the token field is blank.
  const testAll = async () => {
    setFormError(null);
    setTesting(true);
    const next: (ModelTestResult | Error)[] = [];
    for (const [index, deployment] of form.deployments.entries()) {
      try {
        const body = deploymentBody(deployment, index);
        next[index] = await api<ModelTestResult>('POST', '/admin/models/test', {
          url: body.url,
          upstreamModel: body.upstreamModel,
          kind: form.kind,
          ...(deployment.token && { token: deployment.token }),
          ...(isEdit && { modelId: model.id }),
        });
      } catch (error) {
        next[index] = error as Error;
      }
      setResults([...next]);
    }
    setTesting(false);
    // The results sit under each deployment, usually below the fold of the dialog.
    requestAnimationFrame(() => document.getElementById('deployment-0-result')?.scrollIntoView({ block: 'nearest', behavior: 'smooth' }));
  };

  return (
    <Modal isOpen onClose={onClose} variant="large" aria-labelledby="model-form-title">
      <ModalHeader title={isEdit ? t('modelForm.editTitle', { id: model.id }) : t('modelForm.addTitle')} labelId="model-form-title" />
      <ModalBody>
        {formError && (
          <Alert variant="danger" isInline title={t('modelForm.saveFailed')} style={{ marginBottom: 16 }}>
            {formError}
          </Alert>
        )}
        <Form id="model-form" onSubmit={submit}>
          <Grid hasGutter md={6}>
            <GridItem>
              <Field label={t('modelForm.id')} fieldId="model-id" isRequired hint={isEdit ? t('modelForm.idFixed') : t('modelForm.idHint')}>
                <TextInput id="model-id" value={form.id} onChange={(_e, v) => set('id', v)} isDisabled={isEdit} isRequired />
              </Field>
            </GridItem>
            <GridItem>
              <Field label={t('modelForm.provider')} fieldId="model-provider">
                <TextInput id="model-provider" value={form.provider} onChange={(_e, v) => set('provider', v)} />
              </Field>
            </GridItem>
          </Grid>
          <Field label={t('modelForm.description')} fieldId="model-description">
            <TextArea id="model-description" value={form.description} onChange={(_e, v) => set('description', v)} rows={2} resizeOrientation="vertical" />
          </Field>
          <Grid hasGutter md={6} xl={3}>
            <GridItem>
              <Field label={t('modelForm.kind')} fieldId="model-kind" hint={t('modelForm.servedOn', { endpoints: kindEndpoints[form.kind].join(', ') })}>
                <FormSelect id="model-kind" value={form.kind} onChange={(_e, v) => set('kind', v as ModelKind)}>
                  {modelKinds.map((kind) => (
                    <FormSelectOption key={kind} value={kind} label={kindLabel(kind)} />
                  ))}
                </FormSelect>
              </Field>
            </GridItem>
            <GridItem>
              <Field label={t('modelForm.contextLength')} fieldId="model-context" hint={t('modelForm.contextHint')}>
                <TextInput id="model-context" type="number" min={1} value={form.contextLength} onChange={(_e, v) => set('contextLength', v)} />
              </Field>
            </GridItem>
            <GridItem>
              <Field label={t('modelForm.inputPrice', { currency })} fieldId="model-input-price" isRequired>
                <TextInput id="model-input-price" type="number" min={0} step="any" value={form.inputPricePer1M} onChange={(_e, v) => set('inputPricePer1M', v)} />
              </Field>
            </GridItem>
            <GridItem>
              <Field label={t('modelForm.outputPrice', { currency })} fieldId="model-output-price" isRequired>
                <TextInput id="model-output-price" type="number" min={0} step="any" value={form.outputPricePer1M} onChange={(_e, v) => set('outputPricePer1M', v)} />
              </Field>
            </GridItem>
          </Grid>
          <Grid hasGutter md={6} xl={4}>
            <GridItem>
              <Field label={t('modelForm.cachedPrice', { currency })} fieldId="model-cached-price" hint={t('modelForm.cachedHint')}>
                <TextInput id="model-cached-price" type="number" min={0} step="any" value={form.cachedInputPricePer1M} onChange={(_e, v) => set('cachedInputPricePer1M', v)} />
              </Field>
            </GridItem>
            <GridItem>
              <Field label={t('modelForm.audioPrice', { currency })} fieldId="model-audio-price" hint={t('modelForm.audioHint')}>
                <TextInput id="model-audio-price" type="number" min={0} step="any" value={form.audioPricePerMinute} onChange={(_e, v) => set('audioPricePerMinute', v)} />
              </Field>
            </GridItem>
            <GridItem>
              <Field label={t('modelForm.requestPrice', { currency })} fieldId="model-request-price" hint={t('modelForm.requestHint')}>
                <TextInput id="model-request-price" type="number" min={0} step="any" value={form.requestPrice} onChange={(_e, v) => set('requestPrice', v)} />
              </Field>
            </GridItem>
          </Grid>
          <Field label={t('modelForm.features')} fieldId="model-features" hint={t('modelForm.featuresHint')}>
            <TextInput id="model-features" value={form.features} onChange={(_e, v) => set('features', v)} />
          </Field>
          <Grid hasGutter md={6}>
            <GridItem>
              <Switch
                id="model-restricted"
                label={t('modelForm.restricted')}
                isChecked={form.restricted}
                onChange={(_e, on) => set('restricted', on)}
              />
            </GridItem>
            <GridItem>
              <Switch id="model-deprecated" label={t('modelForm.deprecated')} isChecked={form.status === 'deprecated'} onChange={(_e, on) => set('status', on ? 'deprecated' : 'active')} />
            </GridItem>
          </Grid>
          <FormSection title={t('modelForm.deployments')} titleElement="h3">
            <Stack hasGutter>
              {form.deployments.map((deployment, index) => (
                <DeploymentFields
                  key={index}
                  index={index}
                  deployment={deployment}
                  onChange={(patch) => setDeployment(index, patch)}
                  onRemove={form.deployments.length > 1 ? () => removeDeployment(index) : undefined}
                  result={results[index]}
                  isDisabled={isTesting}
                />
              ))}
            </Stack>
            <div>
              <Button variant="link" icon={<PlusIcon />} onClick={() => set('deployments', [...form.deployments, emptyDeployment()])}>
                {t('modelForm.addDeployment')}
              </Button>
            </div>
          </FormSection>
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button type="submit" form="model-form" variant="primary" isLoading={save.isPending} isDisabled={save.isPending || isTesting}>
          {isEdit ? t('modelForm.save') : t('modelForm.create')}
        </Button>
        <Button variant="secondary" onClick={() => void testAll()} isLoading={isTesting} isDisabled={isTesting}>
          {t('modelForm.test')}
        </Button>
        <Button variant="link" onClick={onClose}>
          {t('common.cancel')}
        </Button>
      </ModalFooter>
    </Modal>
  );
}
