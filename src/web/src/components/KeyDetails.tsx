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
import { useTranslation } from 'react-i18next';

export function KeyDetails({ apiKey }: { apiKey: ApiKey }) {
  const { t } = useTranslation();
  const rows: [string, ReactNode][] = [
    [t('keyDetails.status'), <KeyStatusLabel status={apiKey.status} />],
    [t('keyDetails.description'), apiKey.description || '—'],
    [
      t('keyDetails.models'),
      <LabelGroup numLabels={5}>
        {apiKey.models.map((model) => (
          <Label key={model} isCompact>
            {model}
          </Label>
        ))}
      </LabelGroup>,
    ],
    [t('keyDetails.budget'), <BudgetText spend={apiKey.spend} maxBudget={apiKey.maxBudget} period={apiKey.budgetPeriod} />],
    [t('keyDetails.limits'), `${formatLimit(apiKey.rpm, 'RPM')} · ${formatLimit(apiKey.tpm, 'TPM')}`],
    [t('keyDetails.created'), formatDateTime(apiKey.createdAt)],
    [t('keyDetails.expires'), apiKey.expiresAt ? formatDate(apiKey.expiresAt) : t('keyDetails.never')],
    [t('keyDetails.lastUsed'), apiKey.lastUsedAt ? formatDateTime(apiKey.lastUsedAt) : t('keyDetails.never')],
  ];
  // After a rotation with a grace period: the secret it replaced still works, until then.
  if (apiKey.previousValidUntil) rows.push([t('keyDetails.previousSecret'), t('keyDetails.validUntil', { date: formatDateTime(apiKey.previousValidUntil) })]);
  if (apiKey.spendResetAt) rows.push([t('keyDetails.spendReset'), t('keyDetails.resetBy', { date: formatDateTime(apiKey.spendResetAt) })]);
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
