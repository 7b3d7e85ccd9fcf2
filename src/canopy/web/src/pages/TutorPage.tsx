/** @module The Socratic tutor: a plain streaming chat; the tutor's prompt makes it answer with questions. */
import { useState } from 'react';
import { Button, PageSection } from '@patternfly/react-core';
import { AskForm } from '../components/AskForm';
import { Conversation } from '../components/Conversation';
import { PageHeader } from '../components/PageHeader';
import { historyOf } from '../conversation';
import { features } from '../features';
import { useFeatureInfo } from '../hooks/useBackend';
import { useConversation } from '../hooks/useConversation';
import { tokenEstimateText } from '../tokens';
import { useTranslation } from 'react-i18next';

const feature = features.tutor;

export function TutorPage() {
  const { t } = useTranslation();
  const info = useFeatureInfo(feature.key);
  const chat = useConversation();
  const [draft, setDraft] = useState('');
  const history = historyOf(chat.turns);
  const sentCharacters = history.reduce((sum, message) => sum + message.content.length, 0);

  const submit = async () => {
    const text = draft.trim();
    setDraft('');
    const finished = await chat.ask(text, '/socratic-tutor', { messages: [...history, { role: 'user', content: text }] });
    if (!finished) setDraft((current) => current || text);
  };

  const actions = (
    <Button
      variant="secondary"
      onClick={() => {
        chat.reset();
        setDraft('');
      }}
      isDisabled={chat.turns.length === 0 && draft === ''}
    >
      {t('tutor.new')}
    </Button>
  );

  return (
    <>
      <PageHeader title={t(feature.labelKey)} description={t(feature.descriptionKey)} model={info?.model} actions={actions} />
      <PageSection isFilled>
        <div style={{ maxWidth: 1100 }}>
          {chat.turns.length > 0 && <Conversation turns={chat.turns} feature={feature.key} isFeedbackEnabled={false} />}
          <div style={{ marginTop: 24 }}>
            <AskForm
              id="tutor-question"
              label={t('tutor.question')}
              submitLabel={t('tutor.ask')}
              rows={3}
              value={draft}
              onChange={setDraft}
              onSubmit={() => void submit()}
              isStreaming={chat.isStreaming}
              onStop={chat.stop}
              hint={<span data-testid="token-estimate">{tokenEstimateText(sentCharacters + draft.length, info?.maxTokens)}</span>}
            />
          </div>
        </div>
      </PageSection>
    </>
  );
}
