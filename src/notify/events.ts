/**
 * @module What the notifier passes around: the scopes a budget belongs to,
 * the people told about them, and one notification event (portal title and
 * text, plus the JSON body webhooks receive).
 */
import type { BudgetPeriod } from '../store/schema.js';
import type { NotificationType } from '../shared/api-types.js';

export type AlertScopeKind = 'key' | 'user' | 'team';

export interface Recipient { userId: string; email: string | null }

/** A budget holder the detector checks: amounts are decimal strings (numeric(28,12)). */
export interface AlertScope {
  scope: AlertScopeKind;
  id: string;
  name: string;
  budget: string | null;
  softBudget: string | null;
  period: BudgetPeriod;
  recipients: Recipient[];
}

export interface NotifyEvent {
  type: NotificationType;
  /** One line: the drawer's title and the e-mail's subject. */
  title: string;
  /** A sentence or two: the drawer's body, the e-mail's text and the webhook's Slack-compatible `text`. */
  text: string;
  recipients: Recipient[];
  /** The webhook body's fields besides `type` and `text`. */
  data: Record<string, unknown>;
}

/** Amounts as people read them: up to 6 decimals, no exponent. */
export function formatAmount(decimal: string | number, currency: string): string {
  return `${Number(decimal).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 6 })} ${currency}`;
}
