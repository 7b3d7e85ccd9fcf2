/**
 * @module One answer as it streams: its text (and nothing else, so tests and screen readers read
 * the answer alone), a streaming indicator until the end, and how it ended if not well.
 */
import type { ReactNode } from 'react';
import { Spinner } from '@patternfly/react-core';
import type { Answer } from '../conversation';
import { StreamError } from './StreamError';
import { useTranslation } from 'react-i18next';

export function AnswerView({ answer, testId, footer }: { answer: Answer; testId: string; footer?: ReactNode }) {
  const { t } = useTranslation();
  return (
    <>
      <div className="cn-message" data-testid={testId}>
        {answer.content}
      </div>
      {answer.status === 'streaming' && (
        <span className="cn-streaming cn-muted" data-testid="streaming-indicator">
          <Spinner size="sm" aria-hidden /> {t('answer.streaming')}
        </span>
      )}
      {answer.status === 'stopped' && <span className="cn-muted">{t('answer.stopped')}</span>}
      {answer.status === 'error' && answer.error && <StreamError message={answer.error} />}
      {answer.status === 'done' && footer}
    </>
  );
}
