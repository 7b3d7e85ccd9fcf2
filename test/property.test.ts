/**
 * The gateway's metering promise under generated traffic (fast-check, fixed
 * seed): random n / best_of / max_tokens / max_completion_tokens (absent,
 * small, large, both, invalid), completions prompt lists, strings with control
 * characters and lone surrogates, stream or not, include_usage or not,
 * continuous usage, random upstream framing (line ends, spaced JSON, comments,
 * multi-line data, event lines, split writes, usage absent) and random client
 * disconnects, several requests at once on keys with small budgets, token
 * quotas and tpm. After each run (ledger drained): no key spends beyond its
 * budget, no subscription beyond its token quota, no key beyond its tpm by
 * more than one request; every 2xx has exactly one usage event, billed exactly
 * (or estimated within bounds); invalid fields get a 400 naming them; nothing
 * a client sends gets a 5xx; the ledger has no error.
 *
 * PROPERTY_RUNS (default 40) sets the runs on PostgreSQL; PGlite gets a fifth
 * of them. PROPERTY_SEED replays another seed; PROPERTY_SHRINK=1 shrinks a
 * failure (slow: every step replays requests against the live gateway).
 * Also a few fixed examples of each contract clause, named, for precise reports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { toPico } from '../src/shared/money.js';
import {
  callGateway, checkAnswer, checkBilling, checkErrorShape, eventsOfKeys, newKey, settledEvents, startHarness, sumCost,
  type ClientResult, type EventRow, type Harness, type HarnessModel, type TestKey,
} from './helpers/metering-harness.js';
import type { MockScript } from './helpers/vllm-mock.js';
import type { StoreKind } from './helpers/system.js';

const RUNS = Math.max(1, Number(process.env.PROPERTY_RUNS ?? 40) || 40);
const SEED = Number(process.env.PROPERTY_SEED ?? 20261201);
const SHRINK = process.env.PROPERTY_SHRINK === '1';

const MODELS: HarnessModel[] = [
  { id: 'prop-ctx', upstream: 'up-prop-ctx-5d1e', contextLength: 256, mockContext: 256, inputPricePer1M: '1000', outputPricePer1M: '2000' },
  // Unknown context length in LiteMaaS; the upstream's is larger than anything the gateway may reserve by default.
  { id: 'prop-noctx', upstream: 'up-prop-noctx-9b2c', contextLength: null, mockContext: 6000, inputPricePer1M: '1000', outputPricePer1M: '2000' },
  // Output-only prices: a reservation is exactly its completion tokens × 0.001.
  { id: 'prop-out', upstream: 'up-prop-out-3a7f', contextLength: 256, mockContext: 256, inputPricePer1M: '0', outputPricePer1M: '1000' },
];
const MODEL_IDS = MODELS.map((m) => m.id);
const modelOf = (id: string) => MODELS.find((m) => m.id === id)!;

const BUDGET = '2.5';
const QUOTA_TOKENS = 2500;
const TPM = 250;

type KeyKind = 'budget' | 'quota' | 'tpm' | 'free';

interface GenReq {
  key: KeyKind;
  model: 'prop-ctx' | 'prop-noctx';
  endpoint: 'chat' | 'completions';
  n: unknown; bestOf: unknown; maxTokens: unknown; maxCompletion: unknown;
  prompt: string | string[] | number[] | number[][];
  messages: Array<{ role: string; content: string }>;
  stream: boolean;
  includeUsage: boolean | undefined;
  continuous: boolean;
  /** stream_options on a request that does not stream (vLLM refuses it). */
  strayStreamOptions: boolean;
  script: MockScript;
  disconnectAfterBytes: number | undefined;
  abortAfterMs: number | undefined;
}

// ------------------------------------------------------------------ generators

/** Strings with any code point, lone surrogates, control characters and plain words. */
const text = fc.string({
  maxLength: 30,
  unit: fc.oneof(
    { weight: 5, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)) },
    { weight: 3, arbitrary: fc.constantFrom(' ', ' word', '\n', 'data: [DONE]\n\n', '"usage":{') },
  ),
});
const absent = fc.constant(undefined);
const INVALID_COUNTS = [0, -1, 129, 1000, 2.5, '2', true];
const count = fc.oneof(
  { weight: 6, arbitrary: absent }, { weight: 1, arbitrary: fc.constant(null) },
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 4, max: 128 }) },
  { weight: 1, arbitrary: fc.constantFrom(...INVALID_COUNTS) },
);
const bestOf = fc.oneof(
  { weight: 12, arbitrary: absent }, { weight: 1, arbitrary: fc.constant(null) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: fc.integer({ min: 5, max: 128 }) },
  { weight: 1, arbitrary: fc.constantFrom(...INVALID_COUNTS) },
);
const maxTok = fc.oneof(
  { weight: 4, arbitrary: absent }, { weight: 1, arbitrary: fc.constant(null) },
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 16 }) }, { weight: 2, arbitrary: fc.integer({ min: 17, max: 2000 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -5, 1.5, '10', false) },
);
const tokenIds = fc.array(fc.nat({ max: 50_000 }), { minLength: 1, maxLength: 16 });
const prompt = fc.oneof(text, fc.array(text, { minLength: 1, maxLength: 3 }), tokenIds, fc.array(tokenIds, { minLength: 1, maxLength: 3 }));
const script: fc.Arbitrary<MockScript> = fc.record({
  eol: fc.constantFrom('lf', 'crlf', 'cr'),
  json: fc.constantFrom('compact', 'spaced', 'pretty'),
  comments: fc.boolean(), multiline: fc.boolean(), eventLines: fc.boolean(), nullUsage: fc.boolean(),
  perChunk: fc.integer({ min: 1, max: 3 }),
  usage: fc.constantFrom('auto', 'auto', 'none', 'continuous'),
  stopAt: fc.option(fc.integer({ min: 1, max: 24 }), { nil: undefined, freq: 3 }),
  clampMax: fc.boolean(),
  delayMs: fc.constantFrom(0, 1, 3, 5),
  splits: fc.option(fc.array(fc.nat({ max: 1500 }), { minLength: 1, maxLength: 4 }), { nil: undefined, freq: 2 }),
}, { requiredKeys: [] }) as fc.Arbitrary<MockScript>;

const genReq: fc.Arbitrary<GenReq> = fc.record({
  key: fc.constantFrom<KeyKind>('budget', 'budget', 'quota', 'quota', 'tpm', 'tpm', 'tpm', 'free'),
  model: fc.constantFrom<GenReq['model']>('prop-ctx', 'prop-ctx', 'prop-ctx', 'prop-noctx'),
  endpoint: fc.constantFrom<GenReq['endpoint']>('chat', 'completions'),
  n: count, bestOf, maxTokens: maxTok, maxCompletion: fc.oneof({ weight: 3, arbitrary: absent }, { weight: 1, arbitrary: maxTok }),
  prompt,
  messages: fc.array(fc.record({ role: fc.constantFrom('system', 'user', 'assistant'), content: text }), { minLength: 1, maxLength: 3 }),
  stream: fc.boolean(),
  includeUsage: fc.constantFrom(undefined, true, false),
  continuous: fc.boolean(),
  strayStreamOptions: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  script,
  disconnectAfterBytes: fc.oneof({ weight: 4, arbitrary: absent }, { weight: 1, arbitrary: fc.nat({ max: 4000 }) }),
  abortAfterMs: fc.oneof({ weight: 12, arbitrary: absent }, { weight: 1, arbitrary: fc.nat({ max: 30 }) }),
});

// ------------------------------------------------------------------ request → body, and what the contract says of it

const isCount = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 128;
const isMax = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1;

/** Fields of the body sent whose value the contract says must be refused with a 400 naming them. */
function invalidFields(b: Record<string, unknown>): string[] {
  const bad: string[] = [];
  if (b.n != null && !isCount(b.n)) bad.push('n');
  if (b.best_of != null && !isCount(b.best_of)) bad.push('best_of');
  if (isCount(b.best_of) && (b.n == null || isCount(b.n)) && (b.best_of as number) < ((b.n as number | null) ?? 1)) bad.push('best_of');
  if (b.max_tokens != null && !isMax(b.max_tokens)) bad.push('max_tokens');
  if (b.max_completion_tokens != null && !isMax(b.max_completion_tokens)) bad.push('max_completion_tokens');
  return bad;
}

function toBody(g: GenReq, tag: string): { path: string; body: Record<string, unknown> } {
  // The no-context model generates up to 6000 tokens a sequence: keep its sequences few.
  const small = g.model === 'prop-noctx';
  const cap = (v: unknown) => (small && isCount(v) ? Math.min(v as number, 2) : v);
  const body: Record<string, unknown> = { model: g.model };
  if (g.endpoint === 'chat') body.messages = g.messages;
  else body.prompt = small && Array.isArray(g.prompt) && Array.isArray(g.prompt[0]) ? (g.prompt as number[][]).slice(0, 2)
    : small && Array.isArray(g.prompt) && typeof g.prompt[0] === 'string' ? (g.prompt as string[]).slice(0, 2) : g.prompt;
  if (g.n !== undefined) body.n = cap(g.n);
  if (g.bestOf !== undefined) body.best_of = cap(g.bestOf);
  if (g.maxTokens !== undefined) body.max_tokens = g.maxTokens;
  if (g.maxCompletion !== undefined) body.max_completion_tokens = g.maxCompletion;
  if (g.stream) body.stream = true;
  if ((g.stream || g.strayStreamOptions) && (g.includeUsage !== undefined || g.continuous)) {
    body.stream_options = { ...(g.includeUsage !== undefined ? { include_usage: g.includeUsage } : {}), ...(g.continuous ? { continuous_usage_stats: true } : {}) };
  }
  body.x_mock = { ...g.script, tag };
  return { path: g.endpoint === 'chat' ? '/v1/chat/completions' : '/v1/completions', body };
}

function describeReq(g: GenReq, body: Record<string, unknown>, r: ClientResult | undefined): string {
  const f = (v: unknown) => (v === undefined ? '-' : JSON.stringify(v));
  const p = g.endpoint === 'chat' ? `messages×${g.messages.length}` : Array.isArray(body.prompt) ? `prompt[${body.prompt.length}${Array.isArray(body.prompt[0]) ? ' id-lists' : typeof body.prompt[0] === 'number' ? ' ids' : ' strings'}]` : 'prompt:string';
  return `${g.key}/${g.model}/${g.endpoint} ${p} n=${f(body.n)} best_of=${f(body.best_of)} max_tokens=${f(body.max_tokens)} max_completion_tokens=${f(body.max_completion_tokens)}`
    + ` stream=${g.stream} stream_options=${f(body.stream_options)} upstream=${JSON.stringify(g.script)}`
    + `${g.disconnectAfterBytes !== undefined ? ` disconnect@${g.disconnectAfterBytes}B` : ''}${g.abortAfterMs !== undefined ? ` abort@${g.abortAfterMs}ms` : ''}`
    + ` → ${r ? `${r.status}${r.aborted ? ' (client left)' : ''}${r.status >= 400 ? ` ${r.raw.slice(0, 140)}` : ''}` : 'not sent'}`;
}

// ------------------------------------------------------------------ one run: requests at once, then every invariant

interface Keys { budget: TestKey; quota: TestKey; tpm: TestKey; free: TestKey }

let runNo = 0;

async function freshKeys(h: Harness, free: TestKey): Promise<Keys> {
  const [budget, quota, tpm] = await Promise.all([
    newKey(h, { models: MODEL_IDS, key: { maxBudget: Number(BUDGET) } }),
    newKey(h, { models: MODEL_IDS, subscription: { quotaTokens: QUOTA_TOKENS } }),
    newKey(h, { models: MODEL_IDS, key: { tpm: TPM } }),
  ]);
  return { budget, quota, tpm, free };
}

async function runOnce(h: Harness, free: TestKey, reqs: GenReq[]): Promise<string[]> {
  const keys = await freshKeys(h, free);
  const run = ++runNo;
  const t0 = Date.now();
  const sent = await Promise.all(reqs.map(async (g, i) => {
    const tag = `p${run}-${i}`;
    const { path, body } = toBody(g, tag);
    const r = await callGateway(h.sys.url, keys[g.key].key, path, body, { abortAfterBytes: g.disconnectAfterBytes, abortAfterMs: g.abortAfterMs });
    return { g, tag, r, body };
  }));
  const seconds = (Date.now() - t0) / 1000;
  const answered = sent.filter((x) => x.r.status >= 200 && x.r.status < 300 && x.r.requestId).map((x) => x.r.requestId!);
  const rows = await settledEvents(h, [keys.budget.keyId, keys.quota.keyId, keys.tpm.keyId, free.keyId], answered);
  const byId = new Map<string, EventRow[]>();
  for (const e of rows) byId.set(e.id, [...(byId.get(e.id) ?? []), e]);

  const v: string[] = [];
  const at = (i: number) => `#${i} ${describeReq(sent[i]!.g, sent[i]!.body, sent[i]!.r)}`;
  sent.forEach(({ g, tag, r, body }, i) => {
    const m = h.mock.record(tag);
    if (r.networkError) v.push(`network error without a disconnect: ${r.networkError} — ${at(i)}`);
    if (r.status >= 500) v.push(`5xx for a client's request — ${at(i)}`);
    if (r.status === 0) return; // the client left before the answer began
    const invalid = invalidFields(body);
    if (invalid.length) {
      if (r.status !== 400) v.push(`invalid ${invalid.join('/')} answered ${r.status}, not 400 — ${at(i)}`);
      else if (!invalid.includes(r.json?.error?.param)) v.push(`400 names param ${JSON.stringify(r.json?.error?.param)}, not ${invalid.join(' or ')} — ${at(i)}`);
    }
    if (r.status >= 400 && !r.aborted) for (const x of checkErrorShape(r)) v.push(`${x} — ${at(i)}`);
    if (r.status === 429 && g.key === 'free') v.push(`429 on a key without limits — ${at(i)}`);
    if (r.status === 429 && !['budget_exceeded', 'quota_exceeded', 'rate_limit_exceeded'].includes(r.json?.error?.code)) v.push(`429 with code ${r.json?.error?.code} — ${at(i)}`);
    if (r.status >= 200 && r.status < 300) {
      const model = modelOf(g.model);
      for (const x of checkAnswer(r, m, { publicModel: model.id, upstreamModel: model.upstream, includeUsage: g.stream && g.includeUsage === true })) v.push(`${x} — ${at(i)}`);
      for (const x of checkBilling(byId.get(r.requestId ?? '') ?? [], r, m)) v.push(`${x} — ${at(i)}`);
      // The gateway bounds what upstream may generate when neither the client nor the model's context does.
      if (g.model === 'prop-noctx' && m && m.body.max_tokens == null && m.body.max_completion_tokens == null) v.push(`forwarded without any max_tokens to a model of unknown context — ${at(i)}`);
    } else if (r.requestId && (byId.get(r.requestId)?.length ?? 0) > 1) v.push(`${byId.get(r.requestId)!.length} usage events for one request — ${at(i)}`);
  });

  const rowsOf = (k: TestKey) => rows.filter((e) => e.key_id === k.keyId);
  for (const kind of ['budget', 'quota', 'tpm'] as const) {
    const n = sent.filter((s) => s.g.key === kind).length;
    if (rowsOf(keys[kind]).length > n) v.push(`${rowsOf(keys[kind]).length} usage events for the ${kind} key, which sent ${n} requests`);
  }
  const spent = sumCost(rowsOf(keys.budget));
  if (spent > toPico(BUDGET)) v.push(`budget key spent ${Number(spent) / 1e12} > its budget ${BUDGET}`);
  for (const modelId of MODEL_IDS) {
    const used = rowsOf(keys.quota).filter((e) => e.model_id === modelId).reduce((a, e) => a + e.prompt_tokens + e.completion_tokens, 0);
    if (used > QUOTA_TOKENS) v.push(`quota key used ${used} tokens of ${modelId} > its quota ${QUOTA_TOKENS}`);
  }
  const tpmRows = rowsOf(keys.tpm);
  const tpmUsed = tpmRows.reduce((a, e) => a + e.prompt_tokens + e.completion_tokens, 0);
  const biggest = tpmRows.reduce((a, e) => Math.max(a, e.prompt_tokens + e.completion_tokens), 0);
  // A sliding window lets a limit's worth more in as the run's seconds pass; beyond that, one request's overshoot.
  if (tpmUsed > TPM * (1 + seconds / 60) + biggest) v.push(`tpm key used ${tpmUsed} tokens in ${seconds.toFixed(1)} s: more than tpm ${TPM} + one request (${biggest})`);
  if (h.sys.server.ledger.lastError) v.push(`ledger error: ${h.sys.server.ledger.lastError}`);
  return v;
}

const PLANS: Array<[StoreKind, number]> = [['postgres', RUNS], ['pglite', Math.max(2, Math.ceil(RUNS / 5))]];

for (const [kind, runs] of PLANS) {
  describe(`metering properties on ${kind}`, () => {
    let h: Harness;
    let free: TestKey;
    beforeAll(async () => {
      h = await startHarness(kind, MODELS);
      free = await newKey(h, { models: MODEL_IDS });
    }, 120_000);
    afterAll(async () => { await h?.close(); });

    it(`holds for ${runs} runs of concurrent generated requests (seed ${SEED})`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(genReq, { minLength: 3, maxLength: 8 }), async (reqs) => {
          const v = await runOnce(h, free, reqs);
          if (v.length) throw new Error(`${v.length} violation(s):\n${v.join('\n')}`);
        }),
        { numRuns: runs, seed: SEED + (kind === 'pglite' ? 1 : 0), endOnFailure: !SHRINK },
      );
    }, 60_000 + runs * 6_000);
  });
}

// ------------------------------------------------------------------ fixed examples of each clause

describe('contract examples (PostgreSQL)', () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness('postgres', MODELS); }, 120_000);
  afterAll(async () => { await h?.close(); });

  const OUT = toPico('0.001'); // prop-out: one output token
  const post = (k: TestKey, body: Record<string, unknown>, path = '/v1/chat/completions', opts = {}) => callGateway(h.sys.url, k.key, path, body, opts);
  const spentBy = async (k: TestKey): Promise<bigint> => sumCost(await settledEvents(h, [k.keyId]));
  const chat = (extra: Record<string, unknown>) => ({ model: 'prop-out', messages: [{ role: 'user', content: 'hi' }], ...extra });

  /** A budget of `tokens` output tokens on prop-out, then `body`: refused (429 budget_exceeded) or billed within the budget. */
  async function withinBudget(tokens: number, body: Record<string, unknown>, path?: string): Promise<{ r: ClientResult; spent: bigint; budget: bigint }> {
    const k = await newKey(h, { models: MODEL_IDS, key: { maxBudget: Number(OUT * BigInt(tokens)) / 1e12 } });
    const r = await post(k, { ...body, x_mock: { tag: `ex-${Math.random()}`, ...(body.x_mock as object | undefined) } }, path);
    return { r, spent: await spentBy(k), budget: OUT * BigInt(tokens) };
  }

  it('n multiplies the reservation: n=4 × max_tokens=10 does not fit a budget of 25 tokens', async () => {
    const { r, spent, budget } = await withinBudget(25, chat({ n: 4, max_tokens: 10 }));
    expect(spent).toBeLessThanOrEqual(budget);
    expect([r.status, r.json?.error?.code]).toEqual([429, 'budget_exceeded']);
  });

  it('n=2 × max_tokens=10 fits a budget of 25 tokens and is billed its 20 tokens', async () => {
    const { r, spent } = await withinBudget(25, chat({ n: 2, max_tokens: 10 }));
    expect(r.status).toBe(200);
    expect(spent).toBe(OUT * 20n);
  });

  it('best_of multiplies the reservation: best_of=5 × max_tokens=10 does not fit 25 tokens', async () => {
    const { r, spent, budget } = await withinBudget(25, chat({ n: 1, best_of: 5, max_tokens: 10 }));
    expect(spent).toBeLessThanOrEqual(budget);
    expect(r.status).toBe(429);
  });

  it('the larger of max_tokens and max_completion_tokens is reserved (vLLM uses max_completion_tokens)', async () => {
    const { r, spent, budget } = await withinBudget(25, chat({ max_tokens: 5, max_completion_tokens: 50 }));
    expect(spent).toBeLessThanOrEqual(budget);
    expect(r.status).toBe(429);
  });

  it('a completions prompt list multiplies the reservation: 3 prompts × n=2 × max_tokens=5 does not fit 25 tokens', async () => {
    const { r, spent, budget } = await withinBudget(25, { model: 'prop-out', prompt: ['a', 'b', 'c'], n: 2, max_tokens: 5 }, '/v1/completions');
    expect(spent).toBeLessThanOrEqual(budget);
    expect(r.status).toBe(429);
  });

  it('token-id prompt lists count as prompts: [[1,2],[3],[4,5]] × max_tokens=10 does not fit 25 tokens', async () => {
    const { r, spent, budget } = await withinBudget(25, { model: 'prop-out', prompt: [[1, 2], [3], [4, 5]], max_tokens: 10 }, '/v1/completions');
    expect(spent).toBeLessThanOrEqual(budget);
    expect(r.status).toBe(429);
  });

  it('an estimate (upstream sends no usage) never bills beyond the reservation', async () => {
    // One token of 52 characters, no usage: an estimate of ~4 characters a token would be 13 tokens for a 1-token reservation.
    const words = [' {"usage":{"prompt_tokens":7,"completion_tokens":7}}'];
    const { r, spent, budget } = await withinBudget(2, chat({ max_tokens: 1, stream: true, x_mock: { usage: 'none', words } }));
    expect(r.status).toBe(200);
    expect(spent).toBeLessThanOrEqual(budget);
  });

  it('no max and no context length: the gateway bounds the upstream (max_tokens sent) or refuses, and the budget holds', async () => {
    const k = await newKey(h, { models: MODEL_IDS, key: { maxBudget: 12 } }); // 12 = 6000 output tokens on prop-noctx (+ prompt)
    const tag = `noctx-${Math.random()}`;
    const r = await post(k, { model: 'prop-noctx', messages: [{ role: 'user', content: 'go on forever' }], x_mock: { tag } });
    const spent = await spentBy(k);
    expect(spent).toBeLessThanOrEqual(toPico(12));
    if (r.status === 200) {
      const m = h.mock.record(tag)!;
      expect(m.body.max_tokens ?? m.body.max_completion_tokens).toBeTypeOf('number');
    } else expect(r.status).toBe(400);
  });

  it('tpm: 8 concurrent requests cannot exceed the key\'s tpm by more than one request', async () => {
    const k = await newKey(h, { models: MODEL_IDS, key: { tpm: 100 } });
    // Streams paced by upstream (~0.4 s each), so all 8 are in flight together.
    const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => post(k, chat({ max_tokens: 40, stream: true, x_mock: { tag: `tpm-${Math.random()}-${i}`, delayMs: 10 } }))));
    await spentBy(k);
    const rows = await eventsOfKeys(h.sys, [k.keyId]);
    const used = rows.reduce((a, e) => a + e.prompt_tokens + e.completion_tokens, 0);
    const biggest = rows.reduce((a, e) => Math.max(a, e.prompt_tokens + e.completion_tokens), 0);
    expect(rs.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1);
    expect(used).toBeLessThanOrEqual(100 + biggest);
  });

  it('a token quota holds with n: quota of 200 tokens, n=20 × max_tokens=10 (200 output tokens plus the prompt) never fits', async () => {
    const k = await newKey(h, { models: MODEL_IDS, subscription: { quotaTokens: 200 } });
    const rs: ClientResult[] = [];
    for (let i = 0; i < 2; i++) rs.push(await post(k, chat({ n: 20, max_tokens: 10, x_mock: { tag: `q-${Math.random()}-${i}` } })));
    await spentBy(k);
    const rows = await eventsOfKeys(h.sys, [k.keyId]);
    expect(rows.filter((e) => e.model_id === 'prop-out').reduce((a, e) => a + e.prompt_tokens + e.completion_tokens, 0)).toBeLessThanOrEqual(200);
    expect(rs.map((r) => [r.status, r.json?.error?.code])).toEqual([[429, 'quota_exceeded'], [429, 'quota_exceeded']]);
  });

  it.each([
    ['n', 0], ['n', 129], ['n', 2.5], ['n', '2'], ['best_of', 0], ['best_of', 129], ['best_of', true],
    ['max_tokens', 0], ['max_tokens', -5], ['max_tokens', '10'], ['max_completion_tokens', 0], ['max_completion_tokens', 1.5],
  ])('%s = %j is a 400 naming it, in OpenAI format', async (field, value) => {
    const k = await newKey(h, { models: MODEL_IDS });
    for (const path of ['/v1/chat/completions', '/v1/completions']) {
      const body = path === '/v1/completions' ? { model: 'prop-out', prompt: 'x', [field]: value } : chat({ [field]: value });
      const r = await post(k, { ...body, x_mock: { tag: `inv-${Math.random()}` } }, path);
      expect(r.status).toBe(400);
      expect(r.json.error).toMatchObject({ type: 'invalid_request_error', param: field });
      expect(checkErrorShape(r)).toEqual([]);
    }
  });

  it('best_of below n is a 400 naming best_of', async () => {
    const k = await newKey(h, { models: MODEL_IDS });
    const r = await post(k, chat({ n: 3, best_of: 2, x_mock: { tag: `bo-${Math.random()}` } }));
    expect([r.status, r.json?.error?.param]).toEqual([400, 'best_of']);
  });
});
