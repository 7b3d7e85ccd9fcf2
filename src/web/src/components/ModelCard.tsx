/** @module One model in the gallery; the whole card opens the model's details. */
import { Card, CardBody, CardFooter, CardHeader, CardTitle, Content, Flex, Label, LabelGroup } from '@patternfly/react-core';
import LockIcon from '@patternfly/react-icons/dist/esm/icons/lock-icon';
import { formatNumber } from '../format';
import { useDomId } from '../hooks/useDomId';
import { useMoney } from '../hooks/useMoney';
import type { Model } from '../types';
import { SubscriptionStatusLabel } from './StatusLabel';

export function ModelCard({ model, onOpen }: { model: Model; onOpen: () => void }) {
  const titleId = useDomId('model-title');
  const money = useMoney();
  return (
    <Card isClickable isFullHeight>
      <CardHeader selectableActions={{ onClickAction: onOpen, selectableActionAriaLabelledby: titleId }}>
        <CardTitle id={titleId} style={{ overflowWrap: 'anywhere' }}>{model.id}</CardTitle>
      </CardHeader>
      <CardBody>
        <Content component="p" className="lm-muted">
          {[model.provider, model.kind, model.contextLength ? `${formatNumber(model.contextLength)} tokens context` : null]
            .filter(Boolean)
            .join(' · ')}
        </Content>
        <Content component="p">
          {money(model.inputPricePer1M)} in · {money(model.outputPricePer1M)} out <span className="lm-muted">per 1M tokens</span>
        </Content>
        <LabelGroup numLabels={4} aria-label="Features">
          {model.restricted && (
            <Label color="orange" icon={<LockIcon />} isCompact>
              Restricted
            </Label>
          )}
          {model.status === 'deprecated' && <Label color="grey" isCompact>Deprecated</Label>}
          {model.features.map((feature) => (
            <Label key={feature} color="blue" isCompact>
              {feature}
            </Label>
          ))}
        </LabelGroup>
      </CardBody>
      <CardFooter>
        <Flex gap={{ default: 'gapSm' }} alignItems={{ default: 'alignItemsCenter' }}>
          {model.subscription && model.subscription.status !== 'cancelled' ? (
            <SubscriptionStatusLabel status={model.subscription.status} />
          ) : (
            <span className="lm-muted">Not subscribed</span>
          )}
        </Flex>
      </CardFooter>
    </Card>
  );
}
