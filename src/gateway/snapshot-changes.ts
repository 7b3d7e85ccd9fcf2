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
import { fromPico } from '../shared/money.js';
import {
  keyEntry, modelEntry, pushTo, rowQueries, subEntry, userEntry,
  type DepRow, type KeyRow, type ModelRow, type Snapshot, type SnapshotRows, type SubRow, type UserRow,
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
      snap.users.delete(id); snap.src.users.delete(id);
      for (const h of mine ?? []) snap.keys.delete(h);
      snap.keysByUser.delete(id);
      for (const s of snap.src.subs.get(id) ?? []) snap.subscriptions.delete(`${id}|${s.model_id}`);
      snap.src.subs.delete(id);
      continue;
    }
    const user = userEntry(row);
    snap.users.set(id, user); snap.src.users.set(id, row);
    // The keys point at their owner: a user's new limits reach every key of theirs.
    for (const h of mine ?? []) {
      const k = snap.keys.get(h);
      if (k) snap.keys.set(h, { ...k, user });
    }
  }

  for (const h of hashes) {
    const k = snap.keys.get(h);
    if (!k) continue;
    snap.keys.delete(h);
    const mine = snap.keysByUser.get(k.user.id);
    mine?.delete(h);
    if (mine?.size === 0) snap.keysByUser.delete(k.user.id);
  }
  for (const row of keys) {
    const user = snap.users.get(row.user_id);
    if (!user) continue; // its user is gone: so is the key
    const old = snap.keys.get(row.hash);
    if (old && old.user.id !== user.id) snap.keysByUser.get(old.user.id)?.delete(row.hash);
    snap.keys.set(row.hash, keyEntry(row, user));
    let mine = snap.keysByUser.get(user.id);
    if (!mine) snap.keysByUser.set(user.id, (mine = new Set()));
    mine.add(row.hash);
  }

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

const byStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The rows of `snap`, as loadSnapshotRows would read them from the same database (same columns,
 * same order, money as numeric(28,12) prints it), for the cache file: the keys are written back
 * from their entries, so that a million keys are not held twice.
 */
export function snapshotRows(snap: Snapshot): SnapshotRows {
  const keys: KeyRow[] = [];
  for (const [hash, e] of snap.keys) {
    keys.push({
      id: e.id, user_id: e.user.id, name: e.name, hash, models: [...e.models],
      max_budget: e.maxBudget === null ? null : fromPico(e.maxBudget), budget_period: e.budgetPeriod,
      rpm: e.rpm, tpm: e.tpm, max_parallel: e.maxParallel,
      expires_at: (e.expiresAt === null ? null : new Date(e.expiresAt).toISOString()) as unknown as KeyRow['expires_at'],
    });
  }
  keys.sort((a, b) => byStr(a.id, b.id));
  const users = [...snap.src.users.values()].sort((a, b) => byStr(a.id, b.id));
  const subs = [...snap.src.subs.values()].flat().sort((a, b) => byStr(a.user_id, b.user_id) || byStr(a.model_id, b.model_id));
  const models = [...snap.src.models.values()].sort((a, b) => byStr(a.id, b.id));
  const deps = [...snap.src.deps.values()].flat().sort((a, b) => byStr(a.id, b.id));
  return { users, keys, subs, models, deps };
}
