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
import { useTranslation } from 'react-i18next';

export function AdminUsersPage() {
  const { t } = useTranslation();
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
  const shown = (users.data ?? []).filter((u) => !needle || [u.username, u.displayName ?? '', u.email ?? ''].some((text) => text.toLowerCase().includes(needle)));

  return (
    <>
      <PageHeader
        title={t('adminUsers.title')}
        description={t('adminUsers.description')}
        actions={canChange && <Button onClick={() => setEditing('new')}>{t('adminUsers.create')}</Button>}
      />
      <PageSection isFilled>
        <Toolbar>
          <ToolbarContent>
            <ToolbarItem>
              <SearchInput aria-label={t('adminUsers.search')} placeholder={t('adminUsers.searchPlaceholder')} value={search} onChange={(_e, v) => setSearch(v)} onClear={() => setSearch('')} />
            </ToolbarItem>
          </ToolbarContent>
        </Toolbar>
        {users.isPending && <Loading label={t('adminUsers.loading')} />}
        {users.isError && <ErrorAlert error={users.error} title={t('adminUsers.loadError')} />}
        {users.isSuccess && shown.length === 0 && (
          <Empty title={users.data.length === 0 ? t('adminUsers.none') : t('adminUsers.noMatch')} icon={UsersIcon}>
            {users.data.length === 0 ? t('adminUsers.noneBody') : t('adminUsers.noMatchBody')}
          </Empty>
        )}
        {shown.length > 0 && (
          <Table aria-label={t('adminUsers.title')} variant="compact">
            <Thead>
              <Tr>
                <Th screenReaderText={t('adminUsers.col.details')} />
                <Th modifier="wrap">{t('adminUsers.col.username')}</Th>
                <Th modifier="wrap">{t('adminUsers.col.roles')}</Th>
                <Th modifier="wrap">{t('adminUsers.col.budget')}</Th>
                <Th modifier="wrap">{t('adminUsers.col.limits')}</Th>
                <Th modifier="wrap">{t('adminUsers.col.status')}</Th>
                <Th modifier="wrap">{t('adminUsers.col.lastSignIn')}</Th>
                <Th screenReaderText={t('adminUsers.col.actions')} />
              </Tr>
            </Thead>
            {shown.map((user, rowIndex) => {
              const isExpanded = expanded.has(user.id);
              return (
                <Tbody key={user.id} isExpanded={isExpanded}>
                  <Tr>
                    <Td expand={{ rowIndex, isExpanded, onToggle: () => toggle(user.id), expandId: `user-${user.id}` }} />
                    <Td dataLabel={t('adminUsers.col.username')}>
                      <strong>{user.username}</strong>
                      {(user.displayName || user.email) && <div className="lm-muted">{[user.displayName, user.email].filter(Boolean).join(' · ')}</div>}
                    </Td>
                    <Td dataLabel={t('adminUsers.col.roles')}>
                      <LabelGroup>
                        {user.roles.map((role) => (
                          <Label key={role} isCompact color={role === 'admin' ? 'purple' : role === 'admin-readonly' ? 'blue' : 'grey'}>
                            {role}
                          </Label>
                        ))}
                      </LabelGroup>
                    </Td>
                    <Td dataLabel={t('adminUsers.col.budget')}>{user.maxBudget === null ? t('adminUsers.none2') : `${money(user.maxBudget)} ${periodLabel(user.budgetPeriod)}`}</Td>
                    <Td dataLabel={t('adminUsers.col.limits')}>
                      {user.rpm === null && user.tpm === null ? t('adminUsers.none2') : `${formatLimit(user.rpm, 'RPM')} · ${formatLimit(user.tpm, 'TPM')}`}
                    </Td>
                    <Td dataLabel={t('adminUsers.col.status')}>
                      {user.disabled ? <Label color="red" isCompact>{t('adminUsers.disabled')}</Label> : <Label color="green" isCompact>{t('adminUsers.active')}</Label>}
                    </Td>
                    <Td dataLabel={t('adminUsers.col.lastSignIn')}>{user.lastLoginAt ? formatDateTime(user.lastLoginAt) : t('adminUsers.never')}</Td>
                    <Td dataLabel={t('adminUsers.col.actions')} isActionCell>
                      {canChange && (
                        <Button variant="link" size="sm" onClick={() => setEditing(user)}>
                          {t('adminUsers.edit')}
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
