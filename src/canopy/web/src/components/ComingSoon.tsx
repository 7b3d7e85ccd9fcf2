/** @module What a feature's page shows when this deployment does not offer it. */
import { EmptyState, EmptyStateBody, PageSection } from '@patternfly/react-core';
import CubesIcon from '@patternfly/react-icons/dist/esm/icons/cubes-icon';
import type { Feature } from '../features';
import { PageHeader } from './PageHeader';
import { Trans, useTranslation } from 'react-i18next';

export function ComingSoon({ feature, isEnabled = false }: { feature: Feature; isEnabled?: boolean }) {
  const { t } = useTranslation();
  const label = t(feature.labelKey);
  return (
    <>
      <PageHeader title={label} description={t(feature.descriptionKey)} />
      <PageSection isFilled>
        <EmptyState titleText={t('comingSoon.title')} headingLevel="h2" icon={CubesIcon} data-testid="coming-soon">
          <EmptyStateBody>
            {isEnabled ? (
              t('comingSoon.enabled', { feature: label })
            ) : (
              <Trans i18nKey="comingSoon.disabled" values={{ feature: label, key: feature.key }} components={{ c1: <code />, c2: <code /> }} />
            )}
          </EmptyStateBody>
        </EmptyState>
      </PageSection>
    </>
  );
}
