/**
 * @module A key's budget card: what is left in the period (the key's budget
 * and its owner's — a person's or a team's), and whether that covers one
 * request of the size the key's application sends. The gateway reserves a
 * request's maximum cost before forwarding it (prompt estimate plus
 * max_tokens, or the model's whole context when max_tokens is absent) and
 * records that reservation on the usage event (`reserved_cost`, migration
 * 013), refused requests included; the card reads the key's last 100 events
 * through usage_events(key_id, at). Before any request, the worst case is a
 * request without max_tokens on the key's dearest model: its context at its
 * dearer price.
 */
import { sql, type Kysely } from 'kysely';
import type { ApiKeyRow, BudgetPeriod, Database } from '../../store/schema.js';
import type { KeyBudget } from '../../shared/api-types.js';
import { periodStart } from '../../ledger/budgets.js';
import { fromPico, toPico } from '../../shared/money.js';
import { creditedSpend, periodSpend } from './spend-reset.js';

export const RECENT_REQUESTS = 100;

type Scope = KeyBudget['key'];

function scope(max: string | null, period: BudgetPeriod, spend: string, now: Date): Scope {
  const remaining = max === null ? null : fromPico(toPico(max) > toPico(spend) ? toPico(max) - toPico(spend) : 0n);
  return { maxBudget: max === null ? null : fromPico(toPico(max)), budgetPeriod: period, periodStart: periodStart(period, now), spend, remaining };
}

/** The median and the largest of exact amounts, as exact strings. */
function stats(values: bigint[]): { typical: string | null; largest: string | null } {
  if (!values.length) return { typical: null, largest: null };
  const v = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { typical: fromPico(v[Math.floor((v.length - 1) / 2)]!), largest: fromPico(v[v.length - 1]!) };
}

export async function keyBudget(db: Kysely<Database>, k: ApiKeyRow, now = new Date()): Promise<KeyBudget> {
  const owner = await db.selectFrom('users as u').leftJoin('teams as t', 't.id', 'u.id')
    .select(['u.id', 'u.username', 't.name as team_name', 'u.max_budget', 'u.budget_period', 'u.spend_credit', 'u.spend_credit_until'])
    .where('u.id', '=', k.user_id).executeTakeFirstOrThrow();
  const keyScope = scope(k.max_budget, k.budget_period, creditedSpend(await periodSpend(db, 'key_id', k.id, k.budget_period, now), k, now.getTime()), now);
  const ownerScope = scope(owner.max_budget, owner.budget_period, creditedSpend(await periodSpend(db, 'user_id', owner.id, owner.budget_period, now), owner, now.getTime()), now);
  const lefts = [keyScope.remaining, ownerScope.remaining].filter((x): x is string => x !== null).map(toPico);
  const remaining = lefts.length ? fromPico(lefts.reduce((a, b) => (a < b ? a : b))) : null;

  const recent = await db.selectFrom('usage_events').select(['at', sql<string | null>`reserved_cost::text`.as('reserved'), 'error_code'])
    .where('key_id', '=', k.id).orderBy('at', 'desc').limit(RECENT_REQUESTS).execute();
  const reserved = recent.filter((r) => r.reserved !== null).map((r) => toPico(r.reserved!));
  const { typical, largest } = stats(reserved);
  const refusedForBudget = recent.filter((r) => r.error_code === 'budget_exceeded').length;
  // A request without max_tokens reserves the model's whole context: the worst case before any request is seen.
  const worst = k.models.length ? await db.selectFrom('models')
    .select(['id', 'context_length', sql<string | null>`(context_length * greatest(input_price_per_1m, output_price_per_1m) / 1000000)::numeric(28,12)::text`.as('cost')])
    .where('id', 'in', k.models).where('context_length', 'is not', null).execute() : [];
  const dearest = worst.filter((w) => w.cost !== null).sort((a, b) => (toPico(b.cost!) > toPico(a.cost!) ? 1 : -1))[0];
  const contextReservation = dearest ? { modelId: dearest.id, contextLength: dearest.context_length!, cost: fromPico(toPico(dearest.cost!)) } : null;

  const left = remaining === null ? null : toPico(remaining);
  const cannotCoverTypical = left !== null && typical !== null && left < toPico(typical);
  const cannotCoverLargest = left !== null && largest !== null && left < toPico(largest);
  const cannotCoverContext = left !== null && contextReservation !== null && left < toPico(contextReservation.cost);
  const which = keyScope.remaining !== null && (ownerScope.remaining === null || toPico(keyScope.remaining) <= toPico(ownerScope.remaining)) ? 'key' : 'owner';
  const ownerName = owner.team_name ? `team ${owner.team_name}` : owner.username;
  const raise = which === 'key' ? "raise the key's budget" : `raise ${owner.team_name ? "the team's" : 'the owner\'s'} budget (${ownerName})`;
  let advice: string | null = null;
  if (cannotCoverTypical) {
    advice = `What is left (${remaining}) cannot cover one typical request of this key (it reserves ${typical} before it is sent, from its max_tokens or, without it, the model's whole context): requests will be refused with budget_exceeded. Lower max_tokens in the application, or ${raise}${keyScope.periodStart ? ', or wait for the next period' : ''}.`;
  } else if (cannotCoverLargest) {
    advice = `What is left (${remaining}) covers a typical request but not the largest this key sent recently (${largest}): set a lower max_tokens on the large requests, or ${raise}.`;
  } else if (typical === null && cannotCoverContext) {
    advice = `What is left (${remaining}) cannot cover a request without max_tokens on ${contextReservation!.modelId} (its whole context reserves ${contextReservation!.cost}): send max_tokens with each request, or ${raise}.`;
  }
  return {
    keyId: k.id, key: keyScope, owner: { ...ownerScope, id: owner.id, name: ownerName, team: owner.team_name !== null },
    remaining, limitedBy: remaining === null ? null : which,
    recent: { requests: recent.length, withReservation: reserved.length, typicalReservation: typical, largestReservation: largest, refusedForBudget, since: recent.length ? new Date(recent[recent.length - 1]!.at).toISOString() : null },
    contextReservation, cannotCoverTypical, cannotCoverLargest, cannotCoverContext, advice,
  };
}
