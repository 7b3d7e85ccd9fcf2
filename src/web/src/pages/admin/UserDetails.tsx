/** @module One user's keys and subscriptions, shown when their row in the users table is expanded. */
import { Content, Grid, GridItem, Label, LabelGroup } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { BudgetText } from '../../components/BudgetText';
import { ErrorAlert, Loading } from '../../components/States';
import { KeyStatusLabel, SubscriptionStatusLabel } from '../../components/StatusLabel';
import { formatDate, formatDateTime } from '../../format';
import { useUserApiKeys, useUserSubscriptions } from '../../hooks/adminQueries';
import { canAdminister, useMe } from '../../hooks/useMe';
import { ResetSpendButton } from '../../components/ResetSpendButton';
import type { User } from '../../types';
import { useTranslation } from 'react-i18next';

export function UserDetails({ user }: { user: User }) {
  const { t } = useTranslation();
  const apiKeys = useUserApiKeys(user.id);
  const subscriptions = useUserSubscriptions(user.id);
  const canChange = canAdminister(useMe().data);
  return (
    <Grid hasGutter>
      <GridItem xl={7}>
        <Content component="h3">
          {t('userDetails.apiKeys')}
          {canChange && user.maxBudget !== null && <ResetSpendButton kind="user" id={user.id} name={user.username} userId={user.id} />}
        </Content>
        {apiKeys.isPending && <Loading label={t('userDetails.loadingKeys', { username: user.username })} />}
        {apiKeys.isError && <ErrorAlert error={apiKeys.error} title={t('userDetails.keysError')} />}
        {apiKeys.data?.length === 0 && <p className="lm-muted">{t('userDetails.noKeys')}</p>}
        {!!apiKeys.data?.length && (
          <Table aria-label={t('userDetails.keysOf', { username: user.username })} variant="compact">
            <Thead>
              <Tr>
                <Th modifier="wrap">{t('userDetails.col.name')}</Th>
                <Th modifier="wrap">{t('userDetails.col.key')}</Th>
                <Th modifier="wrap">{t('userDetails.col.models')}</Th>
                <Th modifier="wrap">{t('userDetails.col.budget')}</Th>
                <Th modifier="wrap">{t('userDetails.col.lastUsed')}</Th>
                <Th modifier="wrap">{t('userDetails.col.status')}</Th>
                {canChange && <Th screenReaderText={t('userDetails.col.actions')} />}
              </Tr>
            </Thead>
            <Tbody>
              {apiKeys.data.map((key) => (
                <Tr key={key.id}>
                  <Td dataLabel={t('userDetails.col.name')}>{key.name}</Td>
                  <Td dataLabel={t('userDetails.col.key')}>
                    <span className="lm-mono">{key.prefix}</span>
                  </Td>
                  <Td dataLabel={t('userDetails.col.models')}>
                    <LabelGroup numLabels={2}>
                      {key.models.map((m) => (
                        <Label key={m} isCompact>
                          {m}
                        </Label>
                      ))}
                    </LabelGroup>
                  </Td>
                  <Td dataLabel={t('userDetails.col.budget')}>
                    <BudgetText spend={key.spend} maxBudget={key.maxBudget} period={key.budgetPeriod} />
                  </Td>
                  <Td dataLabel={t('userDetails.col.lastUsed')}>{key.lastUsedAt ? formatDateTime(key.lastUsedAt) : t('userDetails.never')}</Td>
                  <Td dataLabel={t('userDetails.col.status')}>
                    <KeyStatusLabel status={key.status} />
                  </Td>
                  {canChange && (
                    <Td dataLabel={t('userDetails.col.actions')} isActionCell>
                      {key.maxBudget !== null && key.status === 'active' && <ResetSpendButton kind="key" id={key.id} name={key.name} userId={user.id} />}
                    </Td>
                  )}
                </Tr>
              ))}
            </Tbody>
          </Table>
        )}
      </GridItem>
      <GridItem xl={5}>
        <Content component="h3">{t('userDetails.subscriptions')}</Content>
        {subscriptions.isPending && <Loading label={t('userDetails.loadingSubscriptions', { username: user.username })} />}
        {subscriptions.isError && <ErrorAlert error={subscriptions.error} title={t('userDetails.subscriptionsError')} />}
        {subscriptions.data?.length === 0 && <p className="lm-muted">{t('userDetails.noSubscriptions')}</p>}
        {!!subscriptions.data?.length && (
          <Table aria-label={t('userDetails.subscriptionsOf', { username: user.username })} variant="compact">
            <Thead>
              <Tr>
                <Th modifier="wrap">{t('userDetails.col.model')}</Th>
                <Th modifier="wrap">{t('userDetails.col.status')}</Th>
                <Th modifier="wrap">{t('userDetails.col.since')}</Th>
              </Tr>
            </Thead>
            <Tbody>
              {subscriptions.data.map((s) => (
                <Tr key={s.id}>
                  <Td dataLabel={t('userDetails.col.model')}>{s.modelId}</Td>
                  <Td dataLabel={t('userDetails.col.status')}>
                    <SubscriptionStatusLabel status={s.status} />
                  </Td>
                  <Td dataLabel={t('userDetails.col.since')}>{formatDate(s.createdAt)}</Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        )}
      </GridItem>
    </Grid>
  );
}
