/** @module The facts about one key: models, budget, limits, dates. Used in View key. */
import type { ReactNode } from 'react';
import {
  DescriptionList,
  DescriptionListDescription,
  DescriptionListGroup,
  DescriptionListTerm,
  Label,
  LabelGroup,
} from '@patternfly/react-core';
import { formatDate, formatDateTime, formatLimit } from '../format';
import type { ApiKey } from '../types';
import { BudgetText } from './BudgetText';
import { KeyStatusLabel } from './StatusLabel';

export function KeyDetails({ apiKey }: { apiKey: ApiKey }) {
  const rows: [string, ReactNode][] = [
    ['Status', <KeyStatusLabel status={apiKey.status} />],
    ['Description', apiKey.description || '—'],
    [
      'Models',
      <LabelGroup numLabels={5}>
        {apiKey.models.map((model) => (
          <Label key={model} isCompact>
            {model}
          </Label>
        ))}
      </LabelGroup>,
    ],
    ['Budget', <BudgetText spend={apiKey.spend} maxBudget={apiKey.maxBudget} period={apiKey.budgetPeriod} />],
    ['Limits', `${formatLimit(apiKey.rpm, 'RPM')} · ${formatLimit(apiKey.tpm, 'TPM')}`],
    ['Created', formatDateTime(apiKey.createdAt)],
    ['Expires', apiKey.expiresAt ? formatDate(apiKey.expiresAt) : 'Never'],
    ['Last used', apiKey.lastUsedAt ? formatDateTime(apiKey.lastUsedAt) : 'Never'],
  ];
  // After a rotation with a grace period: the secret it replaced still works, until then.
  if (apiKey.previousValidUntil) rows.push(['Previous secret', `valid until ${formatDateTime(apiKey.previousValidUntil)}`]);
  if (apiKey.spendResetAt) rows.push(['Spend reset', `by an administrator, ${formatDateTime(apiKey.spendResetAt)}`]);
  return (
    <DescriptionList isCompact columnModifier={{ default: '1Col', md: '2Col', xl: '3Col' }}>
      {rows.map(([term, value]) => (
        <DescriptionListGroup key={term}>
          <DescriptionListTerm>{term}</DescriptionListTerm>
          <DescriptionListDescription>{value}</DescriptionListDescription>
        </DescriptionListGroup>
      ))}
    </DescriptionList>
  );
}
