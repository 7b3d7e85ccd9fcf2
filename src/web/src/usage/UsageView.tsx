/**
 * @module The usage dashboard, for one person (scope 'me') or for everyone (scope 'admin'):
 * filters, headline cards, charts over time and by model, budgets and breakdown tables.
 */
import { useState } from 'react';
import { useIsFetching, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api';
import i18n from '../i18n';
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
import { useTranslation } from 'react-i18next';

const keyName = (row: UsageRow) => row.keyName ?? row.keyId ?? i18n.t('usage.unknownKey');
const modelName = (row: UsageRow) => row.modelId ?? i18n.t('usage.unknownModel');
const userName = (row: UsageRow) => row.username ?? row.userId ?? i18n.t('usage.unknownUser');
const teamName = (row: UsageRow) => row.teamName ?? row.teamId ?? i18n.t('usage.unknownTeam');

export function UsageView({ scope }: { scope: Scope }) {
  const { t } = useTranslation();
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
              <ErrorAlert error={error} title={t('usage.loadError')} />
            </StackItem>
          )}
          {idle && (
            <StackItem>
              <Alert
                variant="info"
                isInline
                title={t('usage.idle')}
                actionLinks={!isAdmin && <LinkButton to="/playground" variant="link" isInline>{t('usage.openPlayground')}</LinkButton>}
              >
                {isAdmin ? t('usage.idleAdmin') : t('usage.idleMine')}
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
              <UsageTable title={t('usage.byUser')} groupLabel={t('usage.user')} rows={byUser.data?.rows ?? []} name={userName} />
            </StackItem>
          )}
          {isAdmin && (byTeam.data?.rows.length ?? 0) > 0 && (
            <StackItem>
              <UsageTable title={t('usage.byTeam')} groupLabel={t('usage.team')} rows={byTeam.data?.rows ?? []} name={teamName} />
            </StackItem>
          )}
          <StackItem>
            <UsageTable title={t('usage.byKey')} groupLabel={t('usage.apiKey')} rows={byKey.data?.rows ?? []} name={keyName} />
          </StackItem>
          <StackItem>
            <UsageTable title={t('usage.byModel.title')} groupLabel={t('usage.model')} rows={byModel.data?.rows ?? []} name={modelName} />
          </StackItem>
        </Stack>
      </PageSection>
    </>
  );
}
