/** @module Everyone who can sign in: roles, budgets, limits, status; expand a row for their keys and subscriptions. */
import { useState } from 'react';
import { Button, Label, LabelGroup, PageSection, SearchInput, Toolbar, ToolbarContent, ToolbarItem } from '@patternfly/react-core';
import { ExpandableRowContent, Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import UsersIcon from '@patternfly/react-icons/dist/esm/icons/users-icon';
import { PageHeader } from '../../components/PageHeader';
import { Empty, ErrorAlert, Loading } from '../../components/States';
import { formatDateTime, formatLimit, periodLabel } from '../../format';
import { useAdminUsers } from '../../hooks/adminQueries';
import { canAdminister, useMe } from '../../hooks/useMe';
import { useMoney } from '../../hooks/useMoney';
import type { User } from '../../types';
import { UserDetails } from './UserDetails';
import { UserFormModal } from './UserFormModal';

export function AdminUsersPage() {
  const users = useAdminUsers();
  const canChange = canAdminister(useMe().data);
  const money = useMoney();
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const [editing, setEditing] = useState<User | 'new' | null>(null);
  const [search, setSearch] = useState('');

  const toggle = (id: string) =>
    setExpanded((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const needle = search.trim().toLowerCase();
  const shown = (users.data ?? []).filter((u) => !needle || [u.username, u.displayName ?? '', u.email ?? ''].some((t) => t.toLowerCase().includes(needle)));

  return (
    <>
      <PageHeader
        title="Users"
        description="Roles, budgets and limits. Expand a user to see their keys and subscriptions."
        actions={canChange && <Button onClick={() => setEditing('new')}>Create user</Button>}
      />
      <PageSection isFilled>
        <Toolbar>
          <ToolbarContent>
            <ToolbarItem>
              <SearchInput aria-label="Search users" placeholder="Search by name or email" value={search} onChange={(_e, v) => setSearch(v)} onClear={() => setSearch('')} />
            </ToolbarItem>
          </ToolbarContent>
        </Toolbar>
        {users.isPending && <Loading label="Loading users" />}
        {users.isError && <ErrorAlert error={users.error} title="Could not load users" />}
        {users.isSuccess && shown.length === 0 && (
          <Empty title={users.data.length === 0 ? 'No users yet' : 'No users match'} icon={UsersIcon}>
            {users.data.length === 0 ? 'Users appear after their first sign-in, or create one.' : 'Try a different search.'}
          </Empty>
        )}
        {shown.length > 0 && (
          <Table aria-label="Users" variant="compact">
            <Thead>
              <Tr>
                <Th screenReaderText="Details" />
                <Th modifier="wrap">Username</Th>
                <Th modifier="wrap">Roles</Th>
                <Th modifier="wrap">Budget</Th>
                <Th modifier="wrap">Limits</Th>
                <Th modifier="wrap">Status</Th>
                <Th modifier="wrap">Last sign-in</Th>
                <Th screenReaderText="Actions" />
              </Tr>
            </Thead>
            {shown.map((user, rowIndex) => {
              const isExpanded = expanded.has(user.id);
              return (
                <Tbody key={user.id} isExpanded={isExpanded}>
                  <Tr>
                    <Td expand={{ rowIndex, isExpanded, onToggle: () => toggle(user.id), expandId: `user-${user.id}` }} />
                    <Td dataLabel="Username">
                      <strong>{user.username}</strong>
                      {(user.displayName || user.email) && <div className="lm-muted">{[user.displayName, user.email].filter(Boolean).join(' · ')}</div>}
                    </Td>
                    <Td dataLabel="Roles">
                      <LabelGroup>
                        {user.roles.map((role) => (
                          <Label key={role} isCompact color={role === 'admin' ? 'purple' : role === 'admin-readonly' ? 'blue' : 'grey'}>
                            {role}
                          </Label>
                        ))}
                      </LabelGroup>
                    </Td>
                    <Td dataLabel="Budget">{user.maxBudget === null ? 'None' : `${money(user.maxBudget)} ${periodLabel(user.budgetPeriod)}`}</Td>
                    <Td dataLabel="Limits">
                      {user.rpm === null && user.tpm === null ? 'None' : `${formatLimit(user.rpm, 'RPM')} · ${formatLimit(user.tpm, 'TPM')}`}
                    </Td>
                    <Td dataLabel="Status">
                      {user.disabled ? <Label color="red" isCompact>Disabled</Label> : <Label color="green" isCompact>Active</Label>}
                    </Td>
                    <Td dataLabel="Last sign-in">{user.lastLoginAt ? formatDateTime(user.lastLoginAt) : 'Never'}</Td>
                    <Td dataLabel="Actions" isActionCell>
                      {canChange && (
                        <Button variant="link" size="sm" onClick={() => setEditing(user)}>
                          Edit
                        </Button>
                      )}
                    </Td>
                  </Tr>
                  <Tr isExpanded={isExpanded}>
                    <Td colSpan={8}>
                      <ExpandableRowContent>{isExpanded && <UserDetails user={user} />}</ExpandableRowContent>
                    </Td>
                  </Tr>
                </Tbody>
              );
            })}
          </Table>
        )}
      </PageSection>
      {editing && <UserFormModal user={editing === 'new' ? undefined : editing} onClose={() => setEditing(null)} />}
    </>
  );
}
