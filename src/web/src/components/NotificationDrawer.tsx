/**
 * @module The masthead's bell: the unread count (polled every 30 s) and, when
 * clicked, PatternFly's notification drawer with the person's notifications,
 * newest first; clicking one marks it read, "Mark all read" marks the rest.
 */
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Button,
  EmptyState,
  EmptyStateBody,
  NotificationBadge,
  NotificationDrawer,
  NotificationDrawerBody,
  NotificationDrawerHeader,
  NotificationDrawerList,
  NotificationDrawerListItem,
  NotificationDrawerListItemBody,
  NotificationDrawerListItemHeader,
} from '@patternfly/react-core';
import { api } from '../api';
import { formatDateTime } from '../format';
import type { Notification, NotificationList } from '../types';
import { useTranslation } from 'react-i18next';

const KEY = ['notifications'] as const;

/** A crossing of 100 % or more is a danger, other budget alerts a warning, the rest information. */
function variant(n: Notification): 'danger' | 'warning' | 'info' | 'success' {
  if (n.type === 'budget.threshold') return typeof n.data.threshold === 'number' && n.data.threshold >= 100 ? 'danger' : 'warning';
  if (n.type === 'key.expiring') return 'warning';
  return n.data.status === 'approved' ? 'success' : 'info';
}

export function NotificationBell() {
  const { t } = useTranslation();
  const [isOpen, setOpen] = useState(false);
  const queryClient = useQueryClient();
  const list = useQuery({
    queryKey: KEY,
    queryFn: () => api<NotificationList>('GET', '/notifications'),
    refetchInterval: 30_000,
  });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: KEY });
  const markRead = useMutation({ mutationFn: (id: string) => api('POST', `/notifications/${encodeURIComponent(id)}/read`), onSuccess: refresh });
  const markAll = useMutation({ mutationFn: () => api('POST', '/notifications/read-all'), onSuccess: refresh });
  const unread = list.data?.unread ?? 0;
  const items = list.data?.notifications ?? [];

  return (
    <>
      <NotificationBadge
        variant={unread > 0 ? 'unread' : 'read'}
        count={unread}
        onClick={() => setOpen((o) => !o)}
        aria-label={unread > 0 ? t('notifications.unreadLabel', { count: unread }) : t('notifications.label')}
        aria-expanded={isOpen}
      />
      {isOpen && (
        <div className="lm-notification-panel">
          <NotificationDrawer>
            <NotificationDrawerHeader count={unread} onClose={() => setOpen(false)}>
              <Button variant="link" isInline isDisabled={unread === 0 || markAll.isPending} onClick={() => markAll.mutate()}>
                {t('notifications.markAll')}
              </Button>
            </NotificationDrawerHeader>
            <NotificationDrawerBody>
              {items.length === 0 ? (
                <EmptyState titleText={t('notifications.empty')} headingLevel="h3">
                  <EmptyStateBody>{t('notifications.emptyBody')}</EmptyStateBody>
                </EmptyState>
              ) : (
                <NotificationDrawerList aria-label={t('notifications.label')}>
                  {items.map((n) => (
                    <NotificationDrawerListItem key={n.id} variant={variant(n)} isRead={n.readAt !== null} onClick={() => n.readAt === null && markRead.mutate(n.id)}>
                      <NotificationDrawerListItemHeader variant={variant(n)} title={n.title} srTitle={n.readAt === null ? t('notifications.unread') : undefined} />
                      <NotificationDrawerListItemBody timestamp={formatDateTime(n.createdAt)}>{n.body}</NotificationDrawerListItemBody>
                    </NotificationDrawerListItem>
                  ))}
                </NotificationDrawerList>
              )}
            </NotificationDrawerBody>
          </NotificationDrawer>
        </div>
      )}
    </>
  );
}
