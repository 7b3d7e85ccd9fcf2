/**
 * @module Chat with a model through one of your keys, streaming, to see what the gateway does:
 * time to first token, tokens per second, and what the reply cost, through Chat Completions or
 * the Responses API. The key is revealed (with the same recent-sign-in rule as View key) because
 * the browser calls the gateway with it.
 */
import { useRef, useState, type KeyboardEvent } from 'react';
import {
  ActionGroup,
  Alert,
  Button,
  Card,
  CardBody,
  CardTitle,
  Form,
  FormSelect,
  FormSelectOption,
  Grid,
  GridItem,
  PageSection,
  TextArea,
  TextInput,
  ToggleGroup,
  ToggleGroupItem,
} from '@patternfly/react-core';
import KeyIcon from '@patternfly/react-icons/dist/esm/icons/key-icon';
import { streamChat, type ChatApi, type ChatMessage, type ChatResult } from '../chat';
import { ChatTranscript, type ReplyStats, type Turn } from '../components/ChatTranscript';
import { Field } from '../components/Field';
import { LinkButton } from '../components/LinkButton';
import { PageHeader } from '../components/PageHeader';
import { RevealError } from '../components/RevealError';
import { Empty, ErrorAlert, Loading } from '../components/States';
import { useApiKeys, useModels } from '../hooks/queries';
import { errorMessage } from '../hooks/toast';
import { useKeySecret } from '../hooks/useKeySecret';
import type { Model } from '../types';
import { useTranslation } from 'react-i18next';

const apiTitles: Record<ChatApi, string> = { chat: 'Chat Completions', responses: 'Responses API' };
const apiPaths: Record<ChatApi, string> = { chat: 'POST /v1/chat/completions', responses: 'POST /v1/responses' };

/** What the reply cost at the model's prices: cached prompt tokens at their own price, plus any per-request fee. */
export function replyCost(usage: ChatResult['usage'], model: Model | undefined): number | undefined {
  if (!usage || !model) return undefined;
  const cached = Math.min(usage.cached_tokens ?? 0, usage.prompt_tokens);
  const cachedPrice = model.cachedInputPricePer1M ?? model.inputPricePer1M;
  return ((usage.prompt_tokens - cached) * model.inputPricePer1M + cached * cachedPrice + usage.completion_tokens * model.outputPricePer1M) / 1_000_000 + model.requestPrice;
}

function replyStats(result: ChatResult, model: Model | undefined): ReplyStats {
  const usage = result.usage;
  // Speed of generation: tokens after the first one, over the time after the first one.
  const generatingMs = result.firstTokenMs === undefined ? undefined : result.totalMs - result.firstTokenMs;
  const tokensPerSecond =
    usage && generatingMs && generatingMs > 0 && usage.completion_tokens > 1 ? ((usage.completion_tokens - 1) * 1000) / generatingMs : undefined;
  return { ttftMs: result.firstTokenMs, tokensPerSecond, promptTokens: usage?.prompt_tokens, completionTokens: usage?.completion_tokens, cost: replyCost(usage, model) };
}

export function PlaygroundPage() {
  const { t } = useTranslation();
  const apiKeys = useApiKeys();
  const models = useModels();
  const active = (apiKeys.data ?? []).filter((key) => key.status === 'active');
  const [keyId, setKeyId] = useState('');
  const apiKey = active.find((key) => key.id === keyId) ?? active[0];
  const [modelId, setModelId] = useState('');
  // The playground chats: only the key's chat models (a model not in the catalog yet is offered too).
  const kindOf = (id: string) => models.data?.find((m) => m.id === id)?.kind;
  const chatModels = (apiKey?.models ?? []).filter((id) => (kindOf(id) ?? 'chat') === 'chat');
  const model = chatModels.includes(modelId) ? modelId : chatModels[0];
  const [api, setApi] = useState<ChatApi>('chat');
  const [system, setSystem] = useState('');
  const [temperature, setTemperature] = useState('0.7');
  const [maxTokens, setMaxTokens] = useState('512');
  const [draft, setDraft] = useState('');
  const [turns, setTurns] = useState<Turn[]>([]);
  const [gatewayError, setGatewayError] = useState<string | null>(null);
  const [isStreaming, setStreaming] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const secret = useKeySecret(apiKey?.id ?? '');

  const updateLast = (change: (turn: Turn) => Turn) => setTurns((all) => [...all.slice(0, -1), change(all[all.length - 1])]);

  const send = async () => {
    const text = draft.trim();
    if (!text || !apiKey || !model || isStreaming) return;
    setGatewayError(null);
    const key = await secret.fetchSecret();
    if (!key) return; // RevealError says why
    const history: ChatMessage[] = [
      ...(system.trim() ? [{ role: 'system' as const, content: system.trim() }] : []),
      ...turns.map(({ role, content }) => ({ role, content })),
      { role: 'user', content: text },
    ];
    setTurns((all) => [...all, { role: 'user', content: text }, { role: 'assistant', content: '', isStreaming: true }]);
    setDraft('');
    setStreaming(true);
    const controller = new AbortController();
    abort.current = controller;
    try {
      const result = await streamChat({
        api,
        apiKey: key,
        model,
        messages: history,
        temperature: temperature.trim() === '' ? undefined : Number(temperature),
        maxTokens: maxTokens.trim() === '' ? undefined : Number(maxTokens),
        signal: controller.signal,
        onDelta: (delta) => updateLast((turn) => ({ ...turn, content: turn.content + delta })),
      });
      updateLast((turn) => ({ ...turn, isStreaming: false, stats: replyStats(result, models.data?.find((m) => m.id === model)) }));
    } catch (error) {
      if (controller.signal.aborted) {
        updateLast((turn) => ({ ...turn, isStreaming: false, stopped: true }));
      } else {
        setGatewayError(errorMessage(error));
        // Drop the empty reply, and the question too, so it can be sent again.
        setTurns((all) => (all[all.length - 1]?.content ? all.map((turn, i) => (i === all.length - 1 ? { ...turn, isStreaming: false } : turn)) : all.slice(0, -2)));
        setDraft((current) => current || text);
      }
    } finally {
      abort.current = null;
      setStreaming(false);
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      void send();
    }
  };

  const header = <PageHeader title={t('playground.title')} description={t('playground.description')} />;
  if (apiKeys.isPending) return <>{header}<PageSection><Loading label={t('playground.loadingKeys')} /></PageSection></>;
  if (apiKeys.isError) return <>{header}<PageSection><ErrorAlert error={apiKeys.error} title={t('playground.keysError')} /></PageSection></>;
  if (!apiKey) {
    return (
      <>
        {header}
        <PageSection>
          <Empty title={t('playground.noKey')} icon={KeyIcon} action={<LinkButton to="/api-keys">{t('playground.goToKeys')}</LinkButton>}>
            {t('playground.noKeyBody')}
          </Empty>
        </PageSection>
      </>
    );
  }

  return (
    <>
      {header}
      <PageSection isFilled>
        <Grid hasGutter>
          <GridItem lg={4}>
            <Card>
              <CardTitle>{t('playground.settings')}</CardTitle>
              <CardBody>
                <Form onSubmit={(event) => event.preventDefault()}>
                  <Field label={t('playground.apiKey')} fieldId="pg-key">
                    <FormSelect id="pg-key" value={apiKey.id} onChange={(_e, v) => setKeyId(v)} isDisabled={isStreaming}>
                      {active.map((key) => (
                        <FormSelectOption key={key.id} value={key.id} label={`${key.name} (${key.prefix})`} />
                      ))}
                    </FormSelect>
                  </Field>
                  <Field label={t('playground.model')} fieldId="pg-model" hint={model ? undefined : t('playground.noChatHint')}>
                    <FormSelect id="pg-model" value={model ?? ''} onChange={(_e, v) => setModelId(v)} isDisabled={isStreaming || !model}>
                      {chatModels.map((id) => (
                        <FormSelectOption key={id} value={id} label={id} />
                      ))}
                      {!model && <FormSelectOption value="" label={t('playground.noChatModel')} isPlaceholder />}
                    </FormSelect>
                  </Field>
                  <Field label="API" fieldId="pg-api" hint={apiPaths[api]}>
                    <ToggleGroup id="pg-api" aria-label="API" isCompact>
                      {(Object.keys(apiTitles) as ChatApi[]).map((name) => (
                        <ToggleGroupItem key={name} text={apiTitles[name]} buttonId={`pg-api-${name}`} isSelected={api === name} isDisabled={isStreaming} onChange={() => setApi(name)} />
                      ))}
                    </ToggleGroup>
                  </Field>
                  <Field label={t('playground.systemPrompt')} fieldId="pg-system" hint={t('playground.systemHint')}>
                    <TextArea id="pg-system" value={system} onChange={(_e, v) => setSystem(v)} rows={3} resizeOrientation="vertical" />
                  </Field>
                  <Grid hasGutter sm={6}>
                    <GridItem>
                      <Field label={t('playground.temperature')} fieldId="pg-temperature">
                        <TextInput id="pg-temperature" type="number" min={0} max={2} step={0.1} value={temperature} onChange={(_e, v) => setTemperature(v)} />
                      </Field>
                    </GridItem>
                    <GridItem>
                      <Field label={t('playground.maxTokens')} fieldId="pg-max-tokens">
                        <TextInput id="pg-max-tokens" type="number" min={1} step={1} value={maxTokens} onChange={(_e, v) => setMaxTokens(v)} />
                      </Field>
                    </GridItem>
                  </Grid>
                </Form>
              </CardBody>
            </Card>
          </GridItem>
          <GridItem lg={8}>
            <Card>
              <CardTitle>{t('playground.conversation')}</CardTitle>
              <CardBody>
                {secret.error != null && <RevealError error={secret.error} returnTo="/playground" />}
                {gatewayError && (
                  <Alert variant="danger" isInline title={t('playground.refused')} style={{ marginBottom: 16 }}>
                    {gatewayError}
                  </Alert>
                )}
                {turns.length === 0 ? (
                  <p className="lm-muted">{t('playground.start')}</p>
                ) : (
                  <ChatTranscript turns={turns} />
                )}
                <Form onSubmit={(event) => { event.preventDefault(); void send(); }} style={{ marginTop: 16 }}>
                  <Field label={t('playground.message')} fieldId="pg-message">
                    <TextArea id="pg-message" value={draft} onChange={(_e, v) => setDraft(v)} onKeyDown={onKeyDown} rows={3} resizeOrientation="vertical" />
                  </Field>
                  <ActionGroup>
                    {isStreaming ? (
                      <Button variant="secondary" onClick={() => abort.current?.abort()}>
                        {t('playground.stop')}
                      </Button>
                    ) : (
                      <Button type="submit" variant="primary" isDisabled={!draft.trim() || !model} isLoading={secret.isFetching}>
                        {t('playground.send')}
                      </Button>
                    )}
                    <Button variant="link" onClick={() => setTurns([])} isDisabled={isStreaming || turns.length === 0}>
                      {t('playground.clear')}
                    </Button>
                  </ActionGroup>
                </Form>
              </CardBody>
            </Card>
          </GridItem>
        </Grid>
      </PageSection>
    </>
  );
}
