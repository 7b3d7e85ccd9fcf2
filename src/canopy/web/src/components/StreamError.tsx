/** @module A failed answer, with the backend's message (written for people, e.g. a revoked API key). */
import { Alert } from '@patternfly/react-core';

export function StreamError({ message }: { message: string }) {
  return (
    <Alert variant="danger" isInline isPlain title="Canopy could not answer" data-testid="stream-error">
      {message}
    </Alert>
  );
}
