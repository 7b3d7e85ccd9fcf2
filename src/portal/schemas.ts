/**
 * @module Request schemas shared by routes (TypeBox → ajv validation and
 * OpenAPI). Every bound here is a bound of the store: an integer column is
 * int4 (or int8 read as a JS number), money is numeric(28,12), text cannot
 * hold NUL. A value past them is the client's mistake, answered 400 with the
 * field named, never a database error answered 500.
 */
import { Type, type StringOptions, type TSchema } from '@sinclair/typebox';

/** PostgreSQL `integer`. */
export const INT4_MAX = 2_147_483_647;
/** `bigint` columns read back as JS numbers: past 2^53 they would not round-trip. */
export const INT8_SAFE_MAX = Number.MAX_SAFE_INTEGER;
/** numeric(28,12) holds 16 integer digits. */
export const MONEY_LIMIT = 1e16;
/** Key expiry in days from now (a Date past ±8.64e15 ms is invalid). */
export const MAX_DAYS = 36_500;

// ajv compiles patterns with the `u` flag: a class range over D800–DFFF then matches only a lone surrogate.
const SINGLE_LINE = '^[^\\u0000-\\u001F\\u007F\\uD800-\\uDFFF]*$';
const MULTI_LINE = '^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F\\uD800-\\uDFFF]*$';
const DECIMAL = '^\\d{1,16}(\\.\\d{1,12})?$';

/** What a failed pattern means, in words, for the error handler (ajv would print the regex). */
export const PATTERN_PROBLEMS: Record<string, string> = {
  [SINGLE_LINE]: 'must not contain control characters (or a broken UTF-16 surrogate)',
  [MULTI_LINE]: 'must not contain control characters other than tab and newline (or a broken UTF-16 surrogate)',
  [DECIMAL]: 'must be a decimal amount with at most 16 digits before and 12 after the point',
};

/** One-line text: names, ids, URLs, tokens, passwords. */
export const Line = (o: Omit<StringOptions, 'pattern'> = {}) => Type.String({ ...o, pattern: SINGLE_LINE });
/** Free text a person may break into lines: descriptions, reasons. */
export const Text = (o: Omit<StringOptions, 'pattern'> = {}) => Type.String({ ...o, pattern: MULTI_LINE });
export const Int4 = (minimum: number, maximum = INT4_MAX) => Type.Integer({ minimum, maximum });
export const Int8 = (minimum: number) => Type.Integer({ minimum, maximum: INT8_SAFE_MAX });
/** A money amount as a JSON number; whether it fits 12 decimals is checked exactly by services/money-input.ts. */
export const MoneyNumber = () => Type.Number({ minimum: 0, exclusiveMaximum: MONEY_LIMIT });

export const Id = Type.Object({ id: Line({ minLength: 1, maxLength: 200 }) });
export const BudgetPeriod = Type.Union([Type.Literal('none'), Type.Literal('daily'), Type.Literal('weekly'), Type.Literal('monthly')]);
export const Role = Type.Union([Type.Literal('admin'), Type.Literal('admin-readonly'), Type.Literal('user')]);
export const Money = Type.Union([MoneyNumber(), Type.String({ pattern: DECIMAL })]);
const nullable = <T extends TSchema>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));
export const Limits = {
  maxBudget: nullable(MoneyNumber()),
  budgetPeriod: Type.Optional(BudgetPeriod),
  rpm: nullable(Int4(1)),
  tpm: nullable(Int4(1)),
};

export const DeploymentBody = Type.Object({
  url: Line({ minLength: 1, maxLength: 2000 }),
  upstreamModel: Line({ minLength: 1, maxLength: 500 }),
  token: nullable(Line({ maxLength: 4000 })),
  weight: Type.Optional(Int4(1, 1000)),
  maxInFlight: nullable(Int4(1)),
  timeoutMs: Type.Optional(Int4(100, 3_600_000)),
  enabled: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

const ModelKind = Type.Union([Type.Literal('chat'), Type.Literal('completion'), Type.Literal('embedding'), Type.Literal('rerank'), Type.Literal('audio')]);
const modelFields = {
  description: nullable(Text({ maxLength: 4000 })),
  provider: nullable(Line({ maxLength: 200 })),
  kind: Type.Optional(ModelKind),
  contextLength: nullable(Int4(1)),
  features: Type.Optional(Type.Array(Line({ maxLength: 100 }), { maxItems: 50 })),
  inputPricePer1M: Money,
  outputPricePer1M: Money,
  /** Prompt tokens served from the prefix cache; null or absent: the input price. */
  cachedInputPricePer1M: nullable(Money),
  audioPricePerMinute: Type.Optional(Money),
  /** A fee per request on top of tokens and audio. */
  requestPrice: Type.Optional(Money),
  restricted: Type.Optional(Type.Boolean()),
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('deprecated')])),
  deployments: Type.Array(DeploymentBody, { minItems: 1, maxItems: 64 }),
};
export const ModelCreateBody = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9][A-Za-z0-9._:/-]*$' }),
  ...modelFields,
}, { additionalProperties: false });
export const ModelUpdateBody = Type.Object(modelFields, { additionalProperties: false });
export const ModelTestBody = Type.Object({
  url: Line({ minLength: 1, maxLength: 2000 }),
  upstreamModel: Line({ minLength: 1, maxLength: 500 }),
  token: nullable(Line({ maxLength: 4000 })),
  modelId: Type.Optional(Line({ maxLength: 200 })),
  kind: Type.Optional(ModelKind),
}, { additionalProperties: false });

const Password = Line({ maxLength: 200 });
const personFields = {
  email: nullable(Line({ maxLength: 320 })),
  displayName: nullable(Line({ maxLength: 200 })),
  roles: Type.Optional(Type.Array(Role, { minItems: 1, maxItems: 3 })),
  ...Limits,
};
export const UserCreateBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._@-]+$' }),
  password: Type.Optional(Password),
  ...personFields,
}, { additionalProperties: false });
export const UserPatchBody = Type.Object({
  password: Type.Optional(Password),
  disabled: Type.Optional(Type.Boolean()),
  ...personFields,
}, { additionalProperties: false });
export const LoginBody = Type.Object({
  username: Line({ minLength: 1, maxLength: 100 }),
  password: Line({ minLength: 1, maxLength: 200 }),
}, { additionalProperties: false });

const SubscriptionStatus = Type.Union(['active', 'pending', 'denied', 'suspended', 'cancelled'].map((s) => Type.Literal(s)));
const Reason = Text({ maxLength: 2000 });
export const SubscriptionRequestBody = Type.Object({ modelId: Line({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
export const SubscriptionBody = Type.Object({
  modelId: Line({ minLength: 1, maxLength: 200 }),
  quotaRequests: nullable(Int8(0)),
  quotaTokens: nullable(Int8(0)),
}, { additionalProperties: false });
export const SubscriptionPatchBody = Type.Object({
  status: Type.Optional(SubscriptionStatus),
  quotaRequests: nullable(Int8(0)),
  quotaTokens: nullable(Int8(0)),
  reason: nullable(Reason),
}, { additionalProperties: false });
export const SubscriptionsQuery = Type.Object({ status: Type.Optional(SubscriptionStatus) });
export const ApproveBody = Type.Object({ reason: nullable(Reason) }, { additionalProperties: false });
export const DenyBody = Type.Object({ reason: Text({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false });

const ModelLimitBody = Type.Object({ rpm: nullable(Int4(1)), tpm: nullable(Int4(1)), maxBudget: nullable(MoneyNumber()), budgetPeriod: Type.Optional(BudgetPeriod) }, { additionalProperties: false });
const keyFields = {
  name: Line({ minLength: 1, maxLength: 100 }),
  /** Per-model limits: { "<model id>": { rpm, tpm, maxBudget, budgetPeriod } }, each checked besides the key's own. */
  modelLimits: nullable(Type.Record(Type.String({ minLength: 1, maxLength: 200 }), ModelLimitBody, { maxProperties: 100 })),
  description: nullable(Text({ maxLength: 1000 })),
  models: Type.Array(Line({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 100 }),
  softBudget: nullable(MoneyNumber()),
  maxParallel: nullable(Int4(1)),
  expiresAt: nullable(Type.String({ format: 'date-time', maxLength: 64 })),
  ...Limits,
};
export const KeyCreateBody = Type.Object(keyFields, { additionalProperties: false });
/** A person's key charged to one of their teams: the team's key, its budget and limits apply. */
export const MyKeyCreateBody = Type.Object({ ...keyFields, teamId: nullable(Line({ minLength: 1, maxLength: 200 })) }, { additionalProperties: false });
export const KeyPatchBody = Type.Partial(Type.Object(keyFields), { additionalProperties: false });

const intOrNull = Type.Union([Int4(1), Type.Null()]);
const daysOrNull = Type.Union([Int4(1, MAX_DAYS), Type.Null()]);
const moneyOrNull = Type.Union([MoneyNumber(), Type.Null()]);
const orNull = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Opt = Type.Optional;
/** Budget alerts (src/notify). Like every section, a field left out keeps its stored value; a secret set to null is removed. */
export const AlertSettingsBody = Type.Object({
  thresholds: Opt(Type.Array(Type.Integer({ minimum: 1, maximum: 1000 }), { minItems: 1, maxItems: 10 })),
  webhookUrl: Opt(orNull(Line({ maxLength: 2000 }))),
  webhookSecret: Opt(orNull(Line({ maxLength: 500 }))),
  email: Opt(orNull(Type.Object({
    host: Opt(Line({ minLength: 1, maxLength: 253 })), port: Opt(Type.Integer({ minimum: 1, maximum: 65535 })),
    secure: Opt(Type.Boolean()), user: Opt(orNull(Line({ maxLength: 320 }))),
    password: Opt(orNull(Line({ maxLength: 500 }))), from: Opt(Line({ minLength: 3, maxLength: 320 })),
    allowInvalidCertificate: Opt(Type.Boolean()),
  }, { additionalProperties: false }))),
}, { additionalProperties: false });
/** A section, or a field of one, left out keeps its stored value (automation may PUT only `alerts`). */
export const SettingsBody = Type.Object({
  currency: Opt(Type.String({ minLength: 3, maxLength: 3 })),
  keyDefaults: Opt(Type.Partial(Type.Object({ budgetPeriod: BudgetPeriod, maxBudget: moneyOrNull, rpm: intOrNull, tpm: intOrNull, expiresInDays: daysOrNull }), { additionalProperties: false })),
  keyMaximums: Opt(Type.Partial(Type.Object({ maxBudget: moneyOrNull, rpm: intOrNull, tpm: intOrNull, expiresInDays: daysOrNull }), { additionalProperties: false })),
  alerts: Opt(AlertSettingsBody),
  teams: Opt(Type.Object({ selfService: Type.Boolean() }, { additionalProperties: false })),
  brand: Opt(Type.Object({
    productName: Opt(Line({ minLength: 1, maxLength: 60 })),
    primaryColor: Opt(Line({ maxLength: 7, description: '#rgb or #rrggbb' })),
    logoDataUrl: Opt(orNull(Type.String({ maxLength: 300_000, description: 'data:image/png|jpeg|svg+xml;base64,… (at most 200 KB decoded)' }))),
    favicon: Opt(orNull(Type.String({ maxLength: 300_000, description: 'data:image/png|svg+xml|x-icon|jpeg;base64,… (at most 200 KB decoded)' }))),
  }, { additionalProperties: false })),
}, { additionalProperties: false });

const BannerFields = {
  markdown: Text({ minLength: 1, maxLength: 5000, description: 'CommonMark; raw HTML is shown as text, images are not rendered, links only http(s) and mailto' }),
  severity: Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('danger')]),
  startsAt: orNull(Line({ maxLength: 40, description: 'ISO 8601 instant; null or absent: now' })),
  endsAt: orNull(Line({ maxLength: 40, description: 'ISO 8601 instant; null or absent: until removed' })),
  dismissible: Type.Boolean(),
};
export const BannerBody = Type.Object({
  markdown: BannerFields.markdown, severity: Opt(BannerFields.severity), startsAt: Opt(BannerFields.startsAt), endsAt: Opt(BannerFields.endsAt), dismissible: Opt(BannerFields.dismissible),
}, { additionalProperties: false });
export const BannerPatchBody = Type.Partial(Type.Object(BannerFields), { additionalProperties: false, minProperties: 1 });

export const TeamCreateBody = Type.Object({
  name: Line({ minLength: 1, maxLength: 100 }),
  description: nullable(Text({ maxLength: 1000 })),
  ...Limits,
}, { additionalProperties: false });
export const TeamPatchBody = Type.Partial(Type.Object({
  name: Line({ minLength: 1, maxLength: 100 }),
  description: nullable(Text({ maxLength: 1000 })),
  disabled: Type.Boolean(),
  ...Limits,
}), { additionalProperties: false });
export const TeamMemberBody = Type.Object({
  /** The person's id, or their username (what an owner knows). */
  userId: Type.Optional(Line({ minLength: 1, maxLength: 200 })),
  username: Type.Optional(Line({ minLength: 1, maxLength: 320 })),
  role: Type.Optional(Type.Union([Type.Literal('owner'), Type.Literal('member')])),
}, { additionalProperties: false });
export const TeamMemberParams = Type.Object({ id: Line({ minLength: 1, maxLength: 200 }), userId: Line({ minLength: 1, maxLength: 200 }) });

// Lists go into SQL `in (…)`: the length bounds the number of parameters far below PostgreSQL's 65 535.
const IdList = (what: string) => Line({ maxLength: 8000, description: `comma-separated ${what}` });
export const UsageQuerystring = Type.Object({
  from: Type.Optional(Line({ maxLength: 10, description: 'YYYY-MM-DD' })),
  to: Type.Optional(Line({ maxLength: 10, description: 'YYYY-MM-DD' })),
  groupBy: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('model'), Type.Literal('key'), Type.Literal('user'), Type.Literal('team')])),
  models: Type.Optional(IdList('model ids')),
  keys: Type.Optional(IdList('key ids')),
  userId: Type.Optional(Line({ maxLength: 200 })),
}, { additionalProperties: false });

export const AuditQuery = Type.Object({
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$' })),
  before: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$' })),
  action: Type.Optional(Line({ maxLength: 100 })),
  actor: Type.Optional(Line({ maxLength: 200 })),
  target: Type.Optional(Line({ maxLength: 200 })),
}, { additionalProperties: false });

/** The longest grace a rotated key's previous secret may keep working: a week. */
export const MAX_GRACE_SECONDS = 7 * 24 * 3600;
/** `POST …/api-keys/:id/rotate`: the body is optional (no grace: the old secret stops at once). */
export const KeyRotateBody = Type.Union([
  Type.Object({ graceSeconds: Type.Optional(Int4(0, MAX_GRACE_SECONDS)) }, { additionalProperties: false }),
  Type.Null(),
]);
