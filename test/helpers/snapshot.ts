/** A snapshot's content in a fixed order, for comparing two of them (maps sorted by key, bigints as strings). */
import type { Snapshot } from '../../src/gateway/snapshot.js';

export function canonical(s: Snapshot): unknown {
  const sorted = <T>(m: Map<string, T>, f: (v: T) => unknown) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, f(v)]);
  return {
    users: sorted(s.users, (u) => ({ ...u, maxBudget: String(u.maxBudget) })),
    keys: sorted(s.keys, (k) => ({ ...k, user: k.user.id, models: [...k.models], maxBudget: String(k.maxBudget) })),
    keysByUser: sorted(s.keysByUser, (l) => [...l].sort()),
    subscriptions: sorted(s.subscriptions, (x) => x),
    models: sorted(s.models, (m) => JSON.stringify(m, (_, v) => (typeof v === 'bigint' ? String(v) : v))),
  };
}
