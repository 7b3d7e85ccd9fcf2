/**
 * @module Keeps a page's rendering bug from blanking the whole app: the shell and navigation stay,
 * the page says what broke. Keyed by path by its parent, so moving to another page starts afresh.
 */
import { Component, type ErrorInfo, type ReactNode } from 'react';
import { Alert, AlertActionLink, PageSection } from '@patternfly/react-core';

export class PageErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error('Page failed to render', error, info.componentStack);
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <PageSection>
        <Alert
          variant="danger"
          isInline
          title="Something went wrong on this page"
          actionLinks={<AlertActionLink onClick={() => window.location.reload()}>Reload the page</AlertActionLink>}
        >
          {this.state.error.message}
        </Alert>
      </PageSection>
    );
  }
}
