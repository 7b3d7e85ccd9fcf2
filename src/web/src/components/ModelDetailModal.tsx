/**
 * @module A model's details and the way in: Subscribe, or Request access for restricted models
 * (which waits for an administrator). Shows the new status as soon as the server answers.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  Button,
  Content,
  DescriptionList,
  DescriptionListDescription,
  DescriptionListGroup,
  DescriptionListTerm,
  Label,
  LabelGroup,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
} from '@patternfly/react-core';
import LockIcon from '@patternfly/react-icons/dist/esm/icons/lock-icon';
import { api } from '../api';
import { formatNumber } from '../format';
import { kindEndpoints, kindLabel, modelPrices } from '../kinds';
import { keys } from '../hooks/queries';
import { useToast } from '../hooks/toast';
import { useMoney } from '../hooks/useMoney';
import type { Model, Subscription } from '../types';
import { LinkButton } from './LinkButton';
import { SubscriptionStatusLabel } from './StatusLabel';
import { useTranslation } from 'react-i18next';

export function ModelDetailModal({ model, onClose }: { model: Model; onClose: () => void }) {
  const { t } = useTranslation();
  const money = useMoney();
  const toast = useToast();
  const queryClient = useQueryClient();
  const subscribe = useMutation({
    mutationFn: () => api<Subscription>('POST', '/subscriptions', { modelId: model.id }),
    onSuccess: (subscription) => {
      // Show the new status right away; the refetch below brings the rest.
      queryClient.setQueryData<Model[]>(keys.models, (models) =>
        models?.map((m) => (m.id === model.id ? { ...m, subscription: { id: subscription.id, status: subscription.status, reason: subscription.reason } } : m)),
      );
      void queryClient.invalidateQueries({ queryKey: keys.models });
      void queryClient.invalidateQueries({ queryKey: keys.subscriptions });
      if (subscription.status === 'pending') toast.success(t('modelDetail.requested', { model: model.id }), t('modelDetail.requestedBody'));
      else toast.success(t('modelDetail.subscribed', { model: model.id }), t('modelDetail.subscribedBody'));
    },
    onError: (error) => toast.failure(t('modelDetail.subscribeFailed', { model: model.id }), error),
  });

  const status = model.subscription?.status;
  const canAsk = !status || status === 'cancelled' || status === 'denied';
  const askLabel = model.restricted ? t('modelDetail.requestAccess') : t('modelDetail.subscribe');

  return (
    <Modal isOpen onClose={onClose} variant="medium" aria-labelledby="model-detail-title">
      <ModalHeader title={model.id} labelId="model-detail-title" description={model.provider ?? undefined} />
      <ModalBody>
        {model.description && <Content component="p">{model.description}</Content>}
        <DescriptionList isHorizontal isCompact style={{ marginTop: 16 }}>
          <DescriptionListGroup>
            <DescriptionListTerm>{t('modelDetail.kind')}</DescriptionListTerm>
            <DescriptionListDescription>{kindLabel(model.kind)}</DescriptionListDescription>
          </DescriptionListGroup>
          <DescriptionListGroup>
            <DescriptionListTerm>{t('modelDetail.endpoints')}</DescriptionListTerm>
            <DescriptionListDescription className="lm-mono">{kindEndpoints[model.kind].join(', ')}</DescriptionListDescription>
          </DescriptionListGroup>
          <DescriptionListGroup>
            <DescriptionListTerm>{t('modelDetail.contextLength')}</DescriptionListTerm>
            <DescriptionListDescription>{model.contextLength ? t('modelDetail.tokens', { tokens: formatNumber(model.contextLength) }) : t('modelDetail.notStated')}</DescriptionListDescription>
          </DescriptionListGroup>
          {modelPrices(model).map((price) => (
            <DescriptionListGroup key={price.label}>
              <DescriptionListTerm>{price.label}</DescriptionListTerm>
              <DescriptionListDescription>
                {money(price.value)} {price.unit}
              </DescriptionListDescription>
            </DescriptionListGroup>
          ))}
          {model.features.length > 0 && (
            <DescriptionListGroup>
              <DescriptionListTerm>{t('modelDetail.features')}</DescriptionListTerm>
              <DescriptionListDescription>
                <LabelGroup>
                  {model.features.map((feature) => (
                    <Label key={feature} color="blue" isCompact>
                      {feature}
                    </Label>
                  ))}
                </LabelGroup>
              </DescriptionListDescription>
            </DescriptionListGroup>
          )}
          <DescriptionListGroup>
            <DescriptionListTerm>{t('modelDetail.yourAccess')}</DescriptionListTerm>
            <DescriptionListDescription>
              {status && status !== 'cancelled' ? <SubscriptionStatusLabel status={status} /> : t('modelDetail.notSubscribed')}
            </DescriptionListDescription>
          </DescriptionListGroup>
        </DescriptionList>
        {model.restricted && canAsk && (
          <Alert variant="info" isInline isPlain customIcon={<LockIcon />} title={t('modelDetail.restricted')} style={{ marginTop: 16 }}>
            {t('modelDetail.restrictedBody')}
          </Alert>
        )}
        {status === 'pending' && (
          <Alert variant="warning" isInline isPlain title={t('modelDetail.waiting')} style={{ marginTop: 16 }}>
            {t('modelDetail.waitingBody')}
          </Alert>
        )}
        {status === 'denied' && (
          <Alert variant="danger" isInline isPlain title={t('modelDetail.denied')} style={{ marginTop: 16 }}>
            {t('modelDetail.deniedBody', { reason: model.subscription?.reason || t('modelDetail.noReason') })}
          </Alert>
        )}
        {model.status === 'deprecated' && (
          <Alert variant="warning" isInline isPlain title={t('modelDetail.deprecated')} style={{ marginTop: 16 }}>
            {t('modelDetail.deprecatedBody')}
          </Alert>
        )}
      </ModalBody>
      <ModalFooter>
        {canAsk && (
          <Button variant="primary" onClick={() => subscribe.mutate()} isLoading={subscribe.isPending} isDisabled={subscribe.isPending}>
            {askLabel}
          </Button>
        )}
        {status === 'active' && (
          <LinkButton to={`/api-keys?create=1&model=${encodeURIComponent(model.id)}`}>{t('modelDetail.createKey')}</LinkButton>
        )}
        <Button variant="link" onClick={onClose}>
          {t('modelDetail.done')}
        </Button>
      </ModalFooter>
    </Modal>
  );
}
