/**
 * @module Summarization, the workshop's feature: paste a text, get its summary streamed back, then
 * ask follow-up questions about it. With A/B testing on, the summary comes from two prompts side by
 * side and the preferred one carries the conversation on; with feedback on, answers can be rated.
 */
import { useState } from 'react';
import { Button, Content, Flex, PageSection } from '@patternfly/react-core';
import DownloadIcon from '@patternfly/react-icons/dist/esm/icons/download-icon';
import { FEEDBACK_EXPORT_URL } from '../api';
import { AskForm } from '../components/AskForm';
import { Conversation } from '../components/Conversation';
import { PageHeader } from '../components/PageHeader';
import { historyOf, type Turn } from '../conversation';
import { AB_TESTING, FEEDBACK, features } from '../features';
import { useFeatureInfo, useIsEnabled } from '../hooks/useBackend';
import { useConversation } from '../hooks/useConversation';
import { tokenEstimateText } from '../tokens';
import { useTranslation } from 'react-i18next';

const feature = features.summarize;

/** An A/B summary that has an answer to prefer but no preference yet. */
const awaitsPreference = (turns: Turn[]) => turns.some((turn) => turn.role === 'ab' && !turn.preferred && (turn.a.status === 'done' || turn.b.status === 'done'));

export function SummarizePage() {
  const { t } = useTranslation();
  const isFeedbackEnabled = useIsEnabled(FEEDBACK);
  const isAbEnabled = useIsEnabled(AB_TESTING);
  const info = useFeatureInfo(feature.key);
  const chat = useConversation();
  const [draft, setDraft] = useState('');

  const history = historyOf(chat.turns);
  // Once there is a summary, the input asks about it instead of starting over.
  const isFollowUp = history.length > 0 || awaitsPreference(chat.turns);
  const sentCharacters = isFollowUp ? history.reduce((sum, message) => sum + message.content.length, 0) : 0;

  const submit = async () => {
    const text = draft.trim();
    setDraft('');
    let finished: boolean;
    if (isFollowUp) {
      finished = await chat.ask(text, '/summarize/chat', { messages: [...history, { role: 'user', content: text }] });
    } else if (isAbEnabled) {
      finished = await chat.askAb(text, '/summarize/ab', { prompt: text });
    } else {
      finished = await chat.ask(text, '/summarize', { prompt: text }, true);
    }
    // Give the text back so it can be sent again, unless something new was typed meanwhile.
    if (!finished) setDraft((current) => current || text);
  };

  const newSummary = () => {
    chat.reset();
    setDraft('');
  };

  const actions = (
    <Flex gap={{ default: 'gapSm' }}>
      <Button variant="secondary" onClick={newSummary} isDisabled={chat.turns.length === 0 && draft === ''}>
        {t('summarize.new')}
      </Button>
      {isFeedbackEnabled && (
        <Button variant="link" component="a" href={FEEDBACK_EXPORT_URL} download icon={<DownloadIcon />}>
          {t('summarize.exportFeedback')}
        </Button>
      )}
    </Flex>
  );

  return (
    <>
      <PageHeader title={t(feature.labelKey)} description={t(feature.descriptionKey)} model={info?.model} actions={actions} />
      <PageSection isFilled>
        <div style={{ maxWidth: 1100 }}>
          {chat.turns.length > 0 && (
            <Conversation
              turns={chat.turns}
              feature={feature.key}
              isFeedbackEnabled={isFeedbackEnabled}
              firstLabel={t('summarize.textLabel')}
              onPrefer={chat.prefer}
            />
          )}
          {chat.turns.length === 0 && isAbEnabled && (
            <Content component="p" className="cn-muted">
              {t('summarize.abOn')}
            </Content>
          )}
          <div style={{ marginTop: 24 }}>
            <AskForm
              id={isFollowUp ? 'follow-up' : 'text-to-summarise'}
              label={isFollowUp ? t('summarize.followUp') : t('summarize.textLabel')}
              submitLabel={isFollowUp ? t('summarize.send') : t('summarize.submit')}
              rows={isFollowUp ? 3 : 8}
              value={draft}
              onChange={setDraft}
              onSubmit={() => void submit()}
              isStreaming={chat.isStreaming}
              onStop={chat.stop}
              blockedReason={awaitsPreference(chat.turns) && !chat.isStreaming ? t('summarize.choosePreference') : undefined}
              hint={<span data-testid="token-estimate">{tokenEstimateText(sentCharacters + draft.length, info?.maxTokens)}</span>}
            />
          </div>
        </div>
      </PageSection>
    </>
  );
}
