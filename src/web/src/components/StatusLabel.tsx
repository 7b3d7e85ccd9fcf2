/** @module Colored labels for subscription and key statuses, worded for people. */
import { Label } from '@patternfly/react-core';
import type { ApiKey, SubscriptionStatus } from '../types';

type Color = 'green' | 'orange' | 'red' | 'grey' | 'blue' | 'purple' | 'teal' | 'yellow' | 'orangered';

const subscriptionLabels: Record<SubscriptionStatus, { text: string; color: Color }> = {
  active: { text: 'Active', color: 'green' },
  pending: { text: 'Pending approval', color: 'orange' },
  denied: { text: 'Access denied', color: 'red' },
  suspended: { text: 'Suspended', color: 'orangered' },
  cancelled: { text: 'Cancelled', color: 'grey' },
};

export function SubscriptionStatusLabel({ status }: { status: SubscriptionStatus }) {
  const { text, color } = subscriptionLabels[status] ?? { text: status, color: 'grey' };
  return <Label color={color} isCompact>{text}</Label>;
}

const keyLabels: Record<ApiKey['status'], { text: string; color: Color }> = {
  active: { text: 'Active', color: 'green' },
  revoked: { text: 'Revoked', color: 'red' },
  expired: { text: 'Expired', color: 'grey' },
};

export function KeyStatusLabel({ status }: { status: ApiKey['status'] }) {
  const { text, color } = keyLabels[status] ?? { text: status, color: 'grey' };
  return <Label color={color} isCompact>{text}</Label>;
}
