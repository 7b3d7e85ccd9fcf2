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

const KEY = ['notifications'] as const;

/** A crossing of 100 % or more is a danger, other budget alerts a warning, the rest information. */
function variant(n: Notification): 'danger' | 'warning' | 'info' | 'success' {
  if (n.type === 'budget.threshold') return typeof n.data.threshold === 'number' && n.data.threshold >= 100 ? 'danger' : 'warning';
  if (n.type === 'key.expiring') return 'warning';
  return n.data.status === 'approved' ? 'success' : 'info';
}

export function NotificationBell() {
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
        aria-label={unread > 0 ? `Notifications, ${unread} unread` : 'Notifications'}
        aria-expanded={isOpen}
      />
      {isOpen && (
        <div className="lm-notification-panel">
          <NotificationDrawer>
            <NotificationDrawerHeader count={unread} onClose={() => setOpen(false)}>
              <Button variant="link" isInline isDisabled={unread === 0 || markAll.isPending} onClick={() => markAll.mutate()}>
                Mark all read
              </Button>
            </NotificationDrawerHeader>
            <NotificationDrawerBody>
              {items.length === 0 ? (
                <EmptyState titleText="No notifications" headingLevel="h3">
                  <EmptyStateBody>Budget alerts, keys about to expire and subscription decisions appear here.</EmptyStateBody>
                </EmptyState>
              ) : (
                <NotificationDrawerList aria-label="Notifications">
                  {items.map((n) => (
                    <NotificationDrawerListItem key={n.id} variant={variant(n)} isRead={n.readAt !== null} onClick={() => n.readAt === null && markRead.mutate(n.id)}>
                      <NotificationDrawerListItemHeader variant={variant(n)} title={n.title} srTitle={n.readAt === null ? 'Unread:' : undefined} />
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
