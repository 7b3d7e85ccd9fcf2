/** @module Colored labels for subscription and key statuses, worded for people. */
import { Label } from '@patternfly/react-core';
import type { ApiKey, SubscriptionStatus } from '../types';
import { useTranslation } from 'react-i18next';

type Color = 'green' | 'orange' | 'red' | 'grey' | 'blue' | 'purple' | 'teal' | 'yellow' | 'orangered';

const subscriptionColors: Record<SubscriptionStatus, Color> = {
  active: 'green',
  pending: 'orange',
  denied: 'red',
  suspended: 'orangered',
  cancelled: 'grey',
};

export function SubscriptionStatusLabel({ status }: { status: SubscriptionStatus }) {
  const { t } = useTranslation();
  const color = subscriptionColors[status];
  return <Label color={color ?? 'grey'} isCompact>{color ? t(`status.subscription.${status}`) : status}</Label>;
}

const keyColors: Record<ApiKey['status'], Color> = {
  active: 'green',
  revoked: 'red',
  expired: 'grey',
};

export function KeyStatusLabel({ status }: { status: ApiKey['status'] }) {
  const { t } = useTranslation();
  const color = keyColors[status];
  return <Label color={color ?? 'grey'} isCompact>{color ? t(`status.key.${status}`) : status}</Label>;
}
