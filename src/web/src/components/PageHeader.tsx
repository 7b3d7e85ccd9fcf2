/** @module A page's title, one line on what it is for, and its main actions. */
import type { ReactNode } from 'react';
import { Content, Flex, FlexItem, PageSection, Title } from '@patternfly/react-core';

export function PageHeader({ title, description, actions }: { title: string; description?: ReactNode; actions?: ReactNode }) {
  return (
    <PageSection>
      <Flex justifyContent={{ default: 'justifyContentSpaceBetween' }} alignItems={{ default: 'alignItemsFlexStart' }} gap={{ default: 'gapMd' }}>
        <FlexItem>
          <Title headingLevel="h1">{title}</Title>
          {description && <Content component="p" className="lm-muted">{description}</Content>}
        </FlexItem>
        {actions && <FlexItem>{actions}</FlexItem>}
      </Flex>
    </PageSection>
  );
}
