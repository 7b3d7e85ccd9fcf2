/**
 * @module The portal API's response shapes, as written in docs/portal-api.md.
 * Request bodies are typed where they are sent.
 */

export type Role = 'admin' | 'admin-readonly' | 'user';
export type BudgetPeriod = 'none' | 'daily' | 'weekly' | 'monthly';
export type SubscriptionStatus = 'active' | 'pending' | 'denied' | 'suspended' | 'cancelled';
export type ModelKind = 'chat' | 'completion' | 'embedding';

export interface KeyPolicy {
  budgetPeriod?: BudgetPeriod;
  maxBudget: number | null;
  rpm: number | null;
  tpm: number | null;
  expiresInDays: number | null;
}

export interface Config {
  gatewayUrl: string;
  currency: string;
  oidc: { enabled: boolean; label: string | null };
  passwordLogin: boolean;
  /** Pre-fill the key form and show its limits as hints (optional so an older server still works). */
  keyDefaults?: Settings['keyDefaults'];
  keyMaximums?: Settings['keyMaximums'];
}

export interface Me {
  id: string;
  username: string;
  displayName: string | null;
  email: string | null;
  roles: Role[];
  authMethod: 'password' | 'oidc';
  budget: { maxBudget: number | null; budgetPeriod: BudgetPeriod; spend: number };
  rpm: number | null;
  tpm: number | null;
}

export interface ModelSubscriptionRef {
  id: string;
  status: SubscriptionStatus;
  reason: string | null;
}

export interface Model {
  id: string;
  description: string | null;
  provider: string | null;
  kind: ModelKind;
  contextLength: number | null;
  features: string[];
  inputPricePer1M: number;
  outputPricePer1M: number;
  restricted: boolean;
  status: 'active' | 'deprecated';
  subscription: ModelSubscriptionRef | null;
}

export interface Deployment {
  id: string;
  url: string;
  upstreamModel: string;
  hasToken: boolean;
  weight: number;
  maxInFlight: number | null;
  timeoutMs: number;
  enabled: boolean;
}

export interface AdminModel extends Model {
  deployments: Deployment[];
}

export interface Subscription {
  id: string;
  userId: string;
  username: string;
  modelId: string;
  status: SubscriptionStatus;
  quotaRequests: number | null;
  quotaTokens: number | null;
  reason: string | null;
  decidedBy: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ApiKey {
  id: string;
  userId: string;
  name: string;
  description: string | null;
  prefix: string;
  models: string[];
  maxBudget: number | null;
  budgetPeriod: BudgetPeriod;
  softBudget: number | null;
  rpm: number | null;
  tpm: number | null;
  maxParallel: number | null;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
  status: 'active' | 'revoked' | 'expired';
  spend: number;
}

/** Returned by create and rotate: the only times the full key comes back unasked. */
export type ApiKeyWithSecret = ApiKey & { key: string };

export interface UsageTotals {
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  cost: number;
  costExact: string;
}

export type UsageGroupBy = 'day' | 'model' | 'key' | 'user';

export type UsageRow = UsageTotals & {
  day?: string;
  modelId?: string;
  keyId?: string;
  keyName?: string;
  userId?: string;
  username?: string;
};

export interface UsageSummary {
  from: string;
  to: string;
  groupBy: UsageGroupBy;
  rows: UsageRow[];
  totals: UsageTotals;
}

export interface UsageTimeseries {
  from: string;
  to: string;
  points: (UsageTotals & { day: string })[];
}

export interface User {
  id: string;
  username: string;
  email: string | null;
  displayName: string | null;
  roles: Role[];
  maxBudget: number | null;
  budgetPeriod: BudgetPeriod;
  rpm: number | null;
  tpm: number | null;
  disabled: boolean;
  createdAt: string;
  lastLoginAt: string | null;
}

export interface AuditEntry {
  id: string | number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  details: unknown;
}

export interface Settings {
  currency: string;
  keyDefaults: KeyPolicy & { budgetPeriod: BudgetPeriod };
  keyMaximums: Omit<KeyPolicy, 'budgetPeriod'>;
}

export interface ModelTestResult {
  ok: boolean;
  status: number | null;
  latencyMs: number;
  message: string;
  reply?: string;
}
