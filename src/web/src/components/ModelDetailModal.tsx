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
import { kindEndpoints, kindLabels, modelPrices } from '../kinds';
import { keys } from '../hooks/queries';
import { useToast } from '../hooks/toast';
import { useMoney } from '../hooks/useMoney';
import type { Model, Subscription } from '../types';
import { LinkButton } from './LinkButton';
import { SubscriptionStatusLabel } from './StatusLabel';

export function ModelDetailModal({ model, onClose }: { model: Model; onClose: () => void }) {
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
      if (subscription.status === 'pending') toast.success(`Access requested for ${model.id}`, 'An administrator will review your request.');
      else toast.success(`Subscribed to ${model.id}`, 'You can now create an API key for it.');
    },
    onError: (error) => toast.failure(`Could not subscribe to ${model.id}`, error),
  });

  const status = model.subscription?.status;
  const canAsk = !status || status === 'cancelled' || status === 'denied';
  const askLabel = model.restricted ? 'Request access' : 'Subscribe';

  return (
    <Modal isOpen onClose={onClose} variant="medium" aria-labelledby="model-detail-title">
      <ModalHeader title={model.id} labelId="model-detail-title" description={model.provider ?? undefined} />
      <ModalBody>
        {model.description && <Content component="p">{model.description}</Content>}
        <DescriptionList isHorizontal isCompact style={{ marginTop: 16 }}>
          <DescriptionListGroup>
            <DescriptionListTerm>Kind</DescriptionListTerm>
            <DescriptionListDescription>{kindLabels[model.kind]}</DescriptionListDescription>
          </DescriptionListGroup>
          <DescriptionListGroup>
            <DescriptionListTerm>Endpoints</DescriptionListTerm>
            <DescriptionListDescription className="lm-mono">{kindEndpoints[model.kind].join(', ')}</DescriptionListDescription>
          </DescriptionListGroup>
          <DescriptionListGroup>
            <DescriptionListTerm>Context length</DescriptionListTerm>
            <DescriptionListDescription>{model.contextLength ? `${formatNumber(model.contextLength)} tokens` : 'not stated'}</DescriptionListDescription>
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
              <DescriptionListTerm>Features</DescriptionListTerm>
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
            <DescriptionListTerm>Your access</DescriptionListTerm>
            <DescriptionListDescription>
              {status && status !== 'cancelled' ? <SubscriptionStatusLabel status={status} /> : 'Not subscribed'}
            </DescriptionListDescription>
          </DescriptionListGroup>
        </DescriptionList>
        {model.restricted && canAsk && (
          <Alert variant="info" isInline isPlain customIcon={<LockIcon />} title="Restricted model" style={{ marginTop: 16 }}>
            An administrator approves access to this model. Your request stays pending until then.
          </Alert>
        )}
        {status === 'pending' && (
          <Alert variant="warning" isInline isPlain title="Waiting for approval" style={{ marginTop: 16 }}>
            You can create a key for this model once an administrator approves your request.
          </Alert>
        )}
        {status === 'denied' && (
          <Alert variant="danger" isInline isPlain title="Access denied" style={{ marginTop: 16 }}>
            {model.subscription?.reason || 'No reason was given.'} You can ask again.
          </Alert>
        )}
        {model.status === 'deprecated' && (
          <Alert variant="warning" isInline isPlain title="Deprecated" style={{ marginTop: 16 }}>
            This model is being retired; new subscriptions may be refused.
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
          <LinkButton to={`/api-keys?create=1&model=${encodeURIComponent(model.id)}`}>Create API key</LinkButton>
        )}
        <Button variant="link" onClick={onClose}>
          Done
        </Button>
      </ModalFooter>
    </Modal>
  );
}
