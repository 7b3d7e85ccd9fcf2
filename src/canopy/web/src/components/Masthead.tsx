/** @module The top bar: the sidebar toggle, Canopy's name and the language selector. */
import type { ComponentProps } from 'react';
import { Link } from 'react-router';
import {
  FormSelect,
  FormSelectOption,
  Masthead as PfMasthead,
  MastheadBrand,
  MastheadContent,
  MastheadLogo,
  MastheadMain,
  MastheadToggle,
  PageToggleButton,
} from '@patternfly/react-core';
import { chooseLanguage, languages } from '../i18n';
import { useTranslation } from 'react-i18next';

function HomeLink(props: ComponentProps<'a'>) {
  return <Link {...props} to="/" />;
}

export function Masthead({ isSidebarOpen, onToggleSidebar }: { isSidebarOpen: boolean; onToggleSidebar: () => void }) {
  const { t, i18n } = useTranslation();
  return (
    <PfMasthead display={{ default: 'inline' }}>
      <MastheadMain>
        <MastheadToggle>
          <PageToggleButton isHamburgerButton aria-label={t('masthead.toggleNavigation')} isSidebarOpen={isSidebarOpen} onSidebarToggle={onToggleSidebar} />
        </MastheadToggle>
        <MastheadBrand>
          <MastheadLogo component={HomeLink} className="cn-brand">
            Canopy <span className="cn-subtitle">{t('masthead.subtitle')}</span>
          </MastheadLogo>
        </MastheadBrand>
      </MastheadMain>
      <MastheadContent className="cn-masthead-end">
        <FormSelect
          id="canopy-language"
          className="cn-language"
          aria-label={t('masthead.language')}
          value={i18n.resolvedLanguage ?? 'en'}
          onChange={(_event, code) => chooseLanguage(code)}
        >
          {languages.map(({ code, name }) => (
            <FormSelectOption key={code} value={code} label={name} lang={code} />
          ))}
        </FormSelect>
      </MastheadContent>
    </PfMasthead>
  );
}
