/** @module An address that is not one of Canopy's pages. */
import { Link } from 'react-router';
import { EmptyState, EmptyStateBody, PageSection } from '@patternfly/react-core';

export function NotFoundPage() {
  return (
    <PageSection isFilled>
      <EmptyState titleText="Page not found" headingLevel="h1">
        <EmptyStateBody>
          There is no page at this address. <Link to="/">Go to Summarization</Link>
        </EmptyStateBody>
      </EmptyState>
    </PageSection>
  );
}
