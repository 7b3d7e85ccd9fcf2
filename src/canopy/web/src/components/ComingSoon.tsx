/** @module What a feature's page shows when this deployment does not offer it. */
import { EmptyState, EmptyStateBody, PageSection } from '@patternfly/react-core';
import CubesIcon from '@patternfly/react-icons/dist/esm/icons/cubes-icon';
import type { Feature } from '../features';
import { PageHeader } from './PageHeader';

export function ComingSoon({ feature, isEnabled = false }: { feature: Feature; isEnabled?: boolean }) {
  return (
    <>
      <PageHeader title={feature.label} description={feature.description} />
      <PageSection isFilled>
        <EmptyState titleText="Coming soon" headingLevel="h2" icon={CubesIcon} data-testid="coming-soon">
          <EmptyStateBody>
            {isEnabled ? (
              <>{feature.label} is enabled in this deployment, but this version of Canopy&apos;s interface does not offer it yet.</>
            ) : (
              <>
                {feature.label} is not enabled in this deployment. Whoever runs Canopy can turn it on by setting{' '}
                <code>enabled: true</code> under <code>{feature.key}</code> in its configuration.
              </>
            )}
          </EmptyStateBody>
        </EmptyState>
      </PageSection>
    </>
  );
}
