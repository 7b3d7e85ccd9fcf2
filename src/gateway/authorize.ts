/**
 * @module Authorise a request: the model exists, is in the key's scope and
 * has an active subscription; rpm/tpm/parallel limits of the key and its
 * owner; then reserve the request's maximum cost and tokens against budgets
 * and quotas (whose counters the caller has had read: SpendTracker.need).
 * Each check throws the OpenAI-format error a client expects.
 */
import type { Hold, RateLimiter } from '../ledger/limits.js';
import type { Reservation, ReserveInput, SpendTracker } from '../ledger/budgets.js';
import { sanitize } from '../shared/sanitize.js';
import { GatewayError } from './errors.js';
import type { Bounds } from './request.js';
import { priceUsage } from '../ledger/meter.js';
import { isTeam, type KeyEntry, type ModelEntry, type Snapshot, type SubscriptionEntry } from './snapshot.js';

export function authorizeModel(key: KeyEntry, modelId: string, snap: Snapshot): { model: ModelEntry; sub: SubscriptionEntry } {
  const model = snap.models.get(modelId);
  // The name is the client's: echoed bounded and cleaned, like everything recorded from it.
  if (!model) throw new GatewayError('model_not_found', `The model '${sanitize(modelId)}' does not exist.`, 'model');
  if (!key.models.has(model.id)) throw new GatewayError('model_not_allowed', `This API key is not allowed to use the model '${modelId}'.`, 'model');
  const sub = snap.subscriptions.get(`${key.user.id}|${model.id}`);
  if (!sub || sub.status !== 'active') {
    throw new GatewayError('model_not_allowed', `There is no active subscription to the model '${modelId}' (${sub ? `subscription is ${sub.status}` : 'not subscribed'}).`, 'model');
  }
  return { model, sub };
}

/** The tpm windows a key's requests count in: its own and its owner's. */
const tpmWindows = (key: KeyEntry): [string, string] => [`tpm:k:${key.id}`, `tpm:u:${key.user.id}`];

/** What admission took: a parallel slot and token holds against the tpm windows, given back by `settleRate`. */
export interface RateAdmission { slot: boolean; holds: Array<{ id: string; hold: Hold }> }

/**
 * Checks rpm/tpm of the key and its owner and takes a parallel slot. A request
 * holds its token bound (at most the whole limit, so one oversized request can
 * run in an empty minute) against each tpm window until it settles, so
 * concurrent requests cannot overshoot tpm by more than one request.
 */
export function admitRate(limiter: RateLimiter, key: KeyEntry, tokenBound: number, now = Date.now()): RateAdmission {
  const checks = [
    { id: `rpm:k:${key.id}`, limit: key.rpm, what: 'requests per minute for this key' },
    { id: `rpm:u:${key.user.id}`, limit: key.user.rpm, what: `requests per minute for this key's ${isTeam(key.user) ? 'team' : 'owner'}` },
  ];
  for (const c of checks) {
    if (c.limit !== null && limiter.used(c.id, now) + 1 > c.limit) {
      throw new GatewayError('rate_limit_exceeded', `Rate limit reached: ${c.limit} ${c.what}.`, null, limiter.retryAfter(c.id, c.limit, 1, now));
    }
  }
  const [tpmKey, tpmUser] = tpmWindows(key);
  const tpm = [{ id: tpmKey, limit: key.tpm, what: 'tokens per minute for this key' }, { id: tpmUser, limit: key.user.tpm, what: `tokens per minute for this key's ${isTeam(key.user) ? 'team' : 'owner'}` }];
  for (const c of tpm) {
    if (c.limit === null) continue;
    const need = Math.min(tokenBound, c.limit);
    if (limiter.used(c.id, now) + limiter.held(c.id) + need > c.limit) {
      throw new GatewayError('rate_limit_exceeded', `Rate limit reached: ${c.limit} ${c.what} (this request may use up to ${tokenBound}; lower max_tokens to fit sooner).`, null, limiter.retryAfter(c.id, c.limit, need, now));
    }
  }
  if (key.maxParallel !== null && !limiter.acquire(key.id, key.maxParallel)) {
    throw new GatewayError('rate_limit_exceeded', `Rate limit reached: at most ${key.maxParallel} requests in flight for this key.`, null, 1, 'max_parallel');
  }
  for (const c of checks) limiter.add(c.id, 1, now);
  const holds: RateAdmission['holds'] = [];
  for (const c of tpm) if (c.limit !== null) holds.push({ id: c.id, hold: limiter.hold(c.id, Math.min(tokenBound, c.limit)) });
  return { slot: key.maxParallel !== null, holds };
}

/** Gives back what admitRate took; the tpm windows count the request's actual tokens instead of its bound. */
export function settleRate(limiter: RateLimiter, key: KeyEntry, a: RateAdmission, actualTokens: number, now = Date.now()): void {
  if (a.slot) limiter.releaseSlot(key.id);
  // Windows without a limit still count, so a limit set later starts from the truth.
  for (const id of tpmWindows(key)) {
    const h = a.holds.find((x) => x.id === id);
    if (h) limiter.settle(id, h.hold, actualTokens, now);
    else if (actualTokens > 0) limiter.add(id, actualTokens, now);
  }
}

/** The most a request can cost: its bounds at the model's prices (a cached prompt token never costs more than an uncached one is assumed nowhere: the dearer of the two is reserved). */
export function maxCost(model: ModelEntry, bounds: Bounds): bigint {
  const dearer = model.cachedPerToken > model.inPerToken ? model.cachedPerToken : model.inPerToken;
  return priceUsage({ promptTokens: bounds.prompt, completionTokens: bounds.completion, audioMs: bounds.audioMs }, { ...model, inPerToken: dearer });
}

/** What a request reserves and the limits it is checked against; a null limit is not checked (nor its counters read). */
export function reserveInput(key: KeyEntry, model: ModelEntry, sub: SubscriptionEntry, bounds: Bounds): ReserveInput {
  return {
    keyId: key.id, userId: key.user.id, modelId: model.id, cost: maxCost(model, bounds), tokens: bounds.prompt + bounds.completion,
    keyBudget: key.maxBudget === null ? null : { max: key.maxBudget, period: key.budgetPeriod }, ownerLabel: isTeam(key.user) ? 'team' : 'user',
    userBudget: key.user.maxBudget === null ? null : { max: key.user.maxBudget, period: key.user.budgetPeriod },
    quotaRequests: sub.quotaRequests, quotaTokens: sub.quotaTokens,
  };
}

/** The 503 of a request whose budget or quota counters could not be read (they know nothing of earlier spend: refuse rather than overspend). */
export function budgetsUnavailable(retryAfter = 5, message = 'Budgets cannot be checked while the database is unreachable; retry shortly.'): GatewayError {
  return new GatewayError('budgets_unavailable', message, null, retryAfter);
}

/** Checks and reserves against counters already read (SpendTracker.need answered null), or throws the 429 a client sees. */
export function reserve(spend: SpendTracker, i: ReserveInput, now = new Date()): Reservation {
  const r = spend.reserve(i, now);
  if (!r.ok) throw new GatewayError(r.code, r.message, null, r.retryAfter);
  return r.reservation;
}
