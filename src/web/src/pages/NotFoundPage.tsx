/** @module Any path the router does not know. */
import { PageSection } from '@patternfly/react-core';
import { Empty } from '../components/States';
import { LinkButton } from '../components/LinkButton';
import { useTranslation } from 'react-i18next';

export function NotFoundPage() {
  const { t } = useTranslation();
  return (
    <PageSection>
      <Empty title={t('notFound.title')} action={<LinkButton to="/models">{t('notFound.action')}</LinkButton>}>
        {t('notFound.body')}
      </Empty>
    </PageSection>
  );
}
