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

export function UserDetails({ user }: { user: User }) {
  const apiKeys = useUserApiKeys(user.id);
  const subscriptions = useUserSubscriptions(user.id);
  const canChange = canAdminister(useMe().data);
  return (
    <Grid hasGutter>
      <GridItem xl={7}>
        <Content component="h3">
          API keys
          {canChange && user.maxBudget !== null && <ResetSpendButton kind="user" id={user.id} name={user.username} userId={user.id} />}
        </Content>
        {apiKeys.isPending && <Loading label={`Loading ${user.username}'s keys`} />}
        {apiKeys.isError && <ErrorAlert error={apiKeys.error} title="Could not load keys" />}
        {apiKeys.data?.length === 0 && <p className="lm-muted">No keys.</p>}
        {!!apiKeys.data?.length && (
          <Table aria-label={`API keys of ${user.username}`} variant="compact">
            <Thead>
              <Tr>
                <Th modifier="wrap">Name</Th>
                <Th modifier="wrap">Key</Th>
                <Th modifier="wrap">Models</Th>
                <Th modifier="wrap">Budget</Th>
                <Th modifier="wrap">Last used</Th>
                <Th modifier="wrap">Status</Th>
                {canChange && <Th screenReaderText="Actions" />}
              </Tr>
            </Thead>
            <Tbody>
              {apiKeys.data.map((key) => (
                <Tr key={key.id}>
                  <Td dataLabel="Name">{key.name}</Td>
                  <Td dataLabel="Key">
                    <span className="lm-mono">{key.prefix}</span>
                  </Td>
                  <Td dataLabel="Models">
                    <LabelGroup numLabels={2}>
                      {key.models.map((m) => (
                        <Label key={m} isCompact>
                          {m}
                        </Label>
                      ))}
                    </LabelGroup>
                  </Td>
                  <Td dataLabel="Budget">
                    <BudgetText spend={key.spend} maxBudget={key.maxBudget} period={key.budgetPeriod} />
                  </Td>
                  <Td dataLabel="Last used">{key.lastUsedAt ? formatDateTime(key.lastUsedAt) : 'Never'}</Td>
                  <Td dataLabel="Status">
                    <KeyStatusLabel status={key.status} />
                  </Td>
                  {canChange && (
                    <Td dataLabel="Actions" isActionCell>
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
        <Content component="h3">Subscriptions</Content>
        {subscriptions.isPending && <Loading label={`Loading ${user.username}'s subscriptions`} />}
        {subscriptions.isError && <ErrorAlert error={subscriptions.error} title="Could not load subscriptions" />}
        {subscriptions.data?.length === 0 && <p className="lm-muted">No subscriptions.</p>}
        {!!subscriptions.data?.length && (
          <Table aria-label={`Subscriptions of ${user.username}`} variant="compact">
            <Thead>
              <Tr>
                <Th modifier="wrap">Model</Th>
                <Th modifier="wrap">Status</Th>
                <Th modifier="wrap">Since</Th>
              </Tr>
            </Thead>
            <Tbody>
              {subscriptions.data.map((s) => (
                <Tr key={s.id}>
                  <Td dataLabel="Model">{s.modelId}</Td>
                  <Td dataLabel="Status">
                    <SubscriptionStatusLabel status={s.status} />
                  </Td>
                  <Td dataLabel="Since">{formatDate(s.createdAt)}</Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        )}
      </GridItem>
    </Grid>
  );
}
