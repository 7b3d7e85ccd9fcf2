/**
 * @module Authorise a request: the model exists, is in the key's scope and
 * has an active subscription; rpm/tpm/parallel limits of the key and its
 * owner; then reserve the request's maximum cost and tokens against budgets
 * and quotas. Each check throws the OpenAI-format error a client expects.
 */
import type { RateLimiter } from '../ledger/limits.js';
import type { Reservation, SpendTracker } from '../ledger/budgets.js';
import { GatewayError } from './errors.js';
import type { ClientRequest } from './request.js';
import type { KeyEntry, ModelEntry, Snapshot, SubscriptionEntry } from './snapshot.js';

const DEFAULT_MAX_COMPLETION = 4096;

export function authorizeModel(key: KeyEntry, modelId: string, snap: Snapshot): { model: ModelEntry; sub: SubscriptionEntry } {
  const model = snap.models.get(modelId);
  if (!model) throw new GatewayError('model_not_found', `The model '${modelId}' does not exist.`, 'model');
  if (!key.models.has(model.id)) throw new GatewayError('model_not_allowed', `This API key is not allowed to use the model '${modelId}'.`, 'model');
  const sub = snap.subscriptions.get(`${key.user.id}|${model.id}`);
  if (!sub || sub.status !== 'active') {
    throw new GatewayError('model_not_allowed', `There is no active subscription to the model '${modelId}' (${sub ? `subscription is ${sub.status}` : 'not subscribed'}).`, 'model');
  }
  return { model, sub };
}

/** Checks rpm/tpm of the key and its owner and takes a parallel slot; returns whether a slot was taken. */
export function admitRate(limiter: RateLimiter, key: KeyEntry, now = Date.now()): boolean {
  const checks = [
    { id: `rpm:k:${key.id}`, limit: key.rpm, what: 'requests per minute for this key' },
    { id: `rpm:u:${key.user.id}`, limit: key.user.rpm, what: "requests per minute for this key's owner" },
  ];
  for (const c of checks) {
    if (c.limit !== null && limiter.used(c.id, now) + 1 > c.limit) {
      throw new GatewayError('rate_limit_exceeded', `Rate limit reached: ${c.limit} ${c.what}.`, null, limiter.retryAfter(c.id, c.limit, 1, now));
    }
  }
  for (const c of [{ id: `tpm:k:${key.id}`, limit: key.tpm, what: 'tokens per minute for this key' }, { id: `tpm:u:${key.user.id}`, limit: key.user.tpm, what: "tokens per minute for this key's owner" }]) {
    if (c.limit !== null && limiter.used(c.id, now) >= c.limit) {
      throw new GatewayError('rate_limit_exceeded', `Rate limit reached: ${c.limit} ${c.what}.`, null, limiter.retryAfter(c.id, c.limit, 1, now));
    }
  }
  if (key.maxParallel !== null && !limiter.acquire(key.id, key.maxParallel)) {
    throw new GatewayError('rate_limit_exceeded', `Rate limit reached: at most ${key.maxParallel} requests in flight for this key.`, null, 1);
  }
  for (const c of checks) limiter.add(c.id, 1, now);
  return key.maxParallel !== null;
}

export function reserve(spend: SpendTracker, key: KeyEntry, model: ModelEntry, sub: SubscriptionEntry, req: ClientRequest, now = new Date()): Reservation {
  const completion = req.endpoint === 'embeddings' ? 0
    : req.maxTokens ?? (model.contextLength ? Math.max(1, model.contextLength - Math.min(req.promptGuess, model.contextLength - 1)) : DEFAULT_MAX_COMPLETION);
  const cost = BigInt(req.promptBound) * model.inPerToken + BigInt(completion) * model.outPerToken;
  const r = spend.reserve({
    keyId: key.id, userId: key.user.id, modelId: model.id, cost, tokens: req.promptBound + completion,
    keyBudget: key.maxBudget === null ? null : { max: key.maxBudget, period: key.budgetPeriod },
    userBudget: key.user.maxBudget === null ? null : { max: key.user.maxBudget, period: key.user.budgetPeriod },
    quotaRequests: sub.quotaRequests, quotaTokens: sub.quotaTokens,
  }, now);
  if (!r.ok) throw new GatewayError(r.code, r.message, null, r.retryAfter);
  return r.reservation;
}
