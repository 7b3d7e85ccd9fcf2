/** @module Guards /admin/*: the server refuses anyway, this just says so instead of showing errors. */
import { Outlet } from 'react-router';
import { LinkButton } from './LinkButton';
import { PageSection } from '@patternfly/react-core';
import LockIcon from '@patternfly/react-icons/dist/esm/icons/lock-icon';
import { canSeeAdmin, useMe } from '../hooks/useMe';
import { Empty } from './States';

export function AdminOnly() {
  const me = useMe();
  if (canSeeAdmin(me.data)) return <Outlet />;
  return (
    <PageSection>
      <Empty
        title="Administrators only"
        icon={LockIcon}
        action={<LinkButton to="/models">Back to models</LinkButton>}
      >
        This page needs the admin or admin-readonly role. Ask an administrator if you need it.
      </Empty>
    </PageSection>
  );
}
