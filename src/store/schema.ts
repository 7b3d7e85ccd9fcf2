/**
 * @module Table types for Kysely (DESIGN §4). Money columns are `numeric` and
 * travel as decimal strings; counters are int8 parsed to JS numbers.
 */
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Money = ColumnType<string, string | number, string | number>;
type Json = ColumnType<unknown, string, string>;

export type Role = 'admin' | 'admin-readonly' | 'user';
export type BudgetPeriod = 'none' | 'daily' | 'weekly' | 'monthly';
export type SubscriptionStatus = 'active' | 'pending' | 'denied' | 'suspended' | 'cancelled';
import type { AuthMethod, ModelKind } from '../shared/api-types.js';
export type { ModelKind };

export interface UsersTable {
  id: string;
  username: string;
  email: string | null;
  display_name: string | null;
  password_hash: string | null;
  oidc_issuer: string | null;
  oidc_subject: string | null;
  roles: string[];
  max_budget: Money | null;
  budget_period: BudgetPeriod;
  rpm: number | null;
  tpm: number | null;
  disabled_at: Timestamp | null;
  created_at: Generated<Date>;
  last_login_at: Timestamp | null;
  /** 'team': the row that holds a team's budget, limits, subscriptions and keys (migration 009); never signs in. */
  kind: ColumnType<'person' | 'team', 'person' | 'team' | undefined, 'person' | 'team'>;
}

export interface ModelsTable {
  id: string;
  description: string | null;
  provider: string | null;
  kind: ModelKind;
  context_length: number | null;
  features: string[];
  input_price_per_1m: Money;
  output_price_per_1m: Money;
  /** null: cached prompt tokens cost the input price. */
  cached_input_price_per_1m: Money | null;
  audio_price_per_minute: ColumnType<string, string | number | undefined, string | number>;
  request_price: ColumnType<string, string | number | undefined, string | number>;
  restricted: boolean;
  status: 'active' | 'deprecated';
  created_at: Generated<Date>;
}

export interface DeploymentsTable {
  id: string;
  model_id: string;
  url: string;
  upstream_model: string;
  token_enc: string | null;
  weight: number;
  max_in_flight: number | null;
  timeout_ms: number;
  enabled: boolean;
}

export interface SubscriptionsTable {
  id: string;
  user_id: string;
  model_id: string;
  status: SubscriptionStatus;
  quota_requests: number | null;
  quota_tokens: number | null;
  reason: string | null;
  decided_by: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface ApiKeysTable {
  id: string;
  user_id: string;
  name: string;
  description: string | null;
  prefix: string;
  hash: string;
  secret_enc: string;
  models: string[];
  max_budget: Money | null;
  budget_period: BudgetPeriod;
  soft_budget: Money | null;
  rpm: number | null;
  tpm: number | null;
  max_parallel: number | null;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
  rotated_to: string | null;
  last_used_at: Timestamp | null;
  created_at: Generated<Date>;
  /** jsonb (migration 005): the limits an administrator set, which the owner may only tighten; read with key-policy.ts. */
  admin_limits: ColumnType<unknown, string | undefined, string>;
  /** A team key: the person who created it (migration 009); null on a person's own keys. */
  created_by: ColumnType<string | null, string | null | undefined, string | null>;
  /** jsonb (migration 015): per-model limits, `{ [modelId]: ModelLimitJson }`; `{}` when none. */
  model_limits: ColumnType<Record<string, ModelLimitJson>, string | undefined, string>;
}

export interface UsageEventsTable {
  id: string;
  at: Timestamp;
  key_id: string;
  user_id: string;
  model_id: string;
  deployment_id: string | null;
  status: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost: Money;
  latency_ms: number;
  ttft_ms: number | null;
  stream: boolean;
  estimated: boolean;
  error_code: string | null;
  /** The endpoint's name (src/gateway/endpoints), null for events written before migration 006. */
  endpoint: string | null;
  cached_tokens: ColumnType<number, number | undefined, number>;
  audio_ms: ColumnType<number, number | undefined, number>;
  /** What the gateway reserved against budgets for the request (migration 013); null when nothing was. */
  reserved_cost: ColumnType<string | null, string | null | undefined, string | null>;
}

/** The counters every usage rollup keeps. */
export interface UsageCounters {
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost: Money;
}

export interface UsageDailyTable extends UsageCounters {
  day: ColumnType<string, string, string>;
  key_id: string;
  user_id: string;
  model_id: string;
}

/** usage_daily without the key: one row per (day, model). */
export interface UsageModelDailyTable extends UsageCounters {
  day: ColumnType<string, string, string>;
  model_id: string;
}

/** usage_daily by UTC hour (migration 012): `hour` is the hour's start, a timestamp without time zone in UTC. */
export interface UsageHourlyTable extends UsageCounters {
  hour: ColumnType<string, string, string>;
  key_id: string;
  user_id: string;
  model_id: string;
}

/** usage_daily by calendar month (UTC): `month` is its first day. */
export interface UsageMonthlyTable extends UsageCounters {
  month: ColumnType<string, string, string>;
  key_id: string;
  user_id: string;
  model_id: string;
}

/** A usage event the database refused; `event` is its JSON text (see migrations/004_dead_letters.ts). */
export interface UsageDeadLettersTable {
  id: Generated<number>;
  at: Generated<Date>;
  event_id: string | null;
  code: string | null;
  reason: string;
  event: string;
}

/** Which key created a stored response (Responses API) on which deployment; `tokens` its input + output, the least its continuation reads. */
export interface ResponseRoutesTable {
  id: string;
  key_id: string;
  model_id: string;
  deployment_id: string;
  tokens: number | null;
  created_at: Generated<Date>;
}

export interface AuditLogTable {
  id: Generated<string>;
  at: Generated<Date>;
  actor: string;
  action: string;
  target: string | null;
  details: Json;
}

export interface SettingsTable {
  key: string;
  value: Json;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  csrf: string;
  auth_method: AuthMethod;
  authenticated_at: Timestamp;
  created_at: Generated<Date>;
  expires_at: Timestamp;
}

/** One model's limits on a key, as stored (money as a decimal string). */
export interface ModelLimitJson { rpm?: number | null; tpm?: number | null; maxBudget?: string | null; budgetPeriod?: BudgetPeriod }

export interface TeamsTable {
  id: string;
  name: string;
  description: string | null;
  created_by: string | null;
  created_at: Generated<Date>;
}

export type TeamRole = 'owner' | 'member';
export interface TeamMembersTable {
  team_id: string;
  user_id: string;
  role: TeamRole;
  added_at: Generated<Date>;
}

export interface Database {
  users: UsersTable;
  models: ModelsTable;
  deployments: DeploymentsTable;
  subscriptions: SubscriptionsTable;
  api_keys: ApiKeysTable;
  usage_events: UsageEventsTable;
  usage_daily: UsageDailyTable;
  usage_model_daily: UsageModelDailyTable;
  usage_monthly: UsageMonthlyTable;
  usage_hourly: UsageHourlyTable;
  usage_dead_letters: UsageDeadLettersTable;
  response_routes: ResponseRoutesTable;
  audit_log: AuditLogTable;
  settings: SettingsTable;
  sessions: SessionsTable;
  teams: TeamsTable;
  team_members: TeamMembersTable;
  alert_crossings: AlertCrossingsTable;
  notifications: NotificationsTable;
  notification_deliveries: NotificationDeliveriesTable;
  notification_attempts: NotificationAttemptsTable;
}

export type UserRow = Selectable<UsersTable>;
export type ModelRow = Selectable<ModelsTable>;
export type DeploymentRow = Selectable<DeploymentsTable>;
export type SubscriptionRow = Selectable<SubscriptionsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type UsageEventInsert = Insertable<UsageEventsTable>;

// Migration 010. Declared as interface merges so that this block only appends to the file.
type Nullable<T> = ColumnType<T | null, T | null | undefined, T | null>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type NullableMoney = ColumnType<string | null, string | number | null | undefined, string | number | null>;

/** An admin API token (sha256 only); `team_id` is set exactly for scope `team`. */
export interface AdminTokensTable {
  id: string;
  name: string;
  /** `lmt_ab12…wxyz` */
  prefix: string;
  hash: string;
  scope: 'admin' | 'admin-readonly' | 'team';
  team_id: string | null;
  created_by: string;
  created_at: Generated<Date>;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
  last_used_at: Timestamp | null;
}

export interface ApiKeysTable {
  /** sha256 of the secret a rotation replaced, valid until `previous_valid_until` (the grace period). */
  previous_hash: Nullable<string>;
  previous_valid_until: NullableTimestamp;
  /** An admin's spend reset: the period's spend at `spend_reset_at`, not counted toward the budget until `spend_credit_until`. */
  spend_reset_at: NullableTimestamp;
  spend_credit: NullableMoney;
  spend_credit_until: NullableTimestamp;
}

export interface UsersTable {
  spend_reset_at: NullableTimestamp;
  spend_credit: NullableMoney;
  spend_credit_until: NullableTimestamp;
}

export interface Database { admin_tokens: AdminTokensTable }
export type AdminTokenRow = Selectable<AdminTokensTable>;
/** One notified crossing (migration 011): the unique key is the exactly-once guard across replicas. */
export interface AlertCrossingsTable {
  scope: string;
  scope_id: string;
  /** The budget period's first day; 1970-01-01 for budgets that never reset. */
  period_start: ColumnType<string, string, string>;
  /** '50', '80', '100' (percent of the budget), 'soft' (the soft budget) or 'expiring' (a key about to expire). */
  threshold: string;
  spend: Money | null;
  budget: Money | null;
  at: Generated<Date>;
}

/** A portal notification for one person (the drawer). */
export interface NotificationsTable {
  id: string;
  user_id: string;
  type: string;
  title: string;
  body: string;
  data: Json;
  created_at: Generated<Date>;
  read_at: Timestamp | null;
}

export type DeliveryChannel = 'webhook' | 'email';
export type DeliveryStatus = 'pending' | 'sent' | 'failed';

/** The outbox of webhook and e-mail sends, and their state. */
export interface NotificationDeliveriesTable {
  id: string;
  channel: DeliveryChannel;
  target: string;
  type: string;
  payload: Json;
  status: ColumnType<DeliveryStatus, DeliveryStatus | undefined, DeliveryStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: ColumnType<Date, Date | string | undefined, Date | string>;
  last_error: string | null;
  created_at: Generated<Date>;
  sent_at: Timestamp | null;
}

/** One attempt to send a delivery (the log admins read). */
export interface NotificationAttemptsTable {
  delivery_id: string;
  attempt: number;
  at: Generated<Date>;
  ok: boolean;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

/** An admin announcement (migration 014); null starts_at/ends_at: open-ended. */
export interface BannersTable {
  id: string;
  markdown: string;
  severity: 'info' | 'warning' | 'danger';
  starts_at: NullableTimestamp;
  ends_at: NullableTimestamp;
  dismissible: boolean;
  created_by: string;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** Who dismissed which banner (migration 014). */
export interface BannerDismissalsTable {
  banner_id: string;
  user_id: string;
  dismissed_at: Generated<Date>;
}

export interface Database { banners: BannersTable; banner_dismissals: BannerDismissalsTable }
export type BannerRow = Selectable<BannersTable>;
