/** @module The top bar: the sidebar toggle and Canopy's name. */
import type { ComponentProps } from 'react';
import { Link } from 'react-router';
import { Masthead as PfMasthead, MastheadBrand, MastheadLogo, MastheadMain, MastheadToggle, PageToggleButton } from '@patternfly/react-core';

function HomeLink(props: ComponentProps<'a'>) {
  return <Link {...props} to="/" />;
}

export function Masthead({ isSidebarOpen, onToggleSidebar }: { isSidebarOpen: boolean; onToggleSidebar: () => void }) {
  return (
    <PfMasthead display={{ default: 'inline' }}>
      <MastheadMain>
        <MastheadToggle>
          <PageToggleButton isHamburgerButton aria-label="Toggle navigation" isSidebarOpen={isSidebarOpen} onSidebarToggle={onToggleSidebar} />
        </MastheadToggle>
        <MastheadBrand>
          <MastheadLogo component={HomeLink} className="cn-brand">
            Canopy <span className="cn-subtitle">Educational AI assistant</span>
          </MastheadLogo>
        </MastheadBrand>
      </MastheadMain>
    </PfMasthead>
  );
}
