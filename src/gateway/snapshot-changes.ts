/**
 * @module Applying one change notification (migration 007's payload) to a
 * snapshot: reload just the keys, users, subscriptions or models it names and
 * put them in place, instead of reloading everything. The loads are async;
 * the maps are changed in one synchronous step, so a request sees the
 * snapshot before or after a batch of changes, never half of one. Entries
 * are replaced, never mutated: a request holding an old KeyEntry keeps a
 * consistent one.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Cipher } from '../shared/secrets.js';
import {
  dropHashes, modelEntry, pushTo, putKey, rowQueries, subEntry, userEntry, withUser,
  type DepRow, type KeyRow, type ModelRow, type Snapshot, type SubRow, type UserRow,
} from './snapshot.js';

const TABLES = ['users', 'api_keys', 'subscriptions', 'models', 'deployments'] as const;
type Table = (typeof TABLES)[number];

/** One notification: its version, its table and what it names (null: too many rows to name; a full reload is due). */
export interface Change { v: number; t: Table; r: Array<string | [string, string]> | null }

/** The notification's payload as a Change, or null when it is not one (an older trigger's table name, 'reconnect', garbage). */
export function parseChange(payload: string): Change | null {
  if (!payload.startsWith('{')) return null;
  let p: unknown;
  try { p = JSON.parse(payload); } catch { return null; }
  if (!p || typeof p !== 'object') return null;
  const { v, t, r } = p as Record<string, unknown>;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || !TABLES.includes(t as Table)) return null;
  if (r === null) return { v, t: t as Table, r: null };
  if (!Array.isArray(r)) return null;
  const ok = t === 'api_keys'
    ? r.every((x) => Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && typeof x[1] === 'string')
    : r.every((x) => typeof x === 'string');
  return ok ? { v, t: t as Table, r: r as Change['r'] } : null;
}

/** True when every change names its rows: they can be applied piecemeal. */
export const applicable = (changes: readonly Change[]): boolean => changes.every((c) => c.r !== null);

/** Loads what `changes` name and applies it to `snap` in place (one synchronous step at the end). */
export async function applyChanges(db: Kysely<Database>, snap: Snapshot, changes: readonly Change[], cipher: Cipher): Promise<void> {
  const userIds = new Set<string>(), subUsers = new Set<string>(), modelIds = new Set<string>();
  const keyIds = new Set<string>(), hashes = new Set<string>();
  for (const c of changes) {
    for (const x of c.r ?? []) {
      if (c.t === 'api_keys') { const [id, hash] = x as [string, string]; keyIds.add(id); hashes.add(hash); }
      else if (c.t === 'users') userIds.add(x as string);
      else if (c.t === 'subscriptions') subUsers.add(x as string);
      else modelIds.add(x as string);
    }
  }
  const none = Promise.resolve([]);
  const [users, keys, subs, models, deps] = await Promise.all([
    userIds.size ? rowQueries.users(db).where('id', 'in', [...userIds]).execute() : none as Promise<UserRow[]>,
    keyIds.size ? rowQueries.keys(db).where('id', 'in', [...keyIds]).execute() : none as Promise<KeyRow[]>,
    subUsers.size ? rowQueries.subs(db).where('user_id', 'in', [...subUsers]).execute() : none as Promise<SubRow[]>,
    modelIds.size ? rowQueries.models(db).where('id', 'in', [...modelIds]).execute() : none as Promise<ModelRow[]>,
    modelIds.size ? rowQueries.deps(db).where('model_id', 'in', [...modelIds]).execute() : none as Promise<DepRow[]>,
  ]);
  // A key of a user this snapshot does not know yet (created in the same breath): load the user too.
  const known = new Set(users.map((u) => u.id));
  const missing = [...new Set(keys.map((k) => k.user_id))].filter((id) => !known.has(id) && !snap.users.has(id));
  if (missing.length) {
    for (const u of await rowQueries.users(db).where('id', 'in', missing).execute()) { users.push(u); userIds.add(u.id); }
  }

  // From here on, synchronous.
  const found = new Map(users.map((u) => [u.id, u]));
  for (const id of userIds) {
    const row = found.get(id);
    const mine = snap.keysByUser.get(id);
    if (!row) {
      snap.users.delete(id);
      for (const h of mine ?? []) snap.keys.delete(h);
      snap.keysByUser.delete(id);
      for (const s of snap.src.subs.get(id) ?? []) snap.subscriptions.delete(`${id}|${s.model_id}`);
      snap.src.subs.delete(id);
      continue;
    }
    const old = snap.users.get(id);
    const user = userEntry(row, old);
    if (user === old) continue;
    snap.users.set(id, user);
    // The keys point at their owner: a user's new limits reach every key of theirs.
    for (const h of mine ?? []) {
      const k = snap.keys.get(h);
      if (k) snap.keys.set(h, withUser(k, user));
    }
  }

  // A key may be held under a second hash (the secret a rotation replaced, during its grace) that the
  // notification does not name: every hash of a named key goes, and its row puts back what is still valid.
  for (const h of [...hashes]) {
    const k = snap.keys.get(h);
    for (const other of (k && snap.keysByUser.get(k.user.id)) ?? []) {
      if (!hashes.has(other) && keyIds.has(snap.keys.get(other)?.id ?? '')) hashes.add(other);
    }
  }
  const gone = new Map<string, Set<string>>();
  for (const h of hashes) {
    const k = snap.keys.get(h);
    if (!k) continue;
    snap.keys.delete(h);
    let g = gone.get(k.user.id);
    if (!g) gone.set(k.user.id, (g = new Set()));
    g.add(h);
  }
  for (const [userId, g] of gone) dropHashes(snap, userId, g);
  for (const row of keys) putKey(snap, row); // a key of a user that is gone is skipped: so is the key

  for (const id of subUsers) {
    for (const s of snap.src.subs.get(id) ?? []) snap.subscriptions.delete(`${id}|${s.model_id}`);
    snap.src.subs.delete(id);
  }
  for (const s of subs) {
    pushTo(snap.src.subs, s.user_id, s);
    snap.subscriptions.set(`${s.user_id}|${s.model_id}`, subEntry(s));
  }

  for (const id of modelIds) { snap.models.delete(id); snap.src.models.delete(id); snap.src.deps.delete(id); }
  for (const d of deps) pushTo(snap.src.deps, d.model_id, d);
  for (const m of models) {
    snap.src.models.set(m.id, m);
    snap.models.set(m.id, modelEntry(m, snap.src.deps.get(m.id) ?? [], cipher));
  }
}
