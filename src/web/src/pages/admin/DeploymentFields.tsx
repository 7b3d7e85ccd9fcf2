/** @module One upstream deployment in the model form: URL, upstream model, token (write-only), weight, and its test result. */
import { Button, Card, CardBody, CardHeader, CardTitle, Grid, GridItem, Label, TextInput } from '@patternfly/react-core';
import TrashIcon from '@patternfly/react-icons/dist/esm/icons/trash-icon';
import { Field } from '../../components/Field';
import type { ModelTestResult } from '../../types';
import type { DeploymentForm } from './modelForm';

export function TestResult({ result }: { result: ModelTestResult | Error }) {
  if (result instanceof Error) return <Label color="red">Test failed: {result.message}</Label>;
  return (
    <div data-testid="model-test-result">
      <Label color={result.ok ? 'green' : 'red'}>{result.ok ? 'OK' : 'Failed'}</Label>{' '}
      <span>
        {result.status !== null && `HTTP ${result.status} · `}
        {Math.round(result.latencyMs)} ms · {result.message}
      </span>
      {result.reply && <div className="lm-muted">Reply: {result.reply}</div>}
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
  const id = `deployment-${index}`;
  return (
    <Card isCompact isPlain={false}>
      <CardHeader
        actions={
          onRemove && {
            actions: <Button variant="plain" aria-label={`Remove deployment ${index + 1}`} icon={<TrashIcon />} onClick={onRemove} isDisabled={isDisabled} />,
          }
        }
      >
        <CardTitle>Deployment {index + 1}</CardTitle>
      </CardHeader>
      <CardBody>
        <Grid hasGutter md={6}>
          <GridItem>
            <Field label="URL" fieldId={`${id}-url`} isRequired hint="OpenAI-compatible base URL, e.g. http://vllm:8000/v1">
              <TextInput id={`${id}-url`} value={deployment.url} onChange={(_e, v) => onChange({ url: v })} isDisabled={isDisabled} />
            </Field>
          </GridItem>
          <GridItem>
            <Field label="Upstream model" fieldId={`${id}-upstream`} isRequired hint="The model name the upstream expects.">
              <TextInput id={`${id}-upstream`} value={deployment.upstreamModel} onChange={(_e, v) => onChange({ upstreamModel: v })} isDisabled={isDisabled} />
            </Field>
          </GridItem>
          <GridItem>
            <Field
              label="Token"
              fieldId={`${id}-token`}
              hint={deployment.existing?.hasToken ? 'A token is stored. Leave blank to keep it.' : 'Optional bearer token for the upstream.'}
            >
              <TextInput
                id={`${id}-token`}
                type="password"
                autoComplete="off"
                placeholder={deployment.existing?.hasToken ? '•••••••• (stored)' : ''}
                value={deployment.token}
                onChange={(_e, v) => onChange({ token: v })}
                isDisabled={isDisabled}
              />
            </Field>
          </GridItem>
          <GridItem>
            <Field label="Weight" fieldId={`${id}-weight`} hint="Share of traffic relative to the other deployments.">
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
