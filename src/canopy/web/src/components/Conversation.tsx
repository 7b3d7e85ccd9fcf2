/** @module The turns of a conversation: your messages, and the answers as they stream in. */
import type { ReactNode } from 'react';
import { Label } from '@patternfly/react-core';
import type { Variant } from '../api';
import { questionBefore, type Turn } from '../conversation';
import { AbAnswers } from './AbAnswers';
import { AnswerView } from './AnswerView';
import { FeedbackButtons } from './FeedbackButtons';
import { useTranslation } from 'react-i18next';

interface Props {
  turns: Turn[];
  feature: string;
  isFeedbackEnabled: boolean;
  /** How the first message is named: it is the text to summarise, not a question. */
  firstLabel?: string;
  onPrefer?: (id: number, variant: Variant) => void;
}

function Speaker({ children, isUser }: { children: ReactNode; isUser?: boolean }) {
  return (
    <Label isCompact color={isUser ? 'blue' : 'green'} style={{ marginBottom: 4 }}>
      {children}
    </Label>
  );
}

export function Conversation({ turns, feature, isFeedbackEnabled, firstLabel, onPrefer }: Props) {
  const { t } = useTranslation();
  return (
    <div className="cn-conversation" role="log" aria-label={t('conversation.label')}>
      {turns.map((turn, index) => {
        if (turn.role === 'user') {
          return (
            <div key={turn.id}>
              <Speaker isUser>{index === 0 && firstLabel ? firstLabel : t('conversation.you')}</Speaker>
              <div className="cn-message cn-user-message" data-testid="user-message">
                {turn.content}
              </div>
            </div>
          );
        }
        const prompt = questionBefore(turns, turn.id);
        if (turn.role === 'ab') {
          return (
            <div key={turn.id}>
              <AbAnswers turn={turn} feature={feature} prompt={prompt} isFeedbackEnabled={isFeedbackEnabled} onPrefer={(variant) => onPrefer?.(turn.id, variant)} />
            </div>
          );
        }
        return (
          <div key={turn.id}>
            <Speaker>Canopy</Speaker>
            <AnswerView
              answer={turn.answer}
              testId="assistant-message"
              footer={isFeedbackEnabled && <FeedbackButtons feature={feature} prompt={prompt} response={turn.answer.content} />}
            />
          </div>
        );
      })}
    </div>
  );
}
