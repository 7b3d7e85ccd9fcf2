/** @module The signed-in person's dropdown: who they are, the API docs, the language, and Log out. */
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { Dropdown, DropdownGroup, DropdownItem, DropdownList, Divider, MenuToggle } from '@patternfly/react-core';
import UserIcon from '@patternfly/react-icons/dist/esm/icons/user-icon';
import { api } from '../api';
import { chooseLanguage, languages } from '../i18n';
import { useToast } from '../hooks/toast';
import type { Me } from '../types';
import { useTranslation } from 'react-i18next';

export function UserMenu({ me }: { me: Me }) {
  const { t, i18n } = useTranslation();
  const [isOpen, setOpen] = useState(false);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const toast = useToast();

  const logout = async () => {
    try {
      await api<void>('POST', '/api/auth/logout');
    } catch (error) {
      toast.failure(t('userMenu.signOutFailed'), error);
    }
    queryClient.clear();
    navigate('/login', { replace: true });
  };

  return (
    <Dropdown
      isOpen={isOpen}
      onOpenChange={setOpen}
      popperProps={{ position: 'right' }}
      onSelect={() => setOpen(false)}
      toggle={(ref) => (
        <MenuToggle ref={ref} variant="plainText" icon={<UserIcon />} isExpanded={isOpen} onClick={() => setOpen(!isOpen)} aria-label={me.displayName || me.username}>
          {/* On a phone the name would push the bar off screen: the icon stays, the name is in the menu. */}
          <span className="lm-user-name">{me.displayName || me.username}</span>
        </MenuToggle>
      )}
    >
      <DropdownList>
        <DropdownItem key="who" isDisabled description={[me.email, me.roles.join(', ')].filter(Boolean).join(' · ')}>
          {t('userMenu.signedInAs', { username: me.username })}
        </DropdownItem>
        <DropdownItem key="docs" to="/docs" isExternalLink>
          {t('userMenu.apiDocs')}
        </DropdownItem>
      </DropdownList>
      <Divider />
      <DropdownGroup label={t('userMenu.language')} labelHeadingLevel="h3">
        <DropdownList aria-label={t('userMenu.language')}>
          {languages.map(({ code, name }) => (
            <DropdownItem
              key={code}
              lang={code}
              isSelected={i18n.resolvedLanguage === code}
              onClick={() => chooseLanguage(code)}
            >
              {name}
            </DropdownItem>
          ))}
        </DropdownList>
      </DropdownGroup>
      <Divider />
      <DropdownList>
        <DropdownItem key="logout" onClick={() => void logout()}>
          {t('userMenu.logout')}
        </DropdownItem>
      </DropdownList>
    </Dropdown>
  );
}
