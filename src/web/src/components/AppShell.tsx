/**
 * @module The signed-in frame: masthead, sidebar navigation and the routed page. Sends people who
 * are not signed in to /login, keeping where they were going.
 */
import { Suspense, useRef, useState } from 'react';
import { Navigate, Outlet, useLocation } from 'react-router';
import { Page } from '@patternfly/react-core';
import { isApiError, loginUrl } from '../api';
import { useMe } from '../hooks/useMe';
import { AppMasthead } from './AppMasthead';
import { AppSidebar } from './AppSidebar';
import { PageErrorBoundary } from './PageErrorBoundary';
import { ErrorAlert, Loading } from './States';
import { useTranslation } from 'react-i18next';

/** PatternFly's Page switches to its mobile layout below this width. */
const DESKTOP_MIN_WIDTH = 1200;

export function AppShell() {
  const { t } = useTranslation();
  const me = useMe();
  const location = useLocation();
  const [isSidebarOpen, setSidebarOpen] = useState(() => window.innerWidth >= DESKTOP_MIN_WIDTH);
  const isMobile = useRef<boolean | null>(null);

  // Open the sidebar on desktop, close it on a phone, whenever the layout crosses over.
  const onPageResize = (_event: unknown, { mobileView }: { mobileView: boolean }) => {
    if (mobileView === isMobile.current) return;
    isMobile.current = mobileView;
    setSidebarOpen(!mobileView);
  };

  if (me.isPending) return <Loading label={t('shell.checkingSignIn')} />;
  if (me.isError) {
    if (isApiError(me.error) && me.error.status === 401) {
      return <Navigate to={loginUrl(location.pathname + location.search)} replace />;
    }
    return (
      <div style={{ padding: 24 }}>
        <ErrorAlert error={me.error} title={t('shell.accountError')} />
      </div>
    );
  }

  return (
    <Page
      masthead={<AppMasthead me={me.data} isSidebarOpen={isSidebarOpen} onToggleSidebar={() => setSidebarOpen((open) => !open)} />}
      sidebar={<AppSidebar me={me.data} isOpen={isSidebarOpen} onNavigate={() => isMobile.current && setSidebarOpen(false)} />}
      onPageResize={onPageResize}
      isContentFilled
    >
      <PageErrorBoundary key={location.pathname}>
        <Suspense fallback={<Loading label={t('shell.loadingPage')} />}>
          <Outlet />
        </Suspense>
      </PageErrorBoundary>
    </Page>
  );
}
