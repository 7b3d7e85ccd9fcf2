/** @module Any path the router does not know. */
import { PageSection } from '@patternfly/react-core';
import { Empty } from '../components/States';
import { LinkButton } from '../components/LinkButton';

export function NotFoundPage() {
  return (
    <PageSection>
      <Empty title="Page not found" action={<LinkButton to="/models">Go to models</LinkButton>}>
        There is nothing at this address.
      </Empty>
    </PageSection>
  );
}
