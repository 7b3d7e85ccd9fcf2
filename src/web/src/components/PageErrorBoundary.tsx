/**
 * @module Keeps a page's rendering bug from blanking the whole app: the shell and navigation stay,
 * the page says what broke. Keyed by path by its parent, so moving to another page starts afresh.
 */
import { Component, type ErrorInfo, type ReactNode } from 'react';
import { Alert, AlertActionLink, PageSection } from '@patternfly/react-core';
import i18n from '../i18n';

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
          title={i18n.t('pageError.title')}
          actionLinks={<AlertActionLink onClick={() => window.location.reload()}>{i18n.t('pageError.reload')}</AlertActionLink>}
        >
          {this.state.error.message}
        </Alert>
      </PageSection>
    );
  }
}
