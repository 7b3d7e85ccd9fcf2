/**
 * SSE relay conformance, through a real gateway (PGlite) to the vLLM mock:
 * upstream framings (LF, CRLF, CR, Python-spaced JSON, comments, multi-line
 * data, event: lines, and combinations) × a split of the upstream stream at
 * every byte boundary × usage present/absent/continuous × the client asking
 * for usage or not. For every answer: the client's framing is LF, events are
 * relayed incrementally (the mock holds the rest of the stream until the
 * client has the first content event), the model is renamed in every event and
 * the upstream name never reaches the client, usage reaches only a client that
 * asked, [DONE] is last, the content is intact, and the one usage event bills
 * exactly what upstream reported (or an estimate within the contract's bounds).
 * Also non-streamed JSON (compact, spaced, pretty; with and without usage) and
 * clients that disconnect mid-stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callGateway, checkAnswer, checkBilling, newKey, pool, settledEvents, startHarness, Violations,
  type ClientResult, type Harness, type TestKey,
} from './helpers/metering-harness.js';
import type { MockScript } from './helpers/vllm-mock.js';

const PUBLIC = 'sse-conformance-model';
const UP = 'upstream-secret-7f3a9c';
const EXPECT = (includeUsage: boolean) => ({ publicModel: PUBLIC, upstreamModel: UP, includeUsage });

const FRAMINGS: Array<[string, MockScript]> = [
  ['lf', {}],
  ['crlf', { eol: 'crlf' }],
  ['cr', { eol: 'cr' }],
  ['spaced-json', { json: 'spaced' }],
  ['comments', { comments: true }],
  ['multiline-data', { multiline: true }],
  ['event-lines', { eventLines: true }],
  ['cr+multiline+comments', { eol: 'cr', multiline: true, comments: true }],
  ['crlf+spaced+comments+multiline+event-lines+null-usage', { eol: 'crlf', json: 'spaced', comments: true, multiline: true, eventLines: true, nullUsage: true }],
];

interface UsageCase { name: string; mock: 'auto' | 'none'; include: boolean; continuous: boolean }
const USAGES: UsageCase[] = [
  { name: 'usage present, client asked', mock: 'auto', include: true, continuous: false },
  { name: 'usage present, client did not ask', mock: 'auto', include: false, continuous: false },
  { name: 'usage absent, client asked', mock: 'none', include: true, continuous: false },
  { name: 'usage absent, client did not ask', mock: 'none', include: false, continuous: false },
  { name: 'continuous usage, client asked', mock: 'auto', include: true, continuous: true },
  { name: 'continuous usage (continuous_usage_stats only), client did not ask for include_usage', mock: 'auto', include: false, continuous: true },
];

/** Short tokens with a 4-byte UTF-8 character, a 2-byte one, an escaped quote and an escaped newline, so splits land inside them. */
const SPLIT_WORDS = [' 😀é', ' "q"\n'];

type Endpoint = 'chat' | 'completions';
const PATH: Record<Endpoint, string> = { chat: '/v1/chat/completions', completions: '/v1/completions' };

function streamBody(endpoint: Endpoint, u: UsageCase, script: MockScript) {
  const so: Record<string, unknown> = {};
  if (u.include) so.include_usage = true;
  if (u.continuous) so.continuous_usage_stats = true;
  const base = endpoint === 'completions'
    ? { prompt: 'split me here', max_tokens: 2 }
    : { messages: [{ role: 'user', content: 'hello there' }], max_tokens: 2, n: 2 };
  return { model: PUBLIC, ...base, stream: true, ...(Object.keys(so).length ? { stream_options: so } : {}), x_mock: { words: SPLIT_WORDS, ...script, usage: u.mock } };
}

interface Sent { label: string; tag: string; r: ClientResult; include: boolean; body: Record<string, unknown> }

describe('SSE relay conformance (gateway on PostgreSQL → vLLM mock)', () => {
  let h: Harness;
  let key: TestKey;
  let tags = 0;
  /** planned stream length by `${framing}|${usage}|${endpoint}` */
  const lengths = new Map<string, number>();

  beforeAll(async () => {
    h = await startHarness('postgres', [{ id: PUBLIC, upstream: UP, contextLength: 512, mockContext: 512, inputPricePer1M: '0.15', outputPricePer1M: '0.60' }]);
    key = await newKey(h, { models: [PUBLIC] });
  });
  afterAll(async () => { await h?.close(); });

  async function send(endpoint: Endpoint, body: Record<string, unknown>, label: string, include: boolean, opts: Parameters<typeof callGateway>[4] = {}): Promise<Sent> {
    const tag = `t${++tags}`;
    (body.x_mock as MockScript).tag = tag;
    const r = await callGateway(h.sys.url, key.key, PATH[endpoint], body, { onFirstContent: () => h.mock.release(tag), ...opts });
    return { label, tag, r, include, body };
  }

  /** Answer checks now, billing checks once the ledger has drained; all violations grouped. */
  async function judge(sent: Sent[], v: Violations, opts: { incremental?: (s: Sent) => boolean } = {}): Promise<void> {
    const rows = await settledEvents(h, [key.keyId], sent.filter((s) => s.r.status === 200 && s.r.requestId).map((s) => s.r.requestId!));
    const byId = new Map<string, typeof rows>();
    for (const e of rows) byId.set(e.id, [...(byId.get(e.id) ?? []), e]);
    for (const s of sent) {
      const m = h.mock.record(s.tag);
      const group = s.label.replace(/ split=[\d,]+/, '');
      if (s.r.status !== 200) { v.add(group, [`status ${s.r.status}: ${s.r.raw.slice(0, 160)}`], s.label); continue; }
      const found = checkAnswer(s.r, m, EXPECT(s.include));
      if (opts.incremental && m?.gate && m.gate !== 'client' && !opts.incremental(s)) found.push(`not incremental: upstream held the rest of the stream but the first content event never reached the client (gate ${m.gate})`);
      found.push(...checkBilling(byId.get(s.r.requestId ?? '') ?? [], s.r, m));
      v.add(group, found, s.label);
    }
    expect(h.sys.server.ledger.lastError).toBeNull();
  }

  it('relays every framing × usage case exactly, chat (n=2, 2 tokens per chunk) and completions', async () => {
    const jobs: Array<() => Promise<Sent>> = [];
    for (const [fname, script] of FRAMINGS) {
      for (const u of USAGES) {
        for (const endpoint of ['completions', 'chat'] as Endpoint[]) {
          jobs.push(async () => {
            const s = await send(endpoint, streamBody(endpoint, u, { ...script, perChunk: endpoint === 'chat' ? 2 : 1 }), `${endpoint} ${fname} / ${u.name}`, u.include);
            const m = h.mock.record(s.tag);
            if (m) lengths.set(`${fname}|${u.name}|${endpoint}`, m.bytesPlanned);
            return s;
          });
        }
      }
    }
    const sent = await pool(jobs, 8, (j) => j());
    const v = new Violations();
    await judge(sent, v);
    expect(v.list()).toEqual([]);
  });

  it('survives the upstream stream split at every byte boundary (every framing, usage cases rotated)', async () => {
    // Every boundary i of every framing's stream is a write boundary of one request; a request carries three boundaries
    // a third of the stream apart (four writes), so each parser state at a chunk end is reached with a third of the requests.
    // Each request's upstream holds the rest of its stream, once the first content event is written, until the client
    // has that event (gate). A machine under load can miss a short gate; those requests are tried again with a long
    // one and count as not incremental only if they miss it again. After many misses gating stops, to bound the time.
    let misses = 0;
    const jobs: Array<() => Promise<Sent>> = [];
    FRAMINGS.forEach(([fname, script], f) => {
      const max = Math.max(...USAGES.map((u) => lengths.get(`${fname}|${u.name}|completions`) ?? 0));
      USAGES.forEach((u, ui) => {
        const len = lengths.get(`${fname}|${u.name}|completions`) ?? 0;
        const bounds: number[] = [];
        for (let i = 1; i < Math.min(max, len); i++) if ((i + f) % USAGES.length === ui) bounds.push(i);
        const third = Math.ceil(bounds.length / 3);
        for (let r = 0; r < third; r++) {
          const splits = [bounds[r], bounds[r + third], bounds[r + 2 * third]].filter((x): x is number => x !== undefined);
          jobs.push(async () => {
            const s = await send('completions', streamBody('completions', u, { ...script, splits, gate: misses < 30, gateTimeoutMs: 1500 }), `completions ${fname} / ${u.name} split=${splits.join(',')}`, u.include);
            if (h.mock.record(s.tag)?.gate === 'timeout') misses++;
            return s;
          });
        }
      });
    });
    expect(jobs.length).toBeGreaterThan(300);
    const sent = await pool(jobs, 32, (j) => j());
    const confirmed = new Set<Sent>();
    await pool(sent.filter((s) => h.mock.record(s.tag)?.gate === 'timeout'), 4, async (s) => {
      const again = await send('completions', { ...s.body, x_mock: { ...(s.body.x_mock as MockScript), gateTimeoutMs: 5000 } }, s.label, s.include);
      if (h.mock.record(again.tag)?.gate === 'client') confirmed.add(s);
    });
    const v = new Violations();
    await judge(sent, v, { incremental: (s) => confirmed.has(s) });
    expect(v.list()).toEqual([]);
  }, 180_000);

  it('relays incrementally: the client gets the first content event while upstream holds back the rest', async () => {
    const sent = await Promise.all(FRAMINGS.map(([fname, script]) =>
      send('chat', streamBody('chat', USAGES[0]!, { ...script, gate: true, gateTimeoutMs: 3000, words: undefined }), `chat ${fname}`, true)));
    const v = new Violations();
    for (const s of sent) {
      const m = h.mock.record(s.tag);
      if (!m?.gate) v.add(s.label, ['the mock never gated (no content event?)'], s.label);
      else if (m.gate !== 'client') v.add(s.label, [`the first content event was not relayed before upstream finished (gate ${m.gate})`], s.label);
      else if (s.r.firstContentAt === null || s.r.firstContentAt > m.tLastWrite) v.add(s.label, ['first content arrived after upstream\'s last write'], s.label);
    }
    await judge(sent, v);
    expect(v.list()).toEqual([]);
  });

  it('relays a stream the upstream writes one byte at a time', async () => {
    const jobs: Array<() => Promise<Sent>> = [];
    for (const [fname, script] of FRAMINGS) {
      for (const endpoint of ['completions', 'chat'] as Endpoint[]) {
        const u = USAGES[4]!; // continuous usage, client asked: the most usage-bearing bytes
        const len = lengths.get(`${fname}|${u.name}|${endpoint}`) ?? 0;
        jobs.push(() => send(endpoint, streamBody(endpoint, u, { ...script, splits: Array.from({ length: len }, (_, i) => i), delayMs: 0.5 }), `${endpoint} ${fname} byte-by-byte`, true));
      }
    }
    const sent = await pool(jobs, 18, (j) => j());
    const v = new Violations();
    await judge(sent, v);
    expect(v.list()).toEqual([]);
  }, 60_000);

  it('bills non-streamed JSON exactly (compact, Python-spaced, pretty), renamed, and estimates a body without usage', async () => {
    const jobs: Array<() => Promise<Sent>> = [];
    for (const json of ['compact', 'spaced', 'pretty'] as const) {
      for (const usage of ['auto', 'none'] as const) {
        for (const endpoint of ['chat', 'completions'] as Endpoint[]) {
          const base = endpoint === 'chat'
            ? { messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'two answers please' }], n: 2, max_tokens: 5 }
            : { prompt: ['first prompt', 'second prompt here'], n: 2, max_tokens: 4 };
          jobs.push(() => send(endpoint, { model: PUBLIC, ...base, x_mock: { json, usage, splits: [7, 150] } }, `${endpoint} json=${json} usage=${usage}`, false));
        }
      }
    }
    const sent = await pool(jobs, 6, (j) => j());
    const v = new Violations();
    await judge(sent, v);
    expect(v.list()).toEqual([]);
  });

  it('bills a client that disconnects mid-stream: 499, at least what it saw, at most what upstream could generate; upstream aborted', async () => {
    // Short tokens, four to an event: usage says 4 tokens an event, more than an estimate from ~8 characters would,
    // so billing less than the last usage upstream sent before the client left shows.
    const cases: Array<{ name: string; mock: MockScript['usage']; so?: Record<string, unknown> }> = [
      { name: 'continuous usage seen by the client', mock: 'auto', so: { include_usage: true, continuous_usage_stats: true } },
      { name: 'continuous usage the client did not ask for', mock: 'continuous' },
      { name: 'final usage never reached', mock: 'auto' },
      { name: 'upstream sends no usage', mock: 'none', so: { include_usage: true } },
    ];
    const v = new Violations();
    const sent: Sent[] = [];
    for (const [fname, script] of [FRAMINGS[0]!, FRAMINGS[2]!, FRAMINGS[8]!]) {
      for (const c of cases) {
        const body = {
          model: PUBLIC, messages: [{ role: 'user', content: 'a long answer please' }], max_tokens: 40, stream: true,
          ...(c.so ? { stream_options: c.so } : {}), x_mock: { ...script, usage: c.mock, delayMs: 15, perChunk: 4, words: [' a', ' b'] },
        };
        sent.push(await send('chat', body, `disconnect ${fname} / ${c.name}`, c.so?.include_usage === true, { abortAfterContentEvents: 5 }));
      }
    }
    await h.mock.settled(); // every upstream answer finished or was aborted
    for (const s of sent) {
      const m = h.mock.record(s.tag);
      if (!s.r.aborted) v.add(s.label, ['the client could not disconnect mid-stream (stream ended first)'], s.label);
      if (m && !m.closedEarly) v.add(s.label, ['upstream was not aborted when the client left (it wrote the whole answer)'], s.label);
    }
    // Continuous usage: every event the gateway relayed carried a usage of 4 tokens an event so far; it saw at least that.
    const rows = new Map((await settledEvents(h, [key.keyId], sent.map((s) => s.r.requestId ?? ''))).map((e) => [e.id, e]));
    for (const s of sent.filter((x) => x.label.includes('continuous'))) {
      const e = rows.get(s.r.requestId ?? '');
      const seen = 4 * (s.r.stream?.contentEvents ?? 0);
      if (e && e.completion_tokens < seen) v.add(s.label, [`billed ${e.completion_tokens} completion tokens, below the last usage upstream sent with what the client got (${seen})`], s.label);
    }
    await judge(sent, v);
    expect(v.list()).toEqual([]);
  });
});
