/** @module The frame around every page: masthead, the features sidebar, and the routed page. */
import { useRef, useState } from 'react';
import { Outlet } from 'react-router';
import { Page } from '@patternfly/react-core';
import type { FeatureFlags } from '../api';
import { Masthead } from './Masthead';
import { Sidebar } from './Sidebar';

/** PatternFly's Page switches to its mobile layout below this width. */
const DESKTOP_MIN_WIDTH = 1200;

export function AppShell({ flags }: { flags: FeatureFlags }) {
  const [isSidebarOpen, setSidebarOpen] = useState(() => window.innerWidth >= DESKTOP_MIN_WIDTH);
  const isMobile = useRef<boolean | null>(null);

  // Open on a wide screen, closed on a narrow one, each time the layout crosses over.
  const onPageResize = (_event: unknown, { mobileView }: { mobileView: boolean }) => {
    if (mobileView === isMobile.current) return;
    isMobile.current = mobileView;
    setSidebarOpen(!mobileView);
  };

  return (
    <Page
      masthead={<Masthead isSidebarOpen={isSidebarOpen} onToggleSidebar={() => setSidebarOpen((open) => !open)} />}
      sidebar={<Sidebar flags={flags} isOpen={isSidebarOpen} onNavigate={() => isMobile.current && setSidebarOpen(false)} />}
      onPageResize={onPageResize}
    >
      <Outlet />
    </Page>
  );
}
