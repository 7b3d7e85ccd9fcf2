/** @module Query hooks for the admin API; keys start with 'admin' so admin mutations can invalidate them together. */
import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import type { AdminModel, ApiKey, Settings, Subscription, User } from '../types';

export const adminKeys = {
  all: ['admin'] as const,
  models: ['admin', 'models'] as const,
  users: ['admin', 'users'] as const,
  userKeys: (id: string) => ['admin', 'users', id, 'api-keys'] as const,
  userSubscriptions: (id: string) => ['admin', 'users', id, 'subscriptions'] as const,
  subscriptions: (status: string) => ['admin', 'subscriptions', status] as const,
  settings: ['admin', 'settings'] as const,
};

export function useAdminModels() {
  return useQuery({
    queryKey: adminKeys.models,
    queryFn: async () => (await api<{ models: AdminModel[] }>('GET', '/admin/models')).models,
  });
}

export function useAdminUsers(enabled = true) {
  return useQuery({
    queryKey: adminKeys.users,
    queryFn: async () => (await api<{ users: User[] }>('GET', '/admin/users')).users,
    enabled,
  });
}

export function useUserApiKeys(userId: string | undefined) {
  return useQuery({
    queryKey: adminKeys.userKeys(userId ?? ''),
    queryFn: async () => (await api<{ apiKeys: ApiKey[] }>('GET', `/admin/users/${encodeURIComponent(userId ?? '')}/api-keys`)).apiKeys,
    enabled: !!userId,
  });
}

export function useUserSubscriptions(userId: string) {
  return useQuery({
    queryKey: adminKeys.userSubscriptions(userId),
    queryFn: async () =>
      (await api<{ subscriptions: Subscription[] }>('GET', `/admin/users/${encodeURIComponent(userId)}/subscriptions`)).subscriptions,
  });
}

export function useAdminSettings() {
  return useQuery({
    queryKey: adminKeys.settings,
    queryFn: () => api<Settings>('GET', '/admin/settings'),
  });
}
