/** @module An address that is not one of Canopy's pages. */
import { Link } from 'react-router';
import { EmptyState, EmptyStateBody, PageSection } from '@patternfly/react-core';
import { Trans, useTranslation } from 'react-i18next';

export function NotFoundPage() {
  const { t } = useTranslation();
  return (
    <PageSection isFilled>
      <EmptyState titleText={t('notFound.title')} headingLevel="h1">
        <EmptyStateBody>
          <Trans i18nKey="notFound.body" components={{ home: <Link to="/" /> }} />
        </EmptyStateBody>
      </EmptyState>
    </PageSection>
  );
}
