/**
 * @module Query hooks for the signed-in person's own resources. Query keys live here so the
 * mutations that change a resource invalidate the same keys the pages read.
 */
import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import type { ApiKey, Model, Subscription, Team } from '../types';

export const keys = {
  models: ['models'] as const,
  subscriptions: ['subscriptions'] as const,
  apiKeys: ['api-keys'] as const,
  usage: ['usage'] as const,
  me: ['me'] as const,
};

export function useModels() {
  return useQuery({
    queryKey: keys.models,
    queryFn: async () => (await api<{ models: Model[] }>('GET', '/models')).models,
  });
}

export function useSubscriptions() {
  return useQuery({
    queryKey: keys.subscriptions,
    queryFn: async () => (await api<{ subscriptions: Subscription[] }>('GET', '/subscriptions')).subscriptions,
  });
}

export function useApiKeys(refetchInterval: number | false = false) {
  return useQuery({
    queryKey: keys.apiKeys,
    queryFn: async () => (await api<{ apiKeys: ApiKey[] }>('GET', '/api-keys')).apiKeys,
    refetchInterval,
  });
}

export const teamKeys = {
  teams: ['teams'] as const,
  team: (id: string) => ['teams', id] as const,
};

/** The teams the signed-in person is in (with their role), and whether they may create one. */
export function useTeams() {
  return useQuery({
    queryKey: teamKeys.teams,
    queryFn: () => api<{ teams: Team[]; canCreate: boolean }>('GET', '/teams'),
  });
}

/** A team's active and pending subscriptions (the models its keys may use). */
export function useTeamSubscriptions(teamId: string | null) {
  return useQuery({
    queryKey: [...teamKeys.team(teamId ?? ''), 'subscriptions'],
    queryFn: async () => (await api<{ subscriptions: Subscription[] }>('GET', `/teams/${encodeURIComponent(teamId!)}/subscriptions`)).subscriptions,
    enabled: !!teamId,
  });
}
