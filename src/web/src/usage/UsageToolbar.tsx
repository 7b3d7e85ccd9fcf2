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
import type { UsageGroupBy } from '../types';
import { usagePath, type Preset, type Scope, type UsageFilters } from './filters';

const presets: { value: Preset; label: string }[] = [
  { value: '7', label: 'Last 7 days' },
  { value: '30', label: 'Last 30 days' },
  { value: '90', label: 'Last 90 days' },
  { value: 'custom', label: 'Custom' },
];

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
            <ToggleGroup aria-label="Date range">
              {presets.map((preset) => (
                <ToggleGroupItem
                  key={preset.value}
                  text={preset.label}
                  isSelected={filters.preset === preset.value}
                  onChange={() => set({ preset: preset.value })}
                />
              ))}
            </ToggleGroup>
          </ToolbarItem>
          {filters.preset === 'custom' && (
            <>
              <ToolbarItem>
                <TextInput type="date" aria-label="From" value={filters.customFrom} max={filters.customTo} onChange={(_e, v) => set({ customFrom: v })} />
              </ToolbarItem>
              <ToolbarItem>
                <TextInput type="date" aria-label="To" value={filters.customTo} min={filters.customFrom} onChange={(_e, v) => set({ customTo: v })} />
              </ToolbarItem>
            </>
          )}
        </ToolbarGroup>
        <ToolbarGroup>
          {userOptions && (
            <ToolbarItem style={{ minWidth: 160 }}>
              <FormSelect aria-label="User" value={filters.userId} onChange={(_e, v) => set({ userId: v, keys: [] })}>
                <FormSelectOption value="" label="All users" />
                {userOptions.map((user) => (
                  <FormSelectOption key={user.value} value={user.value} label={user.label ?? user.value} />
                ))}
              </FormSelect>
            </ToolbarItem>
          )}
          <ToolbarItem style={{ minWidth: 180 }}>
            <MultiSelect id={`${scope}-usage-models`} aria-label="Filter by model" placeholder="All models" options={modelOptions} selected={filters.models} onChange={(models) => set({ models })} />
          </ToolbarItem>
          {keyOptions && (
            <ToolbarItem style={{ minWidth: 180 }}>
              <MultiSelect id={`${scope}-usage-keys`} aria-label="Filter by API key" placeholder="All API keys" options={keyOptions} selected={filters.keys} onChange={(keys) => set({ keys })} />
            </ToolbarItem>
          )}
        </ToolbarGroup>
        <ToolbarGroup>
          <ToolbarItem>
            <Button variant="secondary" icon={<SyncIcon />} onClick={onRefresh} isLoading={isRefreshing}>
              Refresh
            </Button>
          </ToolbarItem>
          <ToolbarItem alignSelf="center">
            <Switch id={`${scope}-auto-refresh`} label="Auto-refresh (10 s)" isChecked={autoRefresh} onChange={(_e, on) => onAutoRefresh(on)} />
          </ToolbarItem>
          {updatedAt > 0 && (
            <ToolbarItem alignSelf="center">
              <Content component="small" className="lm-muted" aria-live="polite">
                Updated {new Date(updatedAt).toLocaleTimeString()}
              </Content>
            </ToolbarItem>
          )}
        </ToolbarGroup>
        <ToolbarGroup align={{ default: 'alignEnd' }}>
          <ToolbarItem>
            <FormSelect aria-label="Export rows by" value={exportGroup} onChange={(_e, v) => setExportGroup(v as UsageGroupBy)}>
              <FormSelectOption value="day" label="Export by day" />
              <FormSelectOption value="model" label="Export by model" />
              <FormSelectOption value="key" label="Export by key" />
              {scope === 'admin' && <FormSelectOption value="user" label="Export by user" />}
            </FormSelect>
          </ToolbarItem>
          <ToolbarItem>
            <Button variant="link" component="a" href={exportHref('csv')} download icon={<DownloadIcon />}>
              Export CSV
            </Button>
          </ToolbarItem>
          <ToolbarItem>
            <Button variant="link" component="a" href={exportHref('json')} download icon={<DownloadIcon />}>
              Export JSON
            </Button>
          </ToolbarItem>
          <ToolbarItem>
            <Button variant="link" component="a" href={requestsHref} download icon={<DownloadIcon />}>
              Download requests (CSV)
            </Button>
          </ToolbarItem>
        </ToolbarGroup>
      </ToolbarContent>
    </Toolbar>
  );
}
