/**
 * @module One model in the gallery. Its name is the button that opens the details (what keyboards
 * and tests reach); a click anywhere else on the card does the same for mice.
 */
import { Button, Card, CardBody, CardFooter, CardHeader, CardTitle, Content, Flex, Label, LabelGroup } from '@patternfly/react-core';
import LockIcon from '@patternfly/react-icons/dist/esm/icons/lock-icon';
import { formatNumber } from '../format';
import { kindLabel, priceLines } from '../kinds';
import { useMoney } from '../hooks/useMoney';
import type { Model } from '../types';
import { SubscriptionStatusLabel } from './StatusLabel';
import { useTranslation } from 'react-i18next';

export function ModelCard({ model, onOpen }: { model: Model; onOpen: () => void }) {
  const { t } = useTranslation();
  const money = useMoney();
  return (
    <Card isFullHeight className="lm-card-clickable" onClick={onOpen}>
      <CardHeader>
        <CardTitle>
          <Button
            variant="link"
            isInline
            className="lm-card-title-button"
            onClick={(event) => {
              event.stopPropagation(); // the card's own click would open it a second time
              onOpen();
            }}
          >
            {model.id}
          </Button>
        </CardTitle>
      </CardHeader>
      <CardBody>
        <Content component="p" className="lm-muted">
          {[model.provider, kindLabel(model.kind), model.contextLength ? t('modelCard.context', { tokens: formatNumber(model.contextLength) }) : null]
            .filter(Boolean)
            .join(' · ')}
        </Content>
        <div data-testid="model-prices">
          {priceLines(model, money).map((line) => (
            <Content component="p" key={line.unit}>
              {line.amount} <span className="lm-muted">{line.unit}</span>
            </Content>
          ))}
        </div>
        <LabelGroup numLabels={4} aria-label={t('modelCard.features')}>
          {model.restricted && (
            <Label color="orange" icon={<LockIcon />} isCompact>
              {t('modelCard.restricted')}
            </Label>
          )}
          {model.status === 'deprecated' && <Label color="grey" isCompact>{t('modelCard.deprecated')}</Label>}
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
            <span className="lm-muted">{t('modelCard.notSubscribed')}</span>
          )}
        </Flex>
      </CardFooter>
    </Card>
  );
}
