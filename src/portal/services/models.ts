/**
 * @module Models and their deployments. Upstream tokens are stored
 * AES-GCM-encrypted and never returned: a view says only whether one is set.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, DeploymentRow, ModelRow } from '../../store/schema.js';
import type { Cipher } from '../../shared/secrets.js';
import { toPico } from '../../shared/money.js';
import { ApiError, invalid, notFound } from '../errors.js';
import { moneyInput } from './money-input.js';
import type { AdminModel, Model, ModelInfo, ModelKind } from '../../shared/api-types.js';

export interface DeploymentInput { url: string; upstreamModel: string; token?: string | null; weight?: number; maxInFlight?: number | null; timeoutMs?: number; enabled?: boolean }
export interface ModelInput {
  id: string; description?: string | null; provider?: string | null; kind?: ModelKind;
  contextLength?: number | null; features?: string[]; inputPricePer1M: number | string; outputPricePer1M: number | string;
  cachedInputPricePer1M?: number | string | null; audioPricePerMinute?: number | string; requestPrice?: number | string;
  restricted?: boolean; status?: 'active' | 'deprecated'; deployments: DeploymentInput[];
}

export function modelInfo(m: ModelRow): ModelInfo {
  return {
    id: m.id, description: m.description, provider: m.provider, kind: m.kind, contextLength: m.context_length,
    features: m.features, inputPricePer1M: Number(m.input_price_per_1m), outputPricePer1M: Number(m.output_price_per_1m),
    cachedInputPricePer1M: m.cached_input_price_per_1m === null ? null : Number(m.cached_input_price_per_1m),
    audioPricePerMinute: Number(m.audio_price_per_minute), requestPrice: Number(m.request_price),
    restricted: m.restricted, status: m.status, createdAt: new Date(m.created_at).toISOString(),
  };
}

/** The admin view: the model and its deployments, tokens reduced to `hasToken`. */
export function modelView(m: ModelRow, deps: DeploymentRow[]): AdminModel {
  return {
    ...modelInfo(m),
    deployments: deps.map((d) => ({
      id: d.id, url: d.url, upstreamModel: d.upstream_model, hasToken: d.token_enc !== null, weight: d.weight,
      maxInFlight: d.max_in_flight, timeoutMs: d.timeout_ms, enabled: d.enabled,
    })),
  };
}

/** Price columns are numeric(20,6): 14 digits before the point. */
const PRICE_LIMIT = 100_000_000_000_000n;

function checkPrice(field: string, v: number | string): string {
  const exact = moneyInput(field, v);
  // Prices per 1M tokens: 6 decimals make a whole pico-unit per token, so every cost is exact.
  // Per-minute and per-request prices share the column type, so the same rule holds for them.
  const pico = toPico(exact);
  if (pico % 1_000_000n !== 0n) throw invalid(field, 'has more than 6 decimals');
  if (pico >= PRICE_LIMIT * 1_000_000_000_000n) throw invalid(field, `must be less than ${PRICE_LIMIT}`);
  return exact;
}

function checkDeployments(ds: DeploymentInput[]): void {
  if (ds.length === 0) throw invalid('deployments', 'at least one deployment is required');
  ds.forEach((d, i) => {
    let u: URL;
    try { u = new URL(d.url); } catch { throw invalid(`deployments[${i}].url`, 'must be an absolute http(s) URL such as http://host:8000/v1'); }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(`deployments[${i}].url`, 'must use http or https');
  });
}

export class ModelService {
  constructor(private readonly db: Kysely<Database>, private readonly cipher: Cipher) {}

  async list(includeDeprecated = true) {
    let q = this.db.selectFrom('models').selectAll().orderBy('id');
    if (!includeDeprecated) q = q.where('status', '=', 'active');
    const [models, deps] = await Promise.all([q.execute(), this.db.selectFrom('deployments').selectAll().orderBy('id').execute()]);
    return models.map((m) => modelView(m, deps.filter((d) => d.model_id === m.id)));
  }

  async get(id: string) {
    const m = await this.db.selectFrom('models').selectAll().where('id', '=', id).executeTakeFirst();
    if (!m) throw notFound(`Model '${id}'`);
    const deps = await this.db.selectFrom('deployments').selectAll().where('model_id', '=', id).orderBy('id').execute();
    return modelView(m, deps);
  }

  /** The catalog as a person sees it: no deployments, and their own subscription to each model. */
  async catalog(userId: string | null) {
    const [models, subs] = await Promise.all([
      this.db.selectFrom('models').selectAll().orderBy('id').execute(),
      userId ? this.db.selectFrom('subscriptions').select(['id', 'model_id', 'status', 'reason']).where('user_id', '=', userId).execute() : [],
    ]);
    const byModel = new Map(subs.map((x) => [x.model_id, { id: x.id, status: x.status, reason: x.reason }]));
    return models.map((m): Model => ({ ...modelInfo(m), subscription: byModel.get(m.id) ?? null }));
  }

  /** The decrypted token of a stored deployment (for "test configuration" without re-typing it). */
  async storedToken(modelId: string, url: string, upstreamModel: string): Promise<string | null> {
    const d = await this.db.selectFrom('deployments').select('token_enc').where('model_id', '=', modelId)
      .where('url', '=', url.replace(/\/+$/, '')).where('upstream_model', '=', upstreamModel).executeTakeFirst();
    return d?.token_enc ? this.cipher.decrypt(d.token_enc) : null;
  }

  async create(input: ModelInput) {
    const exists = await this.db.selectFrom('models').select('id').where('id', '=', input.id).executeTakeFirst();
    if (exists) throw new ApiError('conflict', `Model '${input.id}' already exists`, 'id');
    await this.write(input, false);
    return this.get(input.id);
  }

  async update(id: string, input: Omit<ModelInput, 'id'>) {
    await this.get(id);
    await this.write({ ...input, id }, true);
    return this.get(id);
  }

  async remove(id: string): Promise<void> {
    const r = await this.db.deleteFrom('models').where('id', '=', id).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw notFound(`Model '${id}'`);
  }

  private async write(input: ModelInput, replace: boolean): Promise<void> {
    const inPrice = checkPrice('inputPricePer1M', input.inputPricePer1M);
    const outPrice = checkPrice('outputPricePer1M', input.outputPricePer1M);
    const cachedPrice = input.cachedInputPricePer1M == null ? null : checkPrice('cachedInputPricePer1M', input.cachedInputPricePer1M);
    const audioPrice = checkPrice('audioPricePerMinute', input.audioPricePerMinute ?? 0);
    const requestPrice = checkPrice('requestPrice', input.requestPrice ?? 0);
    checkDeployments(input.deployments);
    const row = {
      description: input.description ?? null, provider: input.provider ?? null, kind: input.kind ?? 'chat',
      context_length: input.contextLength ?? null, features: input.features ?? [], input_price_per_1m: inPrice,
      output_price_per_1m: outPrice, cached_input_price_per_1m: cachedPrice, audio_price_per_minute: audioPrice,
      request_price: requestPrice, restricted: input.restricted ?? false, status: input.status ?? 'active',
    } as const;
    await this.db.transaction().execute(async (tx) => {
      // On replace, a deployment sent without a token keeps the token it had (same url and upstream model),
      // so an admin can edit prices without re-entering secrets.
      const kept = new Map<string, string | null>();
      if (replace) {
        for (const d of await tx.selectFrom('deployments').select(['url', 'upstream_model', 'token_enc']).where('model_id', '=', input.id).execute()) {
          kept.set(`${d.url}|${d.upstream_model}`, d.token_enc);
        }
        await tx.updateTable('models').set(row).where('id', '=', input.id).execute();
        await tx.deleteFrom('deployments').where('model_id', '=', input.id).execute();
      } else {
        await tx.insertInto('models').values({ id: input.id, ...row }).execute();
      }
      await tx.insertInto('deployments').values(input.deployments.map((d) => {
        const url = d.url.replace(/\/+$/, '');
        const token_enc = d.token ? this.cipher.encrypt(d.token) : d.token === undefined ? kept.get(`${url}|${d.upstreamModel}`) ?? null : null;
        return {
          id: randomUUID(), model_id: input.id, url, upstream_model: d.upstreamModel, token_enc, weight: d.weight ?? 1,
          max_in_flight: d.maxInFlight ?? null, timeout_ms: d.timeoutMs ?? 120_000, enabled: d.enabled ?? true,
        };
      })).execute();
    });
  }
}
