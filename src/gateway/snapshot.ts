/**
 * @module What the hot path knows, loaded from the store in one go: active
 * keys by hash, their owners, subscriptions, models and deployments. It is
 * replaced whole on every change notification and on a periodic reconcile,
 * so no request waits on the database.
 */
import type { Kysely } from 'kysely';
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
}

const money = (v: string | null): bigint | null => (v === null ? null : toPico(v));

/**
 * The rows a snapshot is built from, as the database has them (deployment tokens still
 * encrypted). Ordered, so that an unchanged database gives an identical value (the cache
 * file is rewritten only when it changed).
 */
export async function loadSnapshotRows(db: Kysely<Database>) {
  const [users, keys, subs, models, deps] = await Promise.all([
    db.selectFrom('users').select(['id', 'username', 'disabled_at', 'max_budget', 'budget_period', 'rpm', 'tpm']).orderBy('id').execute(),
    db.selectFrom('api_keys').select(['id', 'user_id', 'name', 'hash', 'models', 'max_budget', 'budget_period', 'rpm', 'tpm', 'max_parallel', 'expires_at'])
      .where('revoked_at', 'is', null).orderBy('id').execute(),
    db.selectFrom('subscriptions').select(['user_id', 'model_id', 'status', 'quota_requests', 'quota_tokens']).orderBy('user_id').orderBy('model_id').execute(),
    db.selectFrom('models').selectAll().where('status', '=', 'active').orderBy('id').execute(),
    db.selectFrom('deployments').selectAll().where('enabled', '=', true).orderBy('id').execute(),
  ]);
  return { users, keys, subs, models, deps };
}

export type SnapshotRows = Awaited<ReturnType<typeof loadSnapshotRows>>;

export async function loadSnapshot(db: Kysely<Database>, cipher: Cipher): Promise<Snapshot> {
  return buildSnapshot(await loadSnapshotRows(db), cipher);
}

/** Builds the hot path's maps from rows loaded now or read back from the cache file (where dates are ISO strings). */
export function buildSnapshot({ users, keys, subs, models, deps }: SnapshotRows, cipher: Cipher): Snapshot {
  const userById = new Map<string, UserEntry>();
  for (const u of users) {
    userById.set(u.id, {
      id: u.id, username: u.username, disabled: u.disabled_at !== null,
      maxBudget: money(u.max_budget), budgetPeriod: u.budget_period, rpm: u.rpm, tpm: u.tpm,
    });
  }
  const keyMap = new Map<string, KeyEntry>();
  for (const k of keys) {
    const user = userById.get(k.user_id);
    if (!user) continue;
    keyMap.set(k.hash, {
      id: k.id, name: k.name, user, models: new Set(k.models),
      maxBudget: money(k.max_budget), budgetPeriod: k.budget_period,
      rpm: k.rpm, tpm: k.tpm, maxParallel: k.max_parallel,
      expiresAt: k.expires_at ? new Date(k.expires_at).getTime() : null,
    });
  }
  const modelMap = new Map<string, ModelEntry>();
  for (const m of models) {
    modelMap.set(m.id, {
      id: m.id, kind: m.kind, contextLength: m.context_length,
      inPerToken: pricePerTokenPico(m.input_price_per_1m), outPerToken: pricePerTokenPico(m.output_price_per_1m),
      cachedPerToken: pricePerTokenPico(m.cached_input_price_per_1m ?? m.input_price_per_1m),
      // Cache files written before migration 006 lack these: free, as they were then.
      audioPerMinute: toPico(m.audio_price_per_minute ?? 0), requestFee: toPico(m.request_price ?? 0),
      created: Math.floor(new Date(m.created_at).getTime() / 1000), deployments: [],
    });
  }
  for (const d of deps) {
    modelMap.get(d.model_id)?.deployments.push({
      id: d.id, url: d.url, upstreamModel: d.upstream_model, token: d.token_enc ? cipher.decrypt(d.token_enc) : null,
      weight: d.weight, maxInFlight: d.max_in_flight, timeoutMs: d.timeout_ms,
    });
  }
  const subMap = new Map<string, SubscriptionEntry>();
  for (const s of subs) subMap.set(`${s.user_id}|${s.model_id}`, { status: s.status, quotaRequests: s.quota_requests, quotaTokens: s.quota_tokens });
  return { keys: keyMap, models: modelMap, subscriptions: subMap, loadedAt: Date.now() };
}
