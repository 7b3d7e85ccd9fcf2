/** @module The loading, error and empty states every page shows the same way. */
import type { ComponentType, ReactNode } from 'react';
import {
  Alert,
  Bullseye,
  EmptyState,
  EmptyStateActions,
  EmptyStateBody,
  EmptyStateFooter,
  Spinner,
} from '@patternfly/react-core';
import type { SVGIconProps } from '@patternfly/react-icons/dist/esm/createIcon';
import { errorMessage } from '../hooks/toast';
import { useTranslation } from 'react-i18next';

export function Loading({ label }: { label?: string }) {
  const { t } = useTranslation();
  return (
    <Bullseye style={{ minHeight: 160 }}>
      <Spinner aria-label={label ?? t('states.loading')} />
    </Bullseye>
  );
}

export function ErrorAlert({ error, title }: { error: unknown; title?: string }) {
  const { t } = useTranslation();
  return (
    <Alert variant="danger" isInline title={title ?? t('states.error')}>
      {errorMessage(error)}
    </Alert>
  );
}

export function Empty({
  title,
  children,
  action,
  icon,
}: {
  title: string;
  children?: ReactNode;
  action?: ReactNode;
  icon?: ComponentType<SVGIconProps>;
}) {
  return (
    <EmptyState titleText={title} headingLevel="h2" icon={icon} variant="sm">
      {children && <EmptyStateBody>{children}</EmptyStateBody>}
      {action && (
        <EmptyStateFooter>
          <EmptyStateActions>{action}</EmptyStateActions>
        </EmptyStateFooter>
      )}
    </EmptyState>
  );
}
