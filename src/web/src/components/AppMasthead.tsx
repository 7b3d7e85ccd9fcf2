/** @module The top bar: sidebar toggle, product name, the notification bell and the signed-in person's menu. */
import type { ComponentProps } from 'react';
import { Link } from 'react-router';
import {
  Masthead,
  MastheadBrand,
  MastheadContent,
  MastheadLogo,
  MastheadMain,
  MastheadToggle,
  PageToggleButton,
  Toolbar,
  ToolbarContent,
  ToolbarGroup,
  ToolbarItem,
} from '@patternfly/react-core';
import type { Me } from '../types';
import { UserMenu } from './UserMenu';
import { NotificationBell } from './NotificationDrawer';
import { useTranslation } from 'react-i18next';

function HomeLink(props: ComponentProps<'a'>) {
  return <Link {...props} to="/models" />;
}

export function AppMasthead({ me, isSidebarOpen, onToggleSidebar }: { me: Me; isSidebarOpen: boolean; onToggleSidebar: () => void }) {
  const { t } = useTranslation();
  return (
    <Masthead display={{ default: 'inline' }}>
      <MastheadMain>
        <MastheadToggle>
          <PageToggleButton
            isHamburgerButton
            aria-label={t('shell.toggleNavigation')}
            isSidebarOpen={isSidebarOpen}
            onSidebarToggle={onToggleSidebar}
          />
        </MastheadToggle>
        <MastheadBrand>
          <MastheadLogo component={HomeLink} className="lm-brand">
            LiteMaaS
          </MastheadLogo>
        </MastheadBrand>
      </MastheadMain>
      <MastheadContent>
        <Toolbar isFullHeight isStatic>
          <ToolbarContent>
            <ToolbarGroup align={{ default: 'alignEnd' }}>
              <ToolbarItem>
                <NotificationBell />
              </ToolbarItem>
              <ToolbarItem>
                <UserMenu me={me} />
              </ToolbarItem>
            </ToolbarGroup>
          </ToolbarContent>
        </Toolbar>
      </MastheadContent>
    </Masthead>
  );
}
