/**
 * @module Request schemas shared by routes (TypeBox → ajv validation and OpenAPI).
 */
import { Type, type TSchema } from '@sinclair/typebox';

export const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });
export const BudgetPeriod = Type.Union([Type.Literal('none'), Type.Literal('daily'), Type.Literal('weekly'), Type.Literal('monthly')]);
export const Role = Type.Union([Type.Literal('admin'), Type.Literal('admin-readonly'), Type.Literal('user')]);
export const Money = Type.Union([Type.Number({ minimum: 0 }), Type.String({ pattern: '^\\d+(\\.\\d+)?$' })]);
const nullable = <T extends TSchema>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));
export const Limits = {
  maxBudget: Type.Optional(Type.Union([Type.Number({ minimum: 0 }), Type.Null()])),
  budgetPeriod: Type.Optional(BudgetPeriod),
  rpm: nullable(Type.Integer({ minimum: 1 })),
  tpm: nullable(Type.Integer({ minimum: 1 })),
};

export const DeploymentBody = Type.Object({
  url: Type.String({ minLength: 1, maxLength: 2000 }),
  upstreamModel: Type.String({ minLength: 1, maxLength: 500 }),
  token: Type.Optional(Type.Union([Type.String({ maxLength: 4000 }), Type.Null()])),
  weight: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  maxInFlight: nullable(Type.Integer({ minimum: 1 })),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 })),
  enabled: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

const modelFields = {
  description: Type.Optional(Type.Union([Type.String({ maxLength: 4000 }), Type.Null()])),
  provider: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
  kind: Type.Optional(Type.Union([Type.Literal('chat'), Type.Literal('completion'), Type.Literal('embedding')])),
  contextLength: nullable(Type.Integer({ minimum: 1 })),
  features: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 50 })),
  inputPricePer1M: Money,
  outputPricePer1M: Money,
  restricted: Type.Optional(Type.Boolean()),
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('deprecated')])),
  deployments: Type.Array(DeploymentBody, { minItems: 1, maxItems: 64 }),
};
export const ModelCreateBody = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9][A-Za-z0-9._:/-]*$' }),
  ...modelFields,
}, { additionalProperties: false });
export const ModelUpdateBody = Type.Object(modelFields, { additionalProperties: false });

export const UserCreateBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._@-]+$' }),
  password: Type.Optional(Type.String({ maxLength: 200 })),
  email: Type.Optional(Type.Union([Type.String({ maxLength: 320 }), Type.Null()])),
  displayName: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
  roles: Type.Optional(Type.Array(Role, { minItems: 1, maxItems: 3 })),
  ...Limits,
}, { additionalProperties: false });
export const UserPatchBody = Type.Object({
  password: Type.Optional(Type.String({ maxLength: 200 })),
  email: Type.Optional(Type.Union([Type.String({ maxLength: 320 }), Type.Null()])),
  displayName: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
  roles: Type.Optional(Type.Array(Role, { minItems: 1, maxItems: 3 })),
  disabled: Type.Optional(Type.Boolean()),
  ...Limits,
}, { additionalProperties: false });

export const SubscriptionBody = Type.Object({
  modelId: Type.String({ minLength: 1, maxLength: 200 }),
  quotaRequests: nullable(Type.Integer({ minimum: 0 })),
  quotaTokens: nullable(Type.Integer({ minimum: 0 })),
}, { additionalProperties: false });
export const SubscriptionPatchBody = Type.Object({
  status: Type.Optional(Type.Union(['active', 'pending', 'denied', 'suspended', 'cancelled'].map((s) => Type.Literal(s)))),
  quotaRequests: nullable(Type.Integer({ minimum: 0 })),
  quotaTokens: nullable(Type.Integer({ minimum: 0 })),
  reason: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
}, { additionalProperties: false });

const keyFields = {
  name: Type.String({ minLength: 1, maxLength: 100 }),
  description: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])),
  models: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 100 }),
  softBudget: Type.Optional(Type.Union([Type.Number({ minimum: 0 }), Type.Null()])),
  maxParallel: nullable(Type.Integer({ minimum: 1 })),
  expiresAt: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
  ...Limits,
};
export const KeyCreateBody = Type.Object(keyFields, { additionalProperties: false });
export const KeyPatchBody = Type.Partial(Type.Object(keyFields), { additionalProperties: false });

export const UsageQuerystring = Type.Object({
  from: Type.Optional(Type.String()),
  to: Type.Optional(Type.String()),
  groupBy: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('model'), Type.Literal('key'), Type.Literal('user')])),
  models: Type.Optional(Type.String({ description: 'comma-separated model ids' })),
  keys: Type.Optional(Type.String({ description: 'comma-separated key ids' })),
  userId: Type.Optional(Type.String()),
}, { additionalProperties: false });
