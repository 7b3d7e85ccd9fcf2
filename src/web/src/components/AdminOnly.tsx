/** @module Guards /admin/*: the server refuses anyway, this just says so instead of showing errors. */
import { Outlet } from 'react-router';
import { LinkButton } from './LinkButton';
import { PageSection } from '@patternfly/react-core';
import LockIcon from '@patternfly/react-icons/dist/esm/icons/lock-icon';
import { canSeeAdmin, useMe } from '../hooks/useMe';
import { Empty } from './States';
import { useTranslation } from 'react-i18next';

export function AdminOnly() {
  const { t } = useTranslation();
  const me = useMe();
  if (canSeeAdmin(me.data)) return <Outlet />;
  return (
    <PageSection>
      <Empty
        title={t('adminOnly.title')}
        icon={LockIcon}
        action={<LinkButton to="/models">{t('adminOnly.back')}</LinkButton>}
      >
        {t('adminOnly.body')}
      </Empty>
    </PageSection>
  );
}
