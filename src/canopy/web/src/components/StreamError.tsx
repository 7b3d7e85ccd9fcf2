/** @module A failed answer, with the backend's message (written for people, e.g. a revoked API key). */
import { Alert } from '@patternfly/react-core';
import { useTranslation } from 'react-i18next';

export function StreamError({ message }: { message: string }) {
  const { t } = useTranslation();
  return (
    <Alert variant="danger" isInline isPlain title={t('streamError.title')} data-testid="stream-error">
      {message}
    </Alert>
  );
}
