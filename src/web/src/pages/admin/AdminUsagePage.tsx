/** @module Usage across every user, with a user filter and a by-user breakdown. */
import { PageHeader } from '../../components/PageHeader';
import { UsageView } from '../../usage/UsageView';
import { useTranslation } from 'react-i18next';

export function AdminUsagePage() {
  const { t } = useTranslation();
  return (
    <>
      <PageHeader title={t('adminUsage.title')} description={t('adminUsage.description')} />
      <UsageView scope="admin" />
    </>
  );
}
