/** @module A page's title, what it is for, the model behind it (quietly), and its actions. */
import type { ReactNode } from 'react';
import { Content, Flex, FlexItem, PageSection, Title } from '@patternfly/react-core';
import { useTranslation } from 'react-i18next';

export function PageHeader({ title, description, model, actions }: { title: string; description: string; model?: string; actions?: ReactNode }) {
  const { t } = useTranslation();
  return (
    <PageSection>
      <Flex justifyContent={{ default: 'justifyContentSpaceBetween' }} alignItems={{ default: 'alignItemsFlexStart' }} gap={{ default: 'gapMd' }}>
        <FlexItem className="cn-shrink">
          <Title headingLevel="h1">{title}</Title>
          <Content component="p">{description}</Content>
          {model && (
            <Content component="p" className="cn-muted cn-wrap" data-testid="model-name">
              {t('pageHeader.model', { model })}
            </Content>
          )}
        </FlexItem>
        {actions && <FlexItem>{actions}</FlexItem>}
      </Flex>
    </PageSection>
  );
}
