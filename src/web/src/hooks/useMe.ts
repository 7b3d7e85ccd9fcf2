/** @module The signed-in person and what their roles let them see and do. */
import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import type { Me } from '../types';

export function useMe(refetchInterval: number | false = false) {
  return useQuery({
    queryKey: ['me'],
    queryFn: () => api<Me>('GET', '/auth/me'),
    retry: false,
    staleTime: 30_000,
    refetchInterval,
  });
}

/** Admin pages are visible to both admin roles... */
export function canSeeAdmin(me: Me | undefined): boolean {
  return !!me && (me.roles.includes('admin') || me.roles.includes('admin-readonly'));
}

/** ...but only `admin` may change anything there. */
export function canAdminister(me: Me | undefined): boolean {
  return !!me && me.roles.includes('admin');
}
