/** @module The signed-in person's dropdown: who they are, the API docs, and Log out. */
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { Dropdown, DropdownItem, DropdownList, Divider, MenuToggle } from '@patternfly/react-core';
import UserIcon from '@patternfly/react-icons/dist/esm/icons/user-icon';
import { api } from '../api';
import { useToast } from '../hooks/toast';
import type { Me } from '../types';

export function UserMenu({ me }: { me: Me }) {
  const [isOpen, setOpen] = useState(false);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const toast = useToast();

  const logout = async () => {
    try {
      await api<void>('POST', '/api/auth/logout');
    } catch (error) {
      toast.failure('Could not sign out cleanly', error);
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
          Signed in as {me.username}
        </DropdownItem>
        <DropdownItem key="docs" to="/docs" isExternalLink>
          API documentation
        </DropdownItem>
        <Divider component="li" key="divider" />
        <DropdownItem key="logout" onClick={() => void logout()}>
          Log out
        </DropdownItem>
      </DropdownList>
    </Dropdown>
  );
}
