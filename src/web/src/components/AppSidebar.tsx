/** @module The sidebar navigation; the Administration group appears for admin and admin-readonly. */
import { NavLink, useLocation } from 'react-router';
import { Nav, NavGroup, NavItem, NavList, PageSidebar, PageSidebarBody } from '@patternfly/react-core';
import { canSeeAdmin } from '../hooks/useMe';
import type { Me } from '../types';
import { useTranslation } from 'react-i18next';

/** `label` is a translation key. */
const mainLinks = [
  { to: '/models', label: 'nav.models' },
  { to: '/subscriptions', label: 'nav.subscriptions' },
  { to: '/api-keys', label: 'nav.apiKeys' },
  { to: '/usage', label: 'nav.usage' },
  { to: '/teams', label: 'nav.teams' },
  { to: '/playground', label: 'nav.playground' },
];

const adminLinks = [
  { to: '/admin/models', label: 'nav.admin.models' },
  { to: '/admin/users', label: 'nav.admin.users' },
  { to: '/admin/subscriptions', label: 'nav.admin.subscriptions' },
  { to: '/admin/usage', label: 'nav.admin.usage' },
  { to: '/admin/audit', label: 'nav.admin.audit' },
  { to: '/admin/settings', label: 'nav.admin.settings' },
  { to: '/admin/tokens', label: 'nav.admin.tokens' },
  { to: '/admin/alerts', label: 'nav.admin.alerts' },
];

export function AppSidebar({ me, isOpen, onNavigate }: { me: Me; isOpen: boolean; onNavigate: () => void }) {
  const { t } = useTranslation();
  const { pathname } = useLocation();
  const item = ({ to, label }: { to: string; label: string }) => (
    <NavItem key={to} itemId={to} isActive={pathname === to || pathname.startsWith(`${to}/`)}>
      <NavLink to={to}>{t(label)}</NavLink>
    </NavItem>
  );
  return (
    <PageSidebar isSidebarOpen={isOpen}>
      <PageSidebarBody>
        <Nav aria-label={t('nav.main')} onSelect={onNavigate}>
          <NavList>{mainLinks.map(item)}</NavList>
          {canSeeAdmin(me) && <NavGroup title={t('nav.administration')}>{adminLinks.map(item)}</NavGroup>}
        </Nav>
      </PageSidebarBody>
    </PageSidebar>
  );
}
