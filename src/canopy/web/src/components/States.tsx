/** @module Loading and failure states, worded for the person using Canopy. */
import { Bullseye, Button, EmptyState, EmptyStateActions, EmptyStateBody, EmptyStateFooter, Spinner } from '@patternfly/react-core';
import ExclamationCircleIcon from '@patternfly/react-icons/dist/esm/icons/exclamation-circle-icon';
import { errorMessage, UNREACHABLE } from '../api';
import { useTranslation } from 'react-i18next';

export function Loading({ label }: { label: string }) {
  return (
    <Bullseye style={{ minHeight: 200 }}>
      <Spinner aria-label={label} />
    </Bullseye>
  );
}

/** The whole app depends on the feature flags, so failing to load them gets a full-page state. */
export function BackendError({ error, onRetry }: { error: unknown; onRetry: () => void }) {
  const { t } = useTranslation();
  const message = errorMessage(error);
  const title = message === UNREACHABLE ? t('states.unreachable') : t('states.backendError');
  return (
    <EmptyState titleText={title} headingLevel="h1" icon={ExclamationCircleIcon} status="danger" data-testid="backend-error">
      <EmptyStateBody>{message === UNREACHABLE ? t('states.checkBackend') : message}</EmptyStateBody>
      <EmptyStateFooter>
        <EmptyStateActions>
          <Button variant="primary" onClick={onRetry}>
            {t('states.tryAgain')}
          </Button>
        </EmptyStateActions>
      </EmptyStateFooter>
    </EmptyState>
  );
}
