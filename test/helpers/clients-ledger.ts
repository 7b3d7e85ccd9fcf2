/**
 * What the ledger billed, for the client tests: each key's usage_events read
 * straight from the database after the ledger has drained, a call at a time,
 * and the exact cost the model's prices give for the tokens a client saw.
 */
import type { Selectable } from 'kysely';
import type { UsageEventsTable } from '../../src/store/schema.js';
import { fromPico, pricePerTokenPico, toPico } from '../../src/shared/money.js';
import { MODEL, PRICES, settle, type System } from './system.js';

export const CACHED_PRICE = '0.075';

export type UsageEvent = Selectable<UsageEventsTable>;

/** Tokens as a client read them: prompt includes its cached part. */
export interface SeenUsage { prompt: number; completion: number; cached: number }

/** The test model, with a cached-input price, created before `provision` would create it without one. */
export async function createPricedModel(sys: System): Promise<void> {
  const r = await sys.admin('POST', '/admin/models', {
    id: MODEL, ...PRICES, cachedInputPricePer1M: CACHED_PRICE, contextLength: 8192,
    deployments: [{ url: `${sys.sim.url}/v1`, upstreamModel: 'llama32-fp8' }],
  });
  if (r.status !== 201) throw new Error(`model: ${r.status} ${JSON.stringify(r.body)}`);
  const back = await sys.admin('GET', `/admin/models/${MODEL}`);
  if (Number(back.body?.cachedInputPricePer1M) !== Number(CACHED_PRICE)) throw new Error(`cached price not kept: ${JSON.stringify(back.body)}`);
}

/** ((prompt − cached)·input + cached·cached price + completion·output) per 1M, as the store's 12-decimal string. */
export function expectedCost(u: SeenUsage): string {
  const pico = BigInt(u.prompt - u.cached) * pricePerTokenPico(PRICES.inputPricePer1M)
    + BigInt(u.cached) * pricePerTokenPico(CACHED_PRICE)
    + BigInt(u.completion) * pricePerTokenPico(PRICES.outputPricePer1M);
  return fromPico(pico);
}

/** A cost as the database returned it (numeric as string, or a number), normalised to 12 decimals. */
export const costOf = (e: UsageEvent): string => fromPico(toPico(String(e.cost)));

/** Reads a key's events one call at a time: `next` returns the events written since the last read. */
export class Ledger {
  private readonly seen = new Set<string>();
  constructor(private readonly sys: System) {}

  async next(keyId: string): Promise<UsageEvent[]> {
    await settle(this.sys);
    const rows = await this.sys.server.store.db.selectFrom('usage_events').selectAll().where('key_id', '=', keyId).orderBy('at').execute();
    const fresh = rows.filter((r) => !this.seen.has(r.id));
    for (const r of fresh) this.seen.add(r.id);
    return fresh;
  }

  /** The one event a single call wrote. */
  async one(keyId: string): Promise<UsageEvent> {
    const rows = await this.next(keyId);
    if (rows.length !== 1) throw new Error(`expected one new usage event for key ${keyId}, found ${rows.length}: ${JSON.stringify(rows)}`);
    return rows[0]!;
  }
}

/** The billed side of an event, in the shape `SeenUsage` has, with its cost: compared whole with `toEqual`. */
export function billedOf(e: UsageEvent): SeenUsage & { endpoint: string | null; cost: string; estimated: boolean; status: number } {
  return { endpoint: e.endpoint, status: e.status, prompt: e.prompt_tokens, completion: e.completion_tokens, cached: e.cached_tokens, cost: costOf(e), estimated: e.estimated };
}

/** What an event must be for a call whose client saw `u` on `endpoint`. */
export function billedFor(endpoint: string, u: SeenUsage): ReturnType<typeof billedOf> {
  return { endpoint, status: 200, ...u, cost: expectedCost(u), estimated: false };
}
