/** @module Loading and failure states, worded for the person using Canopy. */
import { Bullseye, Button, EmptyState, EmptyStateActions, EmptyStateBody, EmptyStateFooter, Spinner } from '@patternfly/react-core';
import ExclamationCircleIcon from '@patternfly/react-icons/dist/esm/icons/exclamation-circle-icon';
import { errorMessage, UNREACHABLE } from '../api';

export function Loading({ label }: { label: string }) {
  return (
    <Bullseye style={{ minHeight: 200 }}>
      <Spinner aria-label={label} />
    </Bullseye>
  );
}

/** The whole app depends on the feature flags, so failing to load them gets a full-page state. */
export function BackendError({ error, onRetry }: { error: unknown; onRetry: () => void }) {
  const message = errorMessage(error);
  const title = message === UNREACHABLE ? "Canopy's backend cannot be reached" : "Canopy's backend answered with an error";
  return (
    <EmptyState titleText={title} headingLevel="h1" icon={ExclamationCircleIcon} status="danger" data-testid="backend-error">
      <EmptyStateBody>{message === UNREACHABLE ? 'Check that the backend is running, then try again.' : message}</EmptyStateBody>
      <EmptyStateFooter>
        <EmptyStateActions>
          <Button variant="primary" onClick={onRetry}>
            Try again
          </Button>
        </EmptyStateActions>
      </EmptyStateFooter>
    </EmptyState>
  );
}
