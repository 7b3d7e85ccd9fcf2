/**
 * @module What the hot path knows, loaded from the store: active keys by
 * hash, their owners, subscriptions, models and deployments. It is loaded
 * whole at start, in pages (snapshot-load.ts), and when a change cannot be
 * applied piecemeal; a change notification updates just what it names
 * (snapshot-changes.ts), so no request waits on the database.
 *
 * Sized for a million keys: a key is one small object (no secret, encrypted or
 * not: the hash is the map's key, and the hot path needs nothing else of the
 * key), its model scope is a set shared by every key with the same list, its
 * budget period an interned literal; a user's keys are listed in an array
 * (a set only for an owner of hundreds: a service account with a million keys
 * would make every change to its list a copy of it). Entries are replaced, never mutated; a reload keeps the
 * entries that did not change, so it allocates only what changed.
 */
import type { Kysely } from 'kysely';
import type { BudgetPeriod, Database, ModelKind } from '../store/schema.js';
import type { Cipher } from '../shared/secrets.js';
import { pricePerTokenPico, toPico } from '../shared/money.js';

export interface UserEntry {
  id: string; username: string; disabled: boolean;
  maxBudget: bigint | null; budgetPeriod: BudgetPeriod; rpm: number | null; tpm: number | null;
  /** An admin's spend reset: this much of the period's spend is not counted until `creditUntil` (ms; 0: none). See withCredit(). */
  credit: bigint; creditUntil: number;
}
export interface KeyEntry {
  id: string; user: UserEntry; models: ReadonlySet<string>;
  maxBudget: bigint | null; budgetPeriod: BudgetPeriod;
  rpm: number | null; tpm: number | null; maxParallel: number | null; expiresAt: number | null;
  credit: bigint; creditUntil: number;
  /** Per-model limits (migration 015), checked besides the key's own; null for the keys without (nearly all). */
  modelLimits: ModelLimits | null;
}
/** Whether the entry is a team's (migration 009: a team's row in users is named `team:<id>`; people's names hold no ':'). */
export const isTeam = (u: UserEntry): boolean => u.username.startsWith('team:');
/** One model's limits on a key. */
export interface ModelLimit { rpm: number | null; tpm: number | null; maxBudget: bigint | null; budgetPeriod: BudgetPeriod }
/** A key's per-model limits; `src` is the stored JSON, so an unchanged row keeps its entry. */
export interface ModelLimits { readonly src: string; readonly byModel: ReadonlyMap<string, ModelLimit> }
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
  keysByUser: Map<string, KeyList>;
  /** The one shared set of each distinct list of models a key may use. */
  scopes: Map<string, ReadonlySet<string>>;
  /** The source rows of the small tables, as loaded, for the cache file (users and keys are written back from their entries). */
  src: { subs: Map<string, SubRow[]>; models: Map<string, ModelRow>; deps: Map<string, DepRow[]> };
}

/** A user's key hashes: an array while few (most users; 8 bytes a key), a set once many (changes stay O(1)). */
export type KeyList = string[] | Set<string>;
const LIST_MAX = 256;

export function emptySnapshot(): Snapshot {
  return {
    keys: new Map(), models: new Map(), subscriptions: new Map(), loadedAt: 0, version: null, users: new Map(), keysByUser: new Map(),
    scopes: new Map(), src: { subs: new Map(), models: new Map(), deps: new Map() },
  };
}

/** The queries a snapshot's rows come from, whole (in pages) or, for a change, restricted to some ids. */
export const rowQueries = {
  users: (db: Kysely<Database>) => db.selectFrom('users').select(['id', 'username', 'disabled_at', 'max_budget', 'budget_period', 'rpm', 'tpm', 'spend_credit', 'spend_credit_until']),
  keys: (db: Kysely<Database>) => db.selectFrom('api_keys').select(['id', 'user_id', 'hash', 'models', 'max_budget', 'budget_period', 'rpm', 'tpm', 'max_parallel', 'expires_at', 'previous_hash', 'previous_valid_until', 'spend_credit', 'spend_credit_until', 'model_limits'])
    .where('revoked_at', 'is', null),
  subs: (db: Kysely<Database>) => db.selectFrom('subscriptions').select(['user_id', 'model_id', 'status', 'quota_requests', 'quota_tokens']),
  models: (db: Kysely<Database>) => db.selectFrom('models').selectAll().where('status', '=', 'active'),
  deps: (db: Kysely<Database>) => db.selectFrom('deployments').selectAll().where('enabled', '=', true),
};

type RowOf<Q extends (db: Kysely<Database>) => { execute(): Promise<unknown[]> }> = Awaited<ReturnType<ReturnType<Q>['execute']>>[number];
export type UserRow = RowOf<typeof rowQueries.users>;
export type KeyRow = RowOf<typeof rowQueries.keys>;
export type SubRow = RowOf<typeof rowQueries.subs>;
export type ModelRow = RowOf<typeof rowQueries.models>;
export type DepRow = RowOf<typeof rowQueries.deps>;
/** A user as the cache file holds it: the entry's fields (whether disabled, not since when). */
export type UserLine = Omit<UserRow, 'disabled_at'> & { disabled: boolean };

const money = (v: string | null): bigint | null => (v === null ? null : toPico(v));
/** A spend credit and until when it holds; rows from an older cache file have neither. */
function credit(r: { spend_credit?: string | null; spend_credit_until?: Date | string | null }): [bigint, number] {
  if (r.spend_credit == null || r.spend_credit_until == null) return [0n, 0];
  return [toPico(r.spend_credit), new Date(r.spend_credit_until).getTime()];
}
// The driver makes a new string per row; the entries share these.
const PERIODS: Record<string, BudgetPeriod> = { none: 'none', daily: 'daily', weekly: 'weekly', monthly: 'monthly' };
const period = (p: BudgetPeriod): BudgetPeriod => PERIODS[p] ?? p;

/** A user's entry; `old` itself when nothing it holds changed. */
export function userEntry(u: UserRow | UserLine, old?: UserEntry): UserEntry {
  const disabled = 'disabled' in u ? u.disabled : u.disabled_at !== null;
  const maxBudget = money(u.max_budget), budgetPeriod = period(u.budget_period);
  const [c, cUntil] = credit(u);
  if (old && old.id === u.id && old.username === u.username && old.disabled === disabled && old.maxBudget === maxBudget
    && old.budgetPeriod === budgetPeriod && old.rpm === u.rpm && old.tpm === u.tpm && old.credit === c && old.creditUntil === cUntil) return old;
  return { id: u.id, username: u.username, disabled, maxBudget, budgetPeriod, rpm: u.rpm, tpm: u.tpm, credit: c, creditUntil: cUntil };
}

/** A key's entry, always of one shape (the hot path's property reads stay monomorphic). */
function makeKey(id: string, user: UserEntry, models: ReadonlySet<string>, maxBudget: bigint | null, budgetPeriod: BudgetPeriod,
  rpm: number | null, tpm: number | null, maxParallel: number | null, expiresAt: number | null, credit: bigint, creditUntil: number,
  modelLimits: ModelLimits | null): KeyEntry {
  return { id, user, models, maxBudget, budgetPeriod, rpm, tpm, maxParallel, expiresAt, credit, creditUntil, modelLimits };
}

/** The same key with another owner entry (a user's limits changed). */
export const withUser = (k: KeyEntry, user: UserEntry): KeyEntry =>
  makeKey(k.id, user, k.models, k.maxBudget, k.budgetPeriod, k.rpm, k.tpm, k.maxParallel, k.expiresAt, k.credit, k.creditUntil, k.modelLimits);

/** A row's per-model limits (`old`'s when the stored JSON is the same); null when it has none. Rows of an older cache file have none. */
function modelLimits(raw: unknown, old: ModelLimits | null | undefined): ModelLimits | null {
  if (raw === null || raw === undefined) return null;
  const src = typeof raw === 'string' ? raw : JSON.stringify(raw);
  if (src === '{}') return null;
  if (old && old.src === src) return old;
  const byModel = new Map<string, ModelLimit>();
  for (const [model, l] of Object.entries((typeof raw === 'string' ? JSON.parse(raw) : raw) as Record<string, { rpm?: number | null; tpm?: number | null; maxBudget?: string | null; budgetPeriod?: BudgetPeriod }>)) {
    byModel.set(model, { rpm: l.rpm ?? null, tpm: l.tpm ?? null, maxBudget: money(l.maxBudget ?? null), budgetPeriod: period(l.budgetPeriod ?? 'none') });
  }
  return { src, byModel };
}

const creditHolds = (c: bigint, until: number, max: bigint | null, at: number) => c !== 0n && max !== null && at < until;
/** Per entry: the view last made, and which credits it holds (the key's and the owner's end at different times). */
const credited = new WeakMap<KeyEntry, { kc: boolean; uc: boolean; view: KeyEntry }>();

/**
 * The key as its budgets are checked at `at`: while an admin's spend reset holds (until the period it
 * was made in ends), the key's or owner's budget is raised by the spend forgiven — the same as
 * counting the period's spend from zero again, without touching the counters or the usage history.
 * The key itself when no reset holds (nearly always); the view is made once per entry.
 */
export function withCredit(k: KeyEntry, at: number): KeyEntry {
  const kc = creditHolds(k.credit, k.creditUntil, k.maxBudget, at), uc = creditHolds(k.user.credit, k.user.creditUntil, k.user.maxBudget, at);
  if (!kc && !uc) return k;
  const seen = credited.get(k);
  if (seen && seen.kc === kc && seen.uc === uc) return seen.view;
  const user = uc ? { ...k.user, maxBudget: k.user.maxBudget! + k.user.credit } : k.user;
  const view = makeKey(k.id, user, k.models, kc ? k.maxBudget! + k.credit : k.maxBudget, k.budgetPeriod, k.rpm, k.tpm, k.maxParallel, k.expiresAt, k.credit, k.creditUntil, k.modelLimits);
  credited.set(k, { kc, uc, view });
  return view;
}

function sameList(set: ReadonlySet<string>, list: readonly string[]): boolean {
  if (set.size !== list.length) return false;
  let i = 0;
  for (const m of set) if (m !== list[i++]) return false;
  return true;
}

/** The shared set for a list of models (an old key's own set when it holds the same list). */
function scope(snap: Snapshot, models: readonly string[], old?: KeyEntry): ReadonlySet<string> {
  const id = `${models.length}\u0000${models.join('\u0000')}`;
  let s = snap.scopes.get(id);
  if (!s) snap.scopes.set(id, (s = old && sameList(old.models, models) ? old.models : new Set(models)));
  return s;
}

/** A key's entry for `user`; `old` itself when nothing it holds changed. */
export function keyEntry(snap: Snapshot, k: KeyRow, user: UserEntry, old?: KeyEntry): KeyEntry {
  const models = scope(snap, k.models, old);
  const maxBudget = money(k.max_budget), budgetPeriod = period(k.budget_period);
  const expiresAt = k.expires_at === null ? null : new Date(k.expires_at).getTime();
  const [c, cUntil] = credit(k);
  const limits = modelLimits(k.model_limits, old?.modelLimits);
  if (old && old.id === k.id && old.user === user && old.models === models && old.maxBudget === maxBudget && old.budgetPeriod === budgetPeriod
    && old.rpm === k.rpm && old.tpm === k.tpm && old.maxParallel === k.max_parallel && old.expiresAt === expiresAt
    && old.credit === c && old.creditUntil === cUntil && old.modelLimits === limits) return old;
  return makeKey(k.id, user, models, maxBudget, budgetPeriod, k.rpm, k.tpm, k.max_parallel, expiresAt, c, cUntil, limits);
}

/**
 * The secret a rotation replaced, while its grace lasts: the same key under the old hash, expiring
 * when the grace ends (authenticate() checks expiry per request, so it stops then without a change
 * notification). Null when there is none, or it is over. Rows from the cache file have no such
 * fields: there the old hash is a key row of its own.
 */
export function graceRow(row: KeyRow, now = Date.now()): KeyRow | null {
  if (!row.previous_hash || !row.previous_valid_until) return null;
  const until = new Date(row.previous_valid_until).getTime();
  if (until <= now) return null;
  const expires = row.expires_at === null ? until : Math.min(until, new Date(row.expires_at).getTime());
  return { ...row, hash: row.previous_hash, expires_at: new Date(expires), previous_hash: null, previous_valid_until: null };
}

/** Puts a key row in place, under its owner (skipped when the owner is unknown: a key of a deleted user). */
export function putKey(snap: Snapshot, row: KeyRow, old?: KeyEntry, previous?: Snapshot | null): void {
  const grace = graceRow(row);
  if (grace) putKey(snap, grace, (previous ?? snap).keys.get(grace.hash));
  const user = snap.users.get(row.user_id);
  if (!user) return;
  const prev = snap.keys.get(row.hash);
  snap.keys.set(row.hash, keyEntry(snap, row, user, old));
  if (prev && prev.user.id === user.id) return;
  if (prev) dropHashes(snap, prev.user.id, new Set([row.hash]));
  const mine = snap.keysByUser.get(user.id);
  if (!mine) snap.keysByUser.set(user.id, [row.hash]);
  else if (!Array.isArray(mine)) mine.add(row.hash);
  else if (mine.length < LIST_MAX) mine.push(row.hash);
  else snap.keysByUser.set(user.id, new Set(mine).add(row.hash));
}

/** Takes hashes out of a user's list (one pass over an array, however many go). */
export function dropHashes(snap: Snapshot, userId: string, gone: ReadonlySet<string>): void {
  const mine = snap.keysByUser.get(userId);
  if (!mine) return;
  if (Array.isArray(mine)) {
    const kept = mine.filter((h) => !gone.has(h));
    if (kept.length) snap.keysByUser.set(userId, kept); else snap.keysByUser.delete(userId);
    return;
  }
  for (const h of gone) mine.delete(h);
  if (mine.size === 0) snap.keysByUser.delete(userId);
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

/**
 * Builds a snapshot from rows fed in order — users, then keys, then subscriptions, then models
 * with their deployments — a page at a time, from the database or the cache file. Entries of
 * `previous` that did not change are kept as they are.
 */
export class SnapshotBuilder {
  readonly snap = emptySnapshot();
  constructor(private readonly cipher: Cipher, private readonly previous: Snapshot | null = null) {}

  users(rows: ReadonlyArray<UserRow | UserLine>): void {
    for (const u of rows) this.snap.users.set(u.id, userEntry(u, this.previous?.users.get(u.id)));
  }

  keys(rows: readonly KeyRow[]): void {
    for (const k of rows) putKey(this.snap, k, this.previous?.keys.get(k.hash), this.previous);
  }

  subs(rows: readonly SubRow[]): void {
    for (const s of rows) {
      pushTo(this.snap.src.subs, s.user_id, s);
      this.snap.subscriptions.set(`${s.user_id}|${s.model_id}`, subEntry(s));
    }
  }

  models(models: readonly ModelRow[], deps: readonly DepRow[]): void {
    const { snap } = this;
    for (const d of deps) pushTo(snap.src.deps, d.model_id, d);
    for (const m of models) {
      snap.src.models.set(m.id, m);
      snap.models.set(m.id, modelEntry(m, snap.src.deps.get(m.id) ?? [], this.cipher));
    }
  }

  done(version: number | null): Snapshot {
    this.snap.version = version;
    this.snap.loadedAt = Date.now();
    return this.snap;
  }
}
