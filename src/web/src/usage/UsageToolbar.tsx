/**
 * @module Usage filters and actions: date presets or a custom range, model / key / user filters,
 * refresh, auto-refresh, export of the report and download of the requests themselves (one CSV line each).
 */
import { useState } from 'react';
import {
  Button,
  Content,
  FormSelect,
  FormSelectOption,
  Switch,
  TextInput,
  ToggleGroup,
  ToggleGroupItem,
  Toolbar,
  ToolbarContent,
  ToolbarGroup,
  ToolbarItem,
} from '@patternfly/react-core';
import SyncIcon from '@patternfly/react-icons/dist/esm/icons/sync-icon';
import DownloadIcon from '@patternfly/react-icons/dist/esm/icons/download-icon';
import { apiUrl } from '../api';
import { MultiSelect, type MultiSelectOption } from '../components/MultiSelect';
import { currentLocale } from '../i18n';
import type { UsageGroupBy } from '../types';
import { usagePath, type Preset, type Scope, type UsageFilters } from './filters';
import { useTranslation } from 'react-i18next';

/** Each preset's label is `usage.toolbar.preset.<value>`. */
const presets: Preset[] = ['7', '30', '90', 'custom'];

export function UsageToolbar({
  scope,
  filters,
  onChange,
  modelOptions,
  keyOptions,
  userOptions,
  autoRefresh,
  onAutoRefresh,
  onRefresh,
  isRefreshing,
  updatedAt,
}: {
  scope: Scope;
  filters: UsageFilters;
  onChange: (filters: UsageFilters) => void;
  modelOptions: MultiSelectOption[];
  /** Undefined hides the key filter (admin view with no user chosen). */
  keyOptions?: MultiSelectOption[];
  userOptions?: MultiSelectOption[];
  autoRefresh: boolean;
  onAutoRefresh: (on: boolean) => void;
  onRefresh: () => void;
  isRefreshing: boolean;
  updatedAt: number;
}) {
  const { t } = useTranslation();
  const [exportGroup, setExportGroup] = useState<UsageGroupBy>('day');
  const set = (patch: Partial<UsageFilters>) => onChange({ ...filters, ...patch });
  const exportHref = (format: 'csv' | 'json') => apiUrl(usagePath(scope, 'export', filters, { format, groupBy: exportGroup }));
  // Every request of the same range and filters, newest first (the server sends at most 10 000 by default).
  const requestsHref = apiUrl(usagePath(scope, 'requests', filters, { format: 'csv' }));

  return (
    <Toolbar className="lm-usage-toolbar">
      <ToolbarContent>
        <ToolbarGroup>
          <ToolbarItem>
            <ToggleGroup aria-label={t('usage.toolbar.dateRange')}>
              {presets.map((preset) => (
                <ToggleGroupItem
                  key={preset}
                  text={t(`usage.toolbar.preset.${preset}`)}
                  isSelected={filters.preset === preset}
                  onChange={() => set({ preset })}
                />
              ))}
            </ToggleGroup>
          </ToolbarItem>
          {filters.preset === 'custom' && (
            <>
              <ToolbarItem>
                <TextInput type="date" aria-label={t('usage.toolbar.from')} value={filters.customFrom} max={filters.customTo} onChange={(_e, v) => set({ customFrom: v })} />
              </ToolbarItem>
              <ToolbarItem>
                <TextInput type="date" aria-label={t('usage.toolbar.to')} value={filters.customTo} min={filters.customFrom} onChange={(_e, v) => set({ customTo: v })} />
              </ToolbarItem>
            </>
          )}
        </ToolbarGroup>
        <ToolbarGroup>
          {userOptions && (
            <ToolbarItem style={{ minWidth: 160 }}>
              <FormSelect aria-label={t('usage.toolbar.user')} value={filters.userId} onChange={(_e, v) => set({ userId: v, keys: [] })}>
                <FormSelectOption value="" label={t('usage.toolbar.allUsers')} />
                {userOptions.map((user) => (
                  <FormSelectOption key={user.value} value={user.value} label={user.label ?? user.value} />
                ))}
              </FormSelect>
            </ToolbarItem>
          )}
          <ToolbarItem style={{ minWidth: 180 }}>
            <MultiSelect id={`${scope}-usage-models`} aria-label={t('usage.toolbar.filterModel')} placeholder={t('usage.toolbar.allModels')} options={modelOptions} selected={filters.models} onChange={(models) => set({ models })} />
          </ToolbarItem>
          {keyOptions && (
            <ToolbarItem style={{ minWidth: 180 }}>
              <MultiSelect id={`${scope}-usage-keys`} aria-label={t('usage.toolbar.filterKey')} placeholder={t('usage.toolbar.allKeys')} options={keyOptions} selected={filters.keys} onChange={(keys) => set({ keys })} />
            </ToolbarItem>
          )}
        </ToolbarGroup>
        <ToolbarGroup>
          <ToolbarItem>
            <Button variant="secondary" icon={<SyncIcon />} onClick={onRefresh} isLoading={isRefreshing}>
              {t('usage.toolbar.refresh')}
            </Button>
          </ToolbarItem>
          <ToolbarItem alignSelf="center">
            <Switch id={`${scope}-auto-refresh`} label={t('usage.toolbar.autoRefresh')} isChecked={autoRefresh} onChange={(_e, on) => onAutoRefresh(on)} />
          </ToolbarItem>
          {updatedAt > 0 && (
            <ToolbarItem alignSelf="center">
              <Content component="small" className="lm-muted" aria-live="polite">
                {t('usage.toolbar.updated', { time: new Date(updatedAt).toLocaleTimeString(currentLocale()) })}
              </Content>
            </ToolbarItem>
          )}
        </ToolbarGroup>
        <ToolbarGroup align={{ default: 'alignEnd' }}>
          <ToolbarItem>
            <FormSelect aria-label={t('usage.toolbar.exportBy')} value={exportGroup} onChange={(_e, v) => setExportGroup(v as UsageGroupBy)}>
              <FormSelectOption value="day" label={t('usage.toolbar.exportDay')} />
              <FormSelectOption value="model" label={t('usage.toolbar.exportModel')} />
              <FormSelectOption value="key" label={t('usage.toolbar.exportKey')} />
              {scope === 'admin' && <FormSelectOption value="user" label={t('usage.toolbar.exportUser')} />}
            </FormSelect>
          </ToolbarItem>
          <ToolbarItem>
            <Button variant="link" component="a" href={exportHref('csv')} download icon={<DownloadIcon />}>
              {t('usage.toolbar.exportCsv')}
            </Button>
          </ToolbarItem>
          <ToolbarItem>
            <Button variant="link" component="a" href={exportHref('json')} download icon={<DownloadIcon />}>
              {t('usage.toolbar.exportJson')}
            </Button>
          </ToolbarItem>
          <ToolbarItem>
            <Button variant="link" component="a" href={requestsHref} download icon={<DownloadIcon />}>
              {t('usage.toolbar.downloadRequests')}
            </Button>
          </ToolbarItem>
        </ToolbarGroup>
      </ToolbarContent>
    </Toolbar>
  );
}
