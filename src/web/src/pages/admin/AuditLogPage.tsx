/** @module Who changed what, newest first, filterable by action and actor, paged with "Load more". */
import { useState, type FormEvent } from 'react';
import { useInfiniteQuery } from '@tanstack/react-query';
import {
  Button,
  CodeBlock,
  CodeBlockCode,
  ExpandableSection,
  PageSection,
  TextInput,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import HistoryIcon from '@patternfly/react-icons/dist/esm/icons/history-icon';
import { api, query } from '../../api';
import { PageHeader } from '../../components/PageHeader';
import { Empty, ErrorAlert, Loading } from '../../components/States';
import { formatDateTime } from '../../format';
import type { AuditEntry } from '../../types';
import { useTranslation } from 'react-i18next';

const PAGE = 100;

interface AuditPage {
  entries: AuditEntry[];
  next?: string | number | null;
}

function Details({ details }: { details: unknown }) {
  const { t } = useTranslation();
  const [isOpen, setOpen] = useState(false);
  if (details === null || details === undefined || (typeof details === 'object' && Object.keys(details).length === 0)) return <>—</>;
  return (
    <ExpandableSection toggleText={isOpen ? t('audit.hideDetails') : t('audit.showDetails')} isExpanded={isOpen} onToggle={(_e, open) => setOpen(open)}>
      <CodeBlock className="lm-code-block">
        <CodeBlockCode>{JSON.stringify(details, null, 2)}</CodeBlockCode>
      </CodeBlock>
    </ExpandableSection>
  );
}

export function AuditLogPage() {
  const { t } = useTranslation();
  const [action, setAction] = useState('');
  const [actor, setActor] = useState('');
  const [applied, setApplied] = useState({ action: '', actor: '' });
  const entries = useInfiniteQuery({
    queryKey: ['admin', 'audit', applied],
    initialPageParam: undefined as string | number | undefined,
    queryFn: ({ pageParam }) => api<AuditPage>('GET', `/admin/audit${query({ limit: PAGE, before: pageParam, ...applied })}`),
    // The server may say where the next page starts; otherwise a full page means there may be more.
    getNextPageParam: (last) =>
      last.next !== undefined ? last.next ?? undefined : last.entries.length < PAGE ? undefined : last.entries[last.entries.length - 1]?.id,
  });
  const rows = entries.data?.pages.flatMap((page) => page.entries) ?? [];

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setApplied({ action: action.trim(), actor: actor.trim() });
  };

  return (
    <>
      <PageHeader title={t('audit.title')} description={t('audit.description')} />
      <PageSection isFilled>
        <form onSubmit={apply}>
          <Toolbar>
            <ToolbarContent>
              <ToolbarItem>
                <TextInput aria-label={t('audit.action')} placeholder={t('audit.actionPlaceholder')} value={action} onChange={(_e, v) => setAction(v)} />
              </ToolbarItem>
              <ToolbarItem>
                <TextInput aria-label={t('audit.actor')} placeholder={t('audit.actorPlaceholder')} value={actor} onChange={(_e, v) => setActor(v)} />
              </ToolbarItem>
              <ToolbarItem>
                <Button type="submit" variant="secondary">
                  {t('audit.filter')}
                </Button>
              </ToolbarItem>
            </ToolbarContent>
          </Toolbar>
        </form>
        {entries.isPending && <Loading label={t('audit.loading')} />}
        {entries.isError && <ErrorAlert error={entries.error} title={t('audit.loadError')} />}
        {entries.isSuccess && rows.length === 0 && (
          <Empty title={t('audit.empty')} icon={HistoryIcon}>
            {applied.action || applied.actor ? t('audit.emptyFiltered') : t('audit.emptyBody')}
          </Empty>
        )}
        {rows.length > 0 && (
          <>
            <Table aria-label={t('audit.title')} variant="compact">
              <Thead>
                <Tr>
                  <Th modifier="wrap">{t('audit.col.time')}</Th>
                  <Th modifier="wrap">{t('audit.col.actor')}</Th>
                  <Th modifier="wrap">{t('audit.col.action')}</Th>
                  <Th modifier="wrap">{t('audit.col.target')}</Th>
                  <Th modifier="wrap">{t('audit.col.details')}</Th>
                </Tr>
              </Thead>
              <Tbody>
                {rows.map((entry) => (
                  <Tr key={entry.id}>
                    <Td dataLabel={t('audit.col.time')}>{formatDateTime(entry.at)}</Td>
                    <Td dataLabel={t('audit.col.actor')}>{entry.actor}</Td>
                    <Td dataLabel={t('audit.col.action')}>
                      <span className="lm-mono">{entry.action}</span>
                    </Td>
                    <Td dataLabel={t('audit.col.target')}>{entry.target || '—'}</Td>
                    <Td dataLabel={t('audit.col.details')}>
                      <Details details={entry.details} />
                    </Td>
                  </Tr>
                ))}
              </Tbody>
            </Table>
            {entries.hasNextPage && (
              <Button variant="secondary" style={{ marginTop: 16 }} onClick={() => void entries.fetchNextPage()} isLoading={entries.isFetchingNextPage}>
                {t('audit.loadMore')}
              </Button>
            )}
          </>
        )}
      </PageSection>
    </>
  );
}
