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

const PAGE = 100;

interface AuditPage {
  entries: AuditEntry[];
  next?: string | number | null;
}

function Details({ details }: { details: unknown }) {
  const [isOpen, setOpen] = useState(false);
  if (details === null || details === undefined || (typeof details === 'object' && Object.keys(details).length === 0)) return <>—</>;
  return (
    <ExpandableSection toggleText={isOpen ? 'Hide details' : 'Show details'} isExpanded={isOpen} onToggle={(_e, open) => setOpen(open)}>
      <CodeBlock className="lm-code-block">
        <CodeBlockCode>{JSON.stringify(details, null, 2)}</CodeBlockCode>
      </CodeBlock>
    </ExpandableSection>
  );
}

export function AuditLogPage() {
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
      <PageHeader title="Audit log" description="Every change made through the portal and the admin API, newest first." />
      <PageSection isFilled>
        <form onSubmit={apply}>
          <Toolbar>
            <ToolbarContent>
              <ToolbarItem>
                <TextInput aria-label="Action" placeholder="Action, e.g. api_key.reveal" value={action} onChange={(_e, v) => setAction(v)} />
              </ToolbarItem>
              <ToolbarItem>
                <TextInput aria-label="Actor" placeholder="Actor (username)" value={actor} onChange={(_e, v) => setActor(v)} />
              </ToolbarItem>
              <ToolbarItem>
                <Button type="submit" variant="secondary">
                  Filter
                </Button>
              </ToolbarItem>
            </ToolbarContent>
          </Toolbar>
        </form>
        {entries.isPending && <Loading label="Loading the audit log" />}
        {entries.isError && <ErrorAlert error={entries.error} title="Could not load the audit log" />}
        {entries.isSuccess && rows.length === 0 && (
          <Empty title="No entries" icon={HistoryIcon}>
            {applied.action || applied.actor ? 'Nothing matches these filters.' : 'Changes will be recorded here.'}
          </Empty>
        )}
        {rows.length > 0 && (
          <>
            <Table aria-label="Audit log" variant="compact">
              <Thead>
                <Tr>
                  <Th modifier="wrap">Time</Th>
                  <Th modifier="wrap">Actor</Th>
                  <Th modifier="wrap">Action</Th>
                  <Th modifier="wrap">Target</Th>
                  <Th modifier="wrap">Details</Th>
                </Tr>
              </Thead>
              <Tbody>
                {rows.map((entry) => (
                  <Tr key={entry.id}>
                    <Td dataLabel="Time">{formatDateTime(entry.at)}</Td>
                    <Td dataLabel="Actor">{entry.actor}</Td>
                    <Td dataLabel="Action">
                      <span className="lm-mono">{entry.action}</span>
                    </Td>
                    <Td dataLabel="Target">{entry.target || '—'}</Td>
                    <Td dataLabel="Details">
                      <Details details={entry.details} />
                    </Td>
                  </Tr>
                ))}
              </Tbody>
            </Table>
            {entries.hasNextPage && (
              <Button variant="secondary" style={{ marginTop: 16 }} onClick={() => void entries.fetchNextPage()} isLoading={entries.isFetchingNextPage}>
                Load more
              </Button>
            )}
          </>
        )}
      </PageSection>
    </>
  );
}
