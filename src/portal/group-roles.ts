/**
 * @module Groups → roles, the same for every sign-in provider (OIDC, OpenShift):
 * a member of an admin group is `admin`, of a read-only group `admin-readonly`,
 * and everyone is `user`. Applied at every sign-in, so a group change on the
 * provider's side changes the roles at the next one.
 */
import type { Role } from '../store/schema.js';

export interface GroupLists { adminGroups: string[]; readonlyGroups: string[] }

export function rolesForGroups(groups: string[], lists: GroupLists): Role[] {
  const roles: Role[] = [];
  if (groups.some((g) => lists.adminGroups.includes(g))) roles.push('admin');
  if (groups.some((g) => lists.readonlyGroups.includes(g))) roles.push('admin-readonly');
  roles.push('user');
  return roles;
}
