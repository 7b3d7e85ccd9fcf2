/**
 * @module A failed answer, with the backend's message (written for people, e.g. a revoked API key;
 * it stays in English). The few messages the UI writes itself are shown in the active language.
 */
import { Alert } from '@patternfly/react-core';
import { useTranslation } from 'react-i18next';
import { CUT_OFF, UNREACHABLE, UNREADABLE } from '../api';

const ownMessages: Record<string, string> = {
  [UNREACHABLE]: 'streamError.unreachable',
  [CUT_OFF]: 'streamError.cutOff',
  [UNREADABLE]: 'streamError.unreadable',
};

export function StreamError({ message }: { message: string }) {
  const { t } = useTranslation();
  const own = ownMessages[message];
  return (
    <Alert variant="danger" isInline isPlain title={t('streamError.title')} data-testid="stream-error">
      {own ? t(own) : message}
    </Alert>
  );
}
