/** @module One upstream deployment in the model form: URL, upstream model, token (write-only), weight, and its test result. */
import { Button, Card, CardBody, CardHeader, CardTitle, Grid, GridItem, Label, TextInput } from '@patternfly/react-core';
import TrashIcon from '@patternfly/react-icons/dist/esm/icons/trash-icon';
import { Field } from '../../components/Field';
import type { ModelTestResult } from '../../types';
import type { DeploymentForm } from './modelForm';
import { useTranslation } from 'react-i18next';

export function TestResult({ result }: { result: ModelTestResult | Error }) {
  const { t } = useTranslation();
  if (result instanceof Error) return <Label color="red">{t('deployment.testFailed', { message: result.message })}</Label>;
  return (
    <div data-testid="model-test-result">
      <Label color={result.ok ? 'green' : 'red'}>{result.ok ? t('deployment.ok') : t('deployment.failed')}</Label>{' '}
      <span>
        {result.status !== null && `HTTP ${result.status} · `}
        {t('chat.ms', { ms: Math.round(result.latencyMs) })} · {result.message}
      </span>
      {result.reply && <div className="lm-muted">{t('deployment.reply', { reply: result.reply })}</div>}
    </div>
  );
}

export function DeploymentFields({
  index,
  deployment,
  onChange,
  onRemove,
  result,
  isDisabled,
}: {
  index: number;
  deployment: DeploymentForm;
  onChange: (patch: Partial<DeploymentForm>) => void;
  onRemove?: () => void;
  result?: ModelTestResult | Error;
  isDisabled: boolean;
}) {
  const { t } = useTranslation();
  const id = `deployment-${index}`;
  return (
    <Card isCompact isPlain={false}>
      <CardHeader
        actions={
          onRemove && {
            actions: <Button variant="plain" aria-label={t('deployment.remove', { n: index + 1 })} icon={<TrashIcon />} onClick={onRemove} isDisabled={isDisabled} />,
          }
        }
      >
        <CardTitle>{t('deployment.title', { n: index + 1 })}</CardTitle>
      </CardHeader>
      <CardBody>
        <Grid hasGutter md={6}>
          <GridItem>
            <Field label={t('deployment.url')} fieldId={`${id}-url`} isRequired hint={t('deployment.urlHint')}>
              <TextInput id={`${id}-url`} value={deployment.url} onChange={(_e, v) => onChange({ url: v })} isDisabled={isDisabled} />
            </Field>
          </GridItem>
          <GridItem>
            <Field label={t('deployment.upstream')} fieldId={`${id}-upstream`} isRequired hint={t('deployment.upstreamHint')}>
              <TextInput id={`${id}-upstream`} value={deployment.upstreamModel} onChange={(_e, v) => onChange({ upstreamModel: v })} isDisabled={isDisabled} />
            </Field>
          </GridItem>
          <GridItem>
            <Field
              label={t('deployment.token')}
              fieldId={`${id}-token`}
              hint={deployment.existing?.hasToken ? t('deployment.tokenStored') : t('deployment.tokenHint')}
            >
              <TextInput
                id={`${id}-token`}
                type="password"
                autoComplete="off"
                placeholder={deployment.existing?.hasToken ? t('deployment.tokenPlaceholder') : ''}
                value={deployment.token}
                onChange={(_e, v) => onChange({ token: v })}
                isDisabled={isDisabled}
              />
            </Field>
          </GridItem>
          <GridItem>
            <Field label={t('deployment.weight')} fieldId={`${id}-weight`} hint={t('deployment.weightHint')}>
              <TextInput id={`${id}-weight`} type="number" min={1} step={1} value={deployment.weight} onChange={(_e, v) => onChange({ weight: v })} isDisabled={isDisabled} />
            </Field>
          </GridItem>
        </Grid>
        {result && (
          <div id={`${id}-result`} style={{ marginTop: 12 }}>
            <TestResult result={result} />
          </div>
        )}
      </CardBody>
    </Card>
  );
}
