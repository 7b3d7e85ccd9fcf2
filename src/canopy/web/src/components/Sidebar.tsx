/** @module The features, enabled or not: a disabled one stays listed so people know it exists. */
import { NavLink, useLocation } from 'react-router';
import { Label, Nav, NavItem, NavList, PageSidebar, PageSidebarBody } from '@patternfly/react-core';
import type { FeatureFlags } from '../api';
import { featureList } from '../features';
import { useTranslation } from 'react-i18next';

export function Sidebar({ flags, isOpen, onNavigate }: { flags: FeatureFlags; isOpen: boolean; onNavigate: () => void }) {
  const { t } = useTranslation();
  const { pathname } = useLocation();
  return (
    <PageSidebar isSidebarOpen={isOpen}>
      <PageSidebarBody>
        <Nav aria-label={t('sidebar.features')} onSelect={onNavigate}>
          <NavList>
            {featureList.map((feature) => (
              <NavItem key={feature.key} itemId={feature.key} isActive={pathname === feature.path}>
                {/* The name stays the feature's own; "coming soon" is its description. */}
                <NavLink to={feature.path} aria-description={flags[feature.key] ? undefined : t('sidebar.comingSoon')}>
                  {t(feature.labelKey)}
                  {!flags[feature.key] && (
                    <Label isCompact variant="outline" className="cn-nav-label" aria-hidden>
                      {t('sidebar.comingSoon')}
                    </Label>
                  )}
                </NavLink>
              </NavItem>
            ))}
          </NavList>
        </Nav>
      </PageSidebarBody>
    </PageSidebar>
  );
}
