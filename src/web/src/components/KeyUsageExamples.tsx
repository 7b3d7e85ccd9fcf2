/**
 * @module How to call the gateway with one key: the endpoint, the key (masked until the eye is
 * clicked), and curl / OpenAI Python / OpenAI Node examples that carry the key once it is shown.
 * Copying an example always copies a working command, fetching the key first if needed.
 */
import { useState } from 'react';
import {
  Button,
  CodeBlock,
  CodeBlockAction,
  CodeBlockCode,
  Flex,
  FormGroup,
  InputGroup,
  InputGroupItem,
  Stack,
  StackItem,
  Tab,
  TabTitleText,
  Tabs,
  TextInput,
  ToggleGroup,
  ToggleGroupItem,
} from '@patternfly/react-core';
import EyeIcon from '@patternfly/react-icons/dist/esm/icons/eye-icon';
import EyeSlashIcon from '@patternfly/react-icons/dist/esm/icons/eye-slash-icon';
import { examples, type ExampleKind } from '../examples';
import { useConfig } from '../hooks/useConfig';
import { useKeySecret } from '../hooks/useKeySecret';
import { useModels } from '../hooks/queries';
import type { ApiKey } from '../types';
import { CopyButton } from './CopyButton';
import { RevealError } from './RevealError';
import { Loading } from './States';

const testIds: Record<ExampleKind, string> = { curl: 'curl-example', python: 'python-example', node: 'node-example' };

export function KeyUsageExamples({ apiKey, knownSecret, returnTo }: { apiKey: ApiKey; knownSecret?: string; returnTo: string }) {
  const config = useConfig();
  const models = useModels();
  const { secret, error, isFetching, fetchSecret } = useKeySecret(apiKey.id, knownSecret);
  const [isShown, setShown] = useState(!!knownSecret);
  const [model, setModel] = useState(apiKey.models[0] ?? 'MODEL');
  const [tab, setTab] = useState<ExampleKind>('curl');

  if (!config.data) return <Loading label="Loading the gateway address" />;
  const gatewayUrl = config.data.gatewayUrl;
  const isEmbedding = models.data?.find((m) => m.id === model)?.kind === 'embedding';
  const masked = apiKey.prefix || '••••••••';
  const keyText = isShown && secret ? secret : masked;

  const toggleShown = async () => {
    if (isShown) return setShown(false);
    if (await fetchSecret()) setShown(true);
  };
  const build = (kind: ExampleKind, key: string) => examples[kind].build({ gatewayUrl, model, key, isEmbedding });
  // Copy what works: the real key, fetched now if it has not been yet.
  const copyWithKey = (kind: ExampleKind) => async () => {
    const key = await fetchSecret();
    return key === undefined ? undefined : build(kind, key);
  };

  return (
    <Stack hasGutter>
      <StackItem>
        <FormGroup label="Endpoint" fieldId={`endpoint-${apiKey.id}`}>
          <InputGroup>
            <InputGroupItem isFill>
              <TextInput id={`endpoint-${apiKey.id}`} readOnlyVariant="default" value={gatewayUrl} className="lm-mono" />
            </InputGroupItem>
            <InputGroupItem>
              <CopyButton label="Copy endpoint" text={gatewayUrl} />
            </InputGroupItem>
          </InputGroup>
        </FormGroup>
      </StackItem>
      <StackItem>
        <FormGroup label="API key" fieldId={`secret-${apiKey.id}`}>
          <InputGroup>
            <InputGroupItem isFill>
              <TextInput
                id={`secret-${apiKey.id}`}
                data-testid="api-key-value"
                readOnlyVariant="default"
                value={keyText}
                className="lm-mono"
              />
            </InputGroupItem>
            <InputGroupItem>
              <Button
                variant="control"
                aria-label={isShown ? 'Hide key' : 'Show key'}
                icon={isShown ? <EyeSlashIcon /> : <EyeIcon />}
                isLoading={isFetching}
                isDisabled={isFetching}
                onClick={() => void toggleShown()}
              />
            </InputGroupItem>
            <InputGroupItem>
              <CopyButton label="Copy key" text={fetchSecret} />
            </InputGroupItem>
          </InputGroup>
        </FormGroup>
      </StackItem>
      {error != null && (
        <StackItem>
          <RevealError error={error} returnTo={returnTo} />
        </StackItem>
      )}
      {apiKey.models.length > 1 && (
        <StackItem>
          <Flex gap={{ default: 'gapSm' }} alignItems={{ default: 'alignItemsCenter' }}>
            <span id={`example-model-${apiKey.id}`}>Model in the examples:</span>
            <ToggleGroup aria-labelledby={`example-model-${apiKey.id}`} isCompact>
              {apiKey.models.map((id) => (
                <ToggleGroupItem key={id} text={id} isSelected={id === model} onChange={() => setModel(id)} />
              ))}
            </ToggleGroup>
          </Flex>
        </StackItem>
      )}
      <StackItem>
        <Tabs activeKey={tab} onSelect={(_event, key) => setTab(key as ExampleKind)} aria-label="Usage examples">
          {(Object.keys(examples) as ExampleKind[]).map((kind) => (
            <Tab key={kind} eventKey={kind} title={<TabTitleText>{examples[kind].title}</TabTitleText>}>
              <CodeBlock
                className="lm-code-block"
                style={{ marginTop: 8 }}
                actions={
                  <CodeBlockAction>
                    <CopyButton label={`Copy ${examples[kind].title} example`} text={copyWithKey(kind)} />
                  </CodeBlockAction>
                }
              >
                <CodeBlockCode data-testid={testIds[kind]}>{build(kind, keyText)}</CodeBlockCode>
              </CodeBlock>
            </Tab>
          ))}
        </Tabs>
      </StackItem>
    </Stack>
  );
}
