/**
 * @module The usage dashboard, for one person (scope 'me') or for everyone (scope 'admin'):
 * filters, headline cards, charts over time and by model, budgets and breakdown tables.
 */
import { useState } from 'react';
import { useIsFetching, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api';
import { Alert, Grid, GridItem, PageSection, Stack, StackItem } from '@patternfly/react-core';
import { LinkButton } from '../components/LinkButton';
import { ErrorAlert } from '../components/States';
import { adminKeys, useAdminUsers, useUserApiKeys } from '../hooks/adminQueries';
import { keys, useApiKeys, useModels } from '../hooks/queries';
import { useMe } from '../hooks/useMe';
import type { ApiKey, UsageRow } from '../types';
import { BudgetCard } from './BudgetCard';
import { ByModelChart } from './ByModelChart';
import { initialFilters, type Scope, type UsageFilters } from './filters';
import { OverTimeChart } from './OverTimeChart';
import { UsageCards } from './UsageCards';
import { UsageTable } from './UsageTable';
import { UsageToolbar } from './UsageToolbar';
import { REFRESH_MS, useUsageSummary, useUsageTimeseries } from './useUsage';

const keyName = (row: UsageRow) => row.keyName ?? row.keyId ?? 'unknown key';
const modelName = (row: UsageRow) => row.modelId ?? 'unknown model';
const userName = (row: UsageRow) => row.username ?? row.userId ?? 'unknown user';
const teamName = (row: UsageRow) => row.teamName ?? row.teamId ?? 'unknown team';

export function UsageView({ scope }: { scope: Scope }) {
  const [filters, setFilters] = useState<UsageFilters>(initialFilters);
  const [autoRefresh, setAutoRefresh] = useState(true);
  const interval = autoRefresh ? REFRESH_MS : false;
  const isAdmin = scope === 'admin';
  const teamId = scope.startsWith('team:') ? scope.slice(5) : null;
  const queryClient = useQueryClient();

  const byModel = useUsageSummary(scope, filters, 'model', autoRefresh);
  const byKey = useUsageSummary(scope, filters, 'key', autoRefresh);
  const byUser = useUsageSummary(scope, filters, 'user', autoRefresh, isAdmin);
  const byTeam = useUsageSummary(scope, filters, 'team', autoRefresh, isAdmin);
  const teamKeyList = useQuery({
    queryKey: ['teams', teamId ?? '', 'keys'],
    queryFn: async () => (await api<{ apiKeys: ApiKey[] }>('GET', `/teams/${encodeURIComponent(teamId!)}/api-keys`)).apiKeys,
    enabled: !!teamId,
  });
  const timeseries = useUsageTimeseries(scope, filters, autoRefresh);
  const models = useModels();
  const me = useMe(isAdmin ? false : interval);
  const ownKeys = useApiKeys(isAdmin || teamId ? false : interval);
  const users = useAdminUsers(isAdmin);
  const userKeys = useUserApiKeys(isAdmin && filters.userId ? filters.userId : undefined);
  const refreshing = useIsFetching({ queryKey: ['usage', scope] }) > 0;

  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: ['usage', scope] });
    if (!isAdmin) {
      void queryClient.invalidateQueries({ queryKey: keys.me });
      void queryClient.invalidateQueries({ queryKey: keys.apiKeys });
    } else {
      void queryClient.invalidateQueries({ queryKey: adminKeys.users });
    }
  };

  const keyList = isAdmin ? (filters.userId ? userKeys.data : undefined) : teamId ? teamKeyList.data : ownKeys.data;
  const totals = byModel.data?.totals;
  const idle = totals && totals.requests + totals.errors === 0;
  const error = byModel.error ?? byKey.error ?? timeseries.error ?? byUser.error;

  return (
    <>
      <PageSection padding={{ default: 'noPadding' }} style={{ paddingInline: 'var(--pf-t--global--spacer--lg)' }}>
        <UsageToolbar
          scope={scope}
          filters={filters}
          onChange={setFilters}
          modelOptions={(models.data ?? []).map((m) => ({ value: m.id }))}
          keyOptions={keyList?.map((k) => ({ value: k.id, label: k.name }))}
          userOptions={isAdmin ? users.data?.map((u) => ({ value: u.id, label: u.username })) ?? [] : undefined}
          autoRefresh={autoRefresh}
          onAutoRefresh={setAutoRefresh}
          onRefresh={refresh}
          isRefreshing={refreshing}
          updatedAt={byModel.dataUpdatedAt}
        />
      </PageSection>
      <PageSection isFilled>
        <Stack hasGutter>
          {error && (
            <StackItem>
              <ErrorAlert error={error} title="Could not load usage" />
            </StackItem>
          )}
          {idle && (
            <StackItem>
              <Alert
                variant="info"
                isInline
                title="No usage in this range yet"
                actionLinks={!isAdmin && <LinkButton to="/playground" variant="link" isInline>Open the playground</LinkButton>}
              >
                {isAdmin
                  ? 'Nobody has made a request in this range with these filters.'
                  : 'Send a request with one of your API keys and it shows up here within seconds.'}
              </Alert>
            </StackItem>
          )}
          <StackItem>
            <UsageCards totals={totals} />
          </StackItem>
          <StackItem>
            <Grid hasGutter>
              <GridItem xl2={8}>
                <OverTimeChart data={timeseries.data} />
              </GridItem>
              <GridItem xl2={4}>
                <ByModelChart rows={byModel.data?.rows ?? []} />
              </GridItem>
            </Grid>
          </StackItem>
          {scope === 'me' && (
            <StackItem>
              <BudgetCard me={me.data} apiKeys={ownKeys.data} />
            </StackItem>
          )}
          {isAdmin && (
            <StackItem>
              <UsageTable title="By user" groupLabel="User" rows={byUser.data?.rows ?? []} name={userName} />
            </StackItem>
          )}
          {isAdmin && (byTeam.data?.rows.length ?? 0) > 0 && (
            <StackItem>
              <UsageTable title="By team" groupLabel="Team" rows={byTeam.data?.rows ?? []} name={teamName} />
            </StackItem>
          )}
          <StackItem>
            <UsageTable title="By API key" groupLabel="API key" rows={byKey.data?.rows ?? []} name={keyName} />
          </StackItem>
          <StackItem>
            <UsageTable title="By model" groupLabel="Model" rows={byModel.data?.rows ?? []} name={modelName} />
          </StackItem>
        </Stack>
      </PageSection>
    </>
  );
}
