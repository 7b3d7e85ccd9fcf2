/**
 * @module How to call the gateway with one key: the endpoint, the key (masked until the eye is
 * clicked), and for each API the chosen model is served on (Chat Completions, Responses and
 * Anthropic Messages for chat models; embeddings, rerank, transcription… for the others) curl,
 * Python and Node examples that carry the key once it is shown, and beside them a "Kubernetes /
 * Sealed Secret" tab: the key as a Secret with the `kubeseal` command that seals it for git.
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
import { anthropicBaseUrl, apis, apisFor, buildExample, languages, type ApiName, type Language } from '../examples';
import { useConfig } from '../hooks/useConfig';
import { useKeySecret } from '../hooks/useKeySecret';
import { useModels } from '../hooks/queries';
import type { ApiKey } from '../types';
import { secretManifest } from '../k8s-secret';
import { CopyButton } from './CopyButton';
import { RevealError } from './RevealError';
import { Loading } from './States';
import { Trans, useTranslation } from 'react-i18next';


/** The tab beside the languages' that holds the key as a Kubernetes Secret. */
const K8S = 'k8s';
type ExampleTab = Language | typeof K8S;

export function KeyUsageExamples({ apiKey, knownSecret, returnTo }: { apiKey: ApiKey; knownSecret?: string; returnTo: string }) {
  const { t } = useTranslation();
  const config = useConfig();
  const models = useModels();
  const { secret, error, isFetching, fetchSecret } = useKeySecret(apiKey.id, knownSecret);
  const [isShown, setShown] = useState(!!knownSecret);
  const [chosenModel, setModel] = useState<string | null>(null);
  const [chosenApi, setApi] = useState<ApiName>('chat');
  const [language, setLanguage] = useState<ExampleTab>('curl');

  if (!config.data) return <Loading label={t('examples.loadingGateway')} />;
  const gatewayUrl = config.data.gatewayUrl;
  const kindOf = (id: string) => models.data?.find((m) => m.id === id)?.kind;
  // Until a model is picked, the first chat model of the key (it has the most to show), else its first.
  const model = chosenModel ?? apiKey.models.find((id) => kindOf(id) === 'chat') ?? apiKey.models[0] ?? 'MODEL';
  const offered = apisFor(kindOf(model) ?? 'chat');
  const api = offered.includes(chosenApi) ? chosenApi : offered[0]!;
  const masked = apiKey.prefix || '••••••••';
  const keyText = isShown && secret ? secret : masked;

  const toggleShown = async () => {
    if (isShown) return setShown(false);
    if (await fetchSecret()) setShown(true);
  };
  const build = (lang: Language, key: string) => buildExample(api, lang, { gatewayUrl, model, key });
  // Copy what works: the real key, fetched now if it has not been yet.
  const copyWithKey = (lang: Language) => async () => {
    const key = await fetchSecret();
    return key === undefined ? undefined : build(lang, key);
  };
  const copySecret = async () => {
    const key = await fetchSecret();
    return key === undefined ? undefined : secretManifest(apiKey.name, key);
  };
  const exampleTab = (lang: Language) => {
    const title = apis[api].languages[lang].title;
    return (
      <Tab key={lang} eventKey={lang} title={<TabTitleText>{title}</TabTitleText>}>
        <CodeBlock
          className="lm-code-block"
          style={{ marginTop: 8 }}
          actions={
            <CodeBlockAction>
              <CopyButton label={t('examples.copyExample', { title })} text={copyWithKey(lang)} />
            </CodeBlockAction>
          }
        >
          <CodeBlockCode data-testid={`${lang}-example`} data-api={api}>
            {build(lang, keyText)}
          </CodeBlockCode>
        </CodeBlock>
      </Tab>
    );
  };
  // The workshop's next step: the same key for a deployment, sealed for git. Masked like the examples until the eye is clicked.
  const kubernetesTab = (
    <Tab key={K8S} eventKey={K8S} title={<TabTitleText>{t('examples.k8sTab')}</TabTitleText>}>
      <p className="lm-muted" style={{ margin: '8px 0' }}>
        <Trans i18nKey="examples.k8sBody" components={{ c1: <code />, c2: <code />, c3: <code />, c4: <code /> }} />
      </p>
      <CodeBlock
        className="lm-code-block"
        actions={
          <CodeBlockAction>
            <CopyButton label={t('examples.copySecret')} text={copySecret} />
          </CodeBlockAction>
        }
      >
        <CodeBlockCode data-testid="k8s-secret-example">{secretManifest(apiKey.name, keyText)}</CodeBlockCode>
      </CodeBlock>
    </Tab>
  );
  const languageTabs = (
    <Tabs
      activeKey={language}
      onSelect={(_event, key) => setLanguage(key as ExampleTab)}
      aria-label={t('examples.apiExamples', { api: apis[api].title })}
      isSubtab={offered.length > 1}
    >
      {[...languages.map(exampleTab), kubernetesTab]}
    </Tabs>
  );

  return (
    <Stack hasGutter>
      <StackItem>
        <FormGroup label={t('examples.endpoint')} fieldId={`endpoint-${apiKey.id}`}>
          <InputGroup>
            <InputGroupItem isFill>
              <TextInput id={`endpoint-${apiKey.id}`} readOnlyVariant="default" value={gatewayUrl} className="lm-mono" />
            </InputGroupItem>
            <InputGroupItem>
              <CopyButton label={t('examples.copyEndpoint')} text={gatewayUrl} />
            </InputGroupItem>
          </InputGroup>
        </FormGroup>
      </StackItem>
      <StackItem>
        <FormGroup label={t('examples.apiKey')} fieldId={`secret-${apiKey.id}`}>
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
                aria-label={isShown ? t('examples.hideKey') : t('examples.showKey')}
                icon={isShown ? <EyeSlashIcon /> : <EyeIcon />}
                isLoading={isFetching}
                isDisabled={isFetching}
                onClick={() => void toggleShown()}
              />
            </InputGroupItem>
            <InputGroupItem>
              <CopyButton label={t('examples.copyKey')} text={fetchSecret} />
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
            <span id={`example-model-${apiKey.id}`}>{t('examples.modelInExamples')}</span>
            <ToggleGroup aria-labelledby={`example-model-${apiKey.id}`} isCompact>
              {apiKey.models.map((id) => (
                <ToggleGroupItem key={id} text={id} isSelected={id === model} onChange={() => setModel(id)} />
              ))}
            </ToggleGroup>
          </Flex>
        </StackItem>
      )}
      <StackItem>
        {offered.length > 1 ? (
          // Only the chosen API's examples are in the page, so each language's example is found once.
          <Tabs activeKey={api} onSelect={(_event, key) => setApi(key as ApiName)} aria-label={t('examples.apis')} mountOnEnter unmountOnExit>
            {offered.map((name) => (
              <Tab key={name} eventKey={name} title={<TabTitleText>{apis[name].title}</TabTitleText>}>
                <div style={{ marginTop: 8 }}>
                  {name === 'anthropic' && (
                    <p className="lm-muted" style={{ marginBottom: 8 }}>
                      <Trans
                        i18nKey="examples.anthropicNote"
                        values={{ url: anthropicBaseUrl(gatewayUrl) }}
                        components={{ c1: <code />, c2: <code />, c3: <code /> }}
                      />
                    </p>
                  )}
                  {languageTabs}
                </div>
              </Tab>
            ))}
          </Tabs>
        ) : (
          languageTabs
        )}
      </StackItem>
    </Stack>
  );
}
