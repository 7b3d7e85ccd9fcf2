/**
 * @module The portal API's response shapes: the server's views are typed
 * with these (a drift is a compile error there) and the web UI imports the
 * same declarations with `import type`. Pure types, no imports, so both the
 * Node build and the browser build can read this file.
 */

export type Role = 'admin' | 'admin-readonly' | 'user';
export type BudgetPeriod = 'none' | 'daily' | 'weekly' | 'monthly';
/** How a session was signed in: it decides where "sign in again" goes. */
export type AuthMethod = 'password' | 'oidc' | 'openshift';
export type SubscriptionStatus = 'active' | 'pending' | 'denied' | 'suspended' | 'cancelled';
/** What a model serves; it decides which /v1 endpoints accept it. */
export type ModelKind = 'chat' | 'completion' | 'embedding' | 'rerank' | 'audio';

export interface KeyDefaults { budgetPeriod: BudgetPeriod; maxBudget: number | null; rpm: number | null; tpm: number | null; expiresInDays: number | null }
export interface KeyMaximums { maxBudget: number | null; rpm: number | null; tpm: number | null; expiresInDays: number | null }
/** Defaults or maximums, as the key form reads them. */
export type KeyPolicy = KeyMaximums & { budgetPeriod?: BudgetPeriod };

/** The portal's brand (admin settings): images as base64 data URLs (PNG, JPEG or a checked SVG; a favicon may also be ICO), at most 200 KB each. */
export interface Brand { productName: string; primaryColor: string; logoDataUrl: string | null; favicon: string | null }
/** A PUT of the brand: fields left out keep their value; null clears an image. */
export type BrandInput = Partial<Brand>;
/** The brand as /config shows everyone (the login page too): images by URL. */
export interface PublicBrand { productName: string; primaryColor: string; logoUrl: string | null; faviconUrl: string | null }

export interface Settings {
  currency: string; keyDefaults: KeyDefaults; keyMaximums: KeyMaximums; alerts?: AlertSettings;
  brand?: Brand;
  /** Whether people (not only admins) may create teams; they become its owner. */
  teams?: { selfService: boolean };
}

export interface Team {
  id: string; name: string; description: string | null; createdBy: string | null; createdAt: string;
  maxBudget: number | null; budgetPeriod: BudgetPeriod; rpm: number | null; tpm: number | null; disabled: boolean;
  members: number;
  /** Spend of the team's keys in its current budget period (all time without one). */
  spend: number; spendExact: string;
  /** The caller's role in it (null: not a member, e.g. an admin looking). */
  role: 'owner' | 'member' | null;
}

export interface TeamMember { userId: string; username: string; displayName: string | null; email: string | null; role: 'owner' | 'member'; addedAt: string }

export interface Config {
  gatewayUrl: string;
  currency: string;
  oidc: { enabled: boolean; label: string | null };
  /** Sign in with the cluster's OpenShift OAuth server. */
  openshift: { enabled: boolean };
  passwordLogin: boolean;
  keyDefaults?: KeyDefaults;
  keyMaximums?: KeyMaximums;
  brand?: PublicBrand;
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

export interface Me extends User {
  authMethod: AuthMethod | null;
  budget: { maxBudget: number | null; budgetPeriod: BudgetPeriod; spend: number; spendExact: string };
}

export interface ModelInfo {
  id: string;
  description: string | null;
  provider: string | null;
  kind: ModelKind;
  contextLength: number | null;
  features: string[];
  inputPricePer1M: number;
  outputPricePer1M: number;
  /** Prompt tokens the upstream served from its prefix cache; null: they cost the input price. */
  cachedInputPricePer1M: number | null;
  /** Audio models: price per minute of audio sent (0 when not priced by duration). */
  audioPricePerMinute: number;
  /** A fee per request, on top of tokens and audio (0: none). */
  requestPrice: number;
  restricted: boolean;
  status: 'active' | 'deprecated';
  createdAt: string;
}

export interface ModelSubscriptionRef { id: string; status: SubscriptionStatus; reason: string | null }

/** The catalog as a person sees it. */
export interface Model extends ModelInfo { subscription: ModelSubscriptionRef | null }

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

/** A model as admins see it: with its deployments (tokens never returned, only `hasToken`). */
export interface AdminModel extends ModelInfo { deployments: Deployment[] }

export interface Subscription {
  id: string;
  userId: string;
  /** Present in lists (joined); absent on the answer to a single change. */
  username?: string | null;
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
  /** `sk-ab12…wxyz` */
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
  /** Spend in the key's current budget period (all time when it has none). */
  spend: number;
  spendExact: string;
  /** Limits on single models (checked besides the key's own), by model id; {} when none. */
  modelLimits?: Record<string, { rpm: number | null; tpm: number | null; maxBudget: number | null; budgetPeriod: BudgetPeriod }>;
  /** A team key: the team it belongs to (its budget and limits apply), and who created it. */
  teamId?: string | null;
  teamName?: string | null;
  createdBy?: string | null;
  /** After a rotation with a grace period: the previous secret keeps working until then (absent once it has passed). */
  previousValidUntil?: string | null;
  /** When an admin last reset the key's spend (the current period's spend counts from then). */
  spendResetAt?: string | null;
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

export type UsageGroupBy = 'day' | 'model' | 'key' | 'user' | 'team';

export type UsageRow = UsageTotals & {
  day?: string;
  modelId?: string;
  keyId?: string;
  keyName?: string | null;
  /** The key's shown prefix (`sk-ab12…wxyz`), in rows grouped by key. */
  keyPrefix?: string | null;
  userId?: string;
  username?: string | null;
  teamId?: string;
  teamName?: string | null;
};

export interface UsageSummary { from: string; to: string; groupBy: UsageGroupBy; rows: UsageRow[]; totals: UsageTotals }

/**
 * One request of the per-request export (`/usage/requests`): the usage event as the ledger holds it.
 * `cost` is the stored numeric(28,12) as text (exact); `audioSeconds` is audio_ms / 1000 with 3 decimals.
 */
export interface UsageRequestRow {
  at: string;
  requestId: string;
  keyId: string;
  keyName: string | null;
  userId: string;
  username: string | null;
  modelId: string;
  endpoint: string | null;
  status: number;
  stream: boolean;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  audioSeconds: string;
  cost: string;
  estimated: boolean;
  errorCode: string | null;
  latencyMs: number;
}

/** `GET /usage/requests?format=json`: newest first; `truncated` when more than `limit` requests matched. */
export interface UsageRequests { from: string; to: string; limit: number; truncated: boolean; rows: UsageRequestRow[] }

export type UsageSplit = 'key' | 'model';
export type UsageResolution = 'day' | 'hour';

/** One series of a split time series: a key (with its owner, so two keys of one name read apart) or a model, or `other` (the rest). */
export interface UsageSeries {
  id: string;
  /** What a legend shows: the key's name (with its owner, then its prefix, when another series has the same name), the model, or "Other keys"/"Other models". */
  label: string;
  keyId?: string;
  keyName?: string | null;
  keyPrefix?: string | null;
  userId?: string;
  username?: string | null;
  modelId?: string;
  other?: boolean;
  totals: UsageTotals;
}

/**
 * One bucket (a UTC day or hour) of a time series. `t` is the bucket's start (ISO), `label` a plain
 * English label ("1 Dec" or "1 Dec 13:00 UTC"), `day` its UTC day. With a split, `values[i]` is
 * `series[i]`'s usage in this bucket (zeros included).
 */
export type UsagePoint = UsageTotals & { t: string; label: string; day: string; values?: UsageTotals[] };

export interface UsageTimeseries {
  from: string;
  to: string;
  resolution: UsageResolution;
  split: UsageSplit | null;
  points: UsagePoint[];
  series?: UsageSeries[];
  totals: UsageTotals;
}

export type RefusalReason = 'budget' | 'quota' | 'rate_limit' | 'model_not_allowed' | 'upstream_error' | 'other';
export type RefusalCounts = Record<RefusalReason, number>;

/** `GET …/usage/refusals`: refused or failed requests of a range, by reason (each with a label and what to do) and by key. */
export interface UsageRefusals {
  from: string;
  to: string;
  total: number;
  reasons: Array<{ reason: RefusalReason; label: string; hint: string; count: number }>;
  /** The recorded error codes behind the reasons, with their counts. */
  codes: Record<string, number>;
  keys: Array<{ keyId: string; keyName: string | null; keyPrefix: string | null; userId: string | null; username: string | null; total: number; counts: RefusalCounts }>;
}

/** One budget of a key's card: amounts exact (decimal strings in the configured currency); null budget = none. */
export interface BudgetScope { maxBudget: string | null; budgetPeriod: 'none' | 'daily' | 'weekly' | 'monthly'; periodStart: string | null; spend: string; remaining: string | null }

/**
 * `GET /api-keys/:id/budget`: what is left for the key (its own budget and its owner's, the smaller binds) and
 * whether it covers one request of the size its application sends (the cost the gateway reserves before
 * forwarding: recorded per request), with advice in plain English when it does not.
 */
export interface KeyBudget {
  keyId: string;
  key: BudgetScope;
  owner: BudgetScope & { id: string; name: string; team: boolean };
  remaining: string | null;
  limitedBy: 'key' | 'owner' | null;
  recent: { requests: number; withReservation: number; typicalReservation: string | null; largestReservation: string | null; refusedForBudget: number; since: string | null };
  contextReservation: { modelId: string; contextLength: number; cost: string } | null;
  cannotCoverTypical: boolean;
  cannotCoverLargest: boolean;
  cannotCoverContext: boolean;
  advice: string | null;
}

export type BannerSeverity = 'info' | 'warning' | 'danger';
/** An admin announcement; `html` is the markdown rendered safely by the server (no raw HTML, no images, http(s)/mailto links only). */
export interface Banner {
  id: string; markdown: string; html: string; severity: BannerSeverity;
  startsAt: string | null; endsAt: string | null; dismissible: boolean;
  /** Now, by the schedule: not yet started, showing, or over. */
  status: 'scheduled' | 'active' | 'ended';
  createdBy: string; createdAt: string; updatedAt: string;
}
/** POST /admin/banners (PATCH: any of them); startsAt/endsAt ISO instants, null = open-ended. */
export interface BannerInput { markdown: string; severity?: BannerSeverity; startsAt?: string | null; endsAt?: string | null; dismissible?: boolean }

export interface AuditEntry { id: string; at: string; actor: string; action: string; target: string | null; details: unknown }

export interface ModelTestResult { ok: boolean; status: number | null; latencyMs: number; message: string; reply?: string }

export type AdminTokenScope = 'admin' | 'admin-readonly' | 'team';
/** An admin API token as listed: never the token itself (`prefix` is `lmt_ab12…wxyz`). */
export interface AdminToken {
  id: string; name: string; prefix: string; scope: AdminTokenScope; teamId: string | null;
  createdBy: string; createdAt: string; expiresAt: string | null; revokedAt: string | null; lastUsedAt: string | null;
  status: 'active' | 'revoked' | 'expired';
}
/** Returned by create: the only time the token is shown. */
export type AdminTokenWithSecret = AdminToken & { token: string };
/** SMTP settings as GET shows them: the password never, only whether one is stored. */
export interface AlertEmailSettings {
  host: string; port: number; secure: boolean; user: string | null; from: string;
  /** Accept a server certificate that does not verify (a lab's self-signed SMTP server). */
  allowInvalidCertificate: boolean;
  passwordSet: boolean;
}
/** Budget alerts (src/notify): thresholds in percent of a budget, where webhooks and e-mail go. Secrets are write-only. */
export interface AlertSettings {
  thresholds: number[];
  webhookUrl: string | null;
  webhookSecretSet: boolean;
  email: AlertEmailSettings | null;
}
/** What PUT /admin/settings accepts for `alerts`: an omitted secret keeps the stored one, null clears it. */
export interface AlertSettingsInput {
  thresholds?: number[];
  webhookUrl?: string | null;
  webhookSecret?: string | null;
  /** Fields left out keep their stored values; host, port and from are needed the first time. */
  email?: (Partial<Omit<AlertEmailSettings, 'passwordSet' | 'user'>> & { user?: string | null; password?: string | null }) | null;
}

export type NotificationType = 'budget.threshold' | 'key.expiring' | 'subscription.decided';
/** One entry of the notification drawer. */
export interface Notification {
  id: string; type: NotificationType; title: string; body: string;
  data: Record<string, unknown>; createdAt: string; readAt: string | null;
}
export interface NotificationList { notifications: Notification[]; unread: number }

/** One webhook or e-mail send and its attempts (admin delivery log). */
export interface NotificationDelivery {
  id: string; channel: 'webhook' | 'email'; target: string; type: NotificationType;
  status: 'pending' | 'sent' | 'failed'; attempts: number; nextAttemptAt: string | null;
  lastError: string | null; createdAt: string; sentAt: string | null;
  log: Array<{ attempt: number; at: string; ok: boolean; statusCode: number | null; error: string | null; durationMs: number }>;
}
