/** @module The sidebar navigation; the Administration group appears for admin and admin-readonly. */
import { NavLink, useLocation } from 'react-router';
import { Nav, NavGroup, NavItem, NavList, PageSidebar, PageSidebarBody } from '@patternfly/react-core';
import { canSeeAdmin } from '../hooks/useMe';
import type { Me } from '../types';

const mainLinks = [
  { to: '/models', label: 'Models' },
  { to: '/subscriptions', label: 'Subscriptions' },
  { to: '/api-keys', label: 'API Keys' },
  { to: '/usage', label: 'Usage' },
  { to: '/teams', label: 'Teams' },
  { to: '/playground', label: 'Playground' },
];

const adminLinks = [
  { to: '/admin/models', label: 'Models' },
  { to: '/admin/users', label: 'Users' },
  { to: '/admin/subscriptions', label: 'Subscription approvals' },
  { to: '/admin/usage', label: 'Usage (all users)' },
  { to: '/admin/audit', label: 'Audit log' },
  { to: '/admin/settings', label: 'Settings' },
  { to: '/admin/tokens', label: 'Admin tokens' },
  { to: '/admin/alerts', label: 'Alerts & deliveries' },
];

export function AppSidebar({ me, isOpen, onNavigate }: { me: Me; isOpen: boolean; onNavigate: () => void }) {
  const { pathname } = useLocation();
  const item = ({ to, label }: { to: string; label: string }) => (
    <NavItem key={to} itemId={to} isActive={pathname === to || pathname.startsWith(`${to}/`)}>
      <NavLink to={to}>{label}</NavLink>
    </NavItem>
  );
  return (
    <PageSidebar isSidebarOpen={isOpen}>
      <PageSidebarBody>
        <Nav aria-label="Main" onSelect={onNavigate}>
          <NavList>{mainLinks.map(item)}</NavList>
          {canSeeAdmin(me) && <NavGroup title="Administration">{adminLinks.map(item)}</NavGroup>}
        </Nav>
      </PageSidebarBody>
    </PageSidebar>
  );
}
