/**
 * @module What the hot path knows, loaded from the store: active keys by
 * hash, their owners, subscriptions, models and deployments. It is loaded
 * whole at start (and when a change cannot be applied piecemeal); a change
 * notification updates just what it names (snapshot-changes.ts), so no
 * request waits on the database.
 */
import { sql, type Kysely } from 'kysely';
import type { BudgetPeriod, Database, ModelKind } from '../store/schema.js';
import type { Cipher } from '../shared/secrets.js';
import { pricePerTokenPico, toPico } from '../shared/money.js';

export interface UserEntry {
  id: string; username: string; disabled: boolean;
  maxBudget: bigint | null; budgetPeriod: BudgetPeriod; rpm: number | null; tpm: number | null;
}
export interface KeyEntry {
  id: string; name: string; user: UserEntry; models: ReadonlySet<string>;
  maxBudget: bigint | null; budgetPeriod: BudgetPeriod;
  rpm: number | null; tpm: number | null; maxParallel: number | null; expiresAt: number | null;
}
export interface DeploymentConfig {
  id: string; url: string; upstreamModel: string; token: string | null;
  weight: number; maxInFlight: number | null; timeoutMs: number;
}
export interface ModelEntry {
  id: string; kind: ModelKind; contextLength: number | null;
  /** Prices in pico-units: per prompt token, per cached prompt token, per completion token, per minute of audio, per request. */
  inPerToken: bigint; cachedPerToken: bigint; outPerToken: bigint; audioPerMinute: bigint; requestFee: bigint;
  created: number;
  deployments: DeploymentConfig[];
}
export interface SubscriptionEntry { status: string; quotaRequests: number | null; quotaTokens: number | null }

export interface Snapshot {
  keys: Map<string, KeyEntry>;
  models: Map<string, ModelEntry>;
  subscriptions: Map<string, SubscriptionEntry>; // `${userId}|${modelId}`
  loadedAt: number;
  /** The database's change counter (migration 007) this snapshot reflects; null when unknown (read from the cache file, or an older schema). */
  version: number | null;
  /** Every user, with or without keys; a key's `user` is the entry here. */
  users: Map<string, UserEntry>;
  /** A user's active keys, by hash: what a change to the user must rebuild. */
  keysByUser: Map<string, Set<string>>;
  /** The source rows of the small tables, as loaded, for the cache file (keys are written back from their entries). */
  src: { users: Map<string, UserRow>; subs: Map<string, SubRow[]>; models: Map<string, ModelRow>; deps: Map<string, DepRow[]> };
}

export function emptySnapshot(): Snapshot {
  return {
    keys: new Map(), models: new Map(), subscriptions: new Map(), loadedAt: 0, version: null, users: new Map(), keysByUser: new Map(),
    src: { users: new Map(), subs: new Map(), models: new Map(), deps: new Map() },
  };
}

const money = (v: string | null): bigint | null => (v === null ? null : toPico(v));

// Byte order, not the database's collation: rows written back from a snapshot sort the same way in JS.
const byId = sql`id collate "C"`;

/** The queries a snapshot's rows come from, whole or (for a change) restricted to some ids. */
export const rowQueries = {
  users: (db: Kysely<Database>) => db.selectFrom('users').select(['id', 'username', 'disabled_at', 'max_budget', 'budget_period', 'rpm', 'tpm']).orderBy(byId),
  keys: (db: Kysely<Database>) => db.selectFrom('api_keys').select(['id', 'user_id', 'name', 'hash', 'models', 'max_budget', 'budget_period', 'rpm', 'tpm', 'max_parallel', 'expires_at'])
    .where('revoked_at', 'is', null).orderBy(byId),
  subs: (db: Kysely<Database>) => db.selectFrom('subscriptions').select(['user_id', 'model_id', 'status', 'quota_requests', 'quota_tokens'])
    .orderBy(sql`user_id collate "C"`).orderBy(sql`model_id collate "C"`),
  models: (db: Kysely<Database>) => db.selectFrom('models').selectAll().where('status', '=', 'active').orderBy(byId),
  deps: (db: Kysely<Database>) => db.selectFrom('deployments').selectAll().where('enabled', '=', true).orderBy(byId),
};

/**
 * The change counter (migration 007), read before the rows so that any change the rows might miss
 * has a higher version and arrives as a notification. Null when the table does not exist yet.
 */
export async function loadVersion(db: Kysely<Database>): Promise<number | null> {
  try {
    const r = await sql<{ version: number | string }>`select version from litemaas_snapshot_version where id = 1`.execute(db);
    return r.rows[0] ? Number(r.rows[0].version) : null;
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') return null; // undefined_table: not migrated yet
    throw err;
  }
}

/**
 * The rows a snapshot is built from, as the database has them (deployment tokens still
 * encrypted). Ordered, so that an unchanged database gives an identical value (the cache
 * file is rewritten only when it changed).
 */
export async function loadSnapshotRows(db: Kysely<Database>) {
  const [users, keys, subs, models, deps] = await Promise.all([
    rowQueries.users(db).execute(), rowQueries.keys(db).execute(), rowQueries.subs(db).execute(),
    rowQueries.models(db).execute(), rowQueries.deps(db).execute(),
  ]);
  return { users, keys, subs, models, deps };
}

export type SnapshotRows = Awaited<ReturnType<typeof loadSnapshotRows>>;
export type UserRow = SnapshotRows['users'][number];
export type KeyRow = SnapshotRows['keys'][number];
export type SubRow = SnapshotRows['subs'][number];
export type ModelRow = SnapshotRows['models'][number];
export type DepRow = SnapshotRows['deps'][number];

export async function loadSnapshot(db: Kysely<Database>, cipher: Cipher): Promise<Snapshot> {
  return buildSnapshot(await loadSnapshotRows(db), cipher);
}

export function userEntry(u: UserRow): UserEntry {
  return {
    id: u.id, username: u.username, disabled: u.disabled_at !== null,
    maxBudget: money(u.max_budget), budgetPeriod: u.budget_period, rpm: u.rpm, tpm: u.tpm,
  };
}

export function keyEntry(k: KeyRow, user: UserEntry): KeyEntry {
  return {
    id: k.id, name: k.name, user, models: new Set(k.models),
    maxBudget: money(k.max_budget), budgetPeriod: k.budget_period,
    rpm: k.rpm, tpm: k.tpm, maxParallel: k.max_parallel,
    expiresAt: k.expires_at ? new Date(k.expires_at).getTime() : null,
  };
}

export function modelEntry(m: ModelRow, deps: readonly DepRow[], cipher: Cipher): ModelEntry {
  return {
    id: m.id, kind: m.kind, contextLength: m.context_length,
    inPerToken: pricePerTokenPico(m.input_price_per_1m), outPerToken: pricePerTokenPico(m.output_price_per_1m),
    cachedPerToken: pricePerTokenPico(m.cached_input_price_per_1m ?? m.input_price_per_1m),
    // Cache files written before migration 006 lack these: free, as they were then.
    audioPerMinute: toPico(m.audio_price_per_minute ?? 0), requestFee: toPico(m.request_price ?? 0),
    created: Math.floor(new Date(m.created_at).getTime() / 1000),
    deployments: deps.map((d) => ({
      id: d.id, url: d.url, upstreamModel: d.upstream_model, token: d.token_enc ? cipher.decrypt(d.token_enc) : null,
      weight: d.weight, maxInFlight: d.max_in_flight, timeoutMs: d.timeout_ms,
    })),
  };
}

export const subEntry = (s: SubRow): SubscriptionEntry => ({ status: s.status, quotaRequests: s.quota_requests, quotaTokens: s.quota_tokens });

export function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const a = m.get(k);
  if (a) a.push(v); else m.set(k, [v]);
}

/** Builds the hot path's maps from rows loaded now or read back from the cache file (where dates are ISO strings). */
export function buildSnapshot({ users, keys, subs, models, deps }: SnapshotRows, cipher: Cipher, version: number | null = null): Snapshot {
  const snap = emptySnapshot();
  snap.version = version;
  for (const u of users) { snap.users.set(u.id, userEntry(u)); snap.src.users.set(u.id, u); }
  for (const k of keys) {
    const user = snap.users.get(k.user_id);
    if (!user) continue;
    snap.keys.set(k.hash, keyEntry(k, user));
    let hashes = snap.keysByUser.get(user.id);
    if (!hashes) snap.keysByUser.set(user.id, (hashes = new Set()));
    hashes.add(k.hash);
  }
  for (const d of deps) pushTo(snap.src.deps, d.model_id, d);
  for (const m of models) {
    snap.src.models.set(m.id, m);
    snap.models.set(m.id, modelEntry(m, snap.src.deps.get(m.id) ?? [], cipher));
  }
  for (const s of subs) {
    pushTo(snap.src.subs, s.user_id, s);
    snap.subscriptions.set(`${s.user_id}|${s.model_id}`, subEntry(s));
  }
  snap.loadedAt = Date.now();
  return snap;
}
