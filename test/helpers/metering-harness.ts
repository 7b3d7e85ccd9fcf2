/**
 * A real LiteMaaS (startSystem) whose models point at the vLLM mock, a client
 * that records exactly what it received (a WHATWG SSE parser over any line
 * ends), and the checks of the gateway's metering contract shared by the SSE
 * conformance and property suites. A check returns the violations it found
 * (strings), so a suite can report all of them at once.
 */
import { isDeepStrictEqual } from 'node:util';
import { toPico } from '../../src/shared/money.js';
import { startSystem, type StoreKind, type System } from './system.js';
import { startVllmMock, type MockRecord, type MockScript, type Usage, type VllmMock } from './vllm-mock.js';

export interface HarnessModel {
  id: string;
  /** The name the deployment sends upstream; it must never reach a client. */
  upstream: string;
  /** The context length registered in LiteMaaS (null: unknown to the gateway). */
  contextLength: number | null;
  /** The context length the mock enforces. */
  mockContext: number;
  inputPricePer1M: string;
  outputPricePer1M: string;
}

export interface Harness { sys: System; mock: VllmMock; models: HarnessModel[]; close(): Promise<void> }

export async function startHarness(kind: StoreKind, models: HarnessModel[]): Promise<Harness> {
  const mock = await startVllmMock(Object.fromEntries(models.map((m) => [m.upstream, { contextLength: m.mockContext }])));
  let sys: System | null = null;
  try {
    sys = await startSystem(kind);
    for (const m of models) {
      const r = await sys.admin('POST', '/admin/models', {
        id: m.id, inputPricePer1M: m.inputPricePer1M, outputPricePer1M: m.outputPricePer1M, contextLength: m.contextLength,
        deployments: [{ url: `${mock.url}/v1`, upstreamModel: m.upstream, timeoutMs: 60_000 }],
      });
      if (r.status !== 201) throw new Error(`model ${m.id}: ${JSON.stringify(r.body)}`);
    }
  } catch (err) {
    await sys?.close();
    await mock.close();
    throw err;
  }
  const s = sys;
  return { sys: s, mock, models, async close() { try { await s.close(); } finally { await mock.close(); } } };
}

export interface TestKey { userId: string; keyId: string; key: string }

let users = 0;
/** A fresh user subscribed to `models` (with `subscription` limits) and a key on them (with `key` limits). */
export async function newKey(h: Harness, opts: { models: string[]; key?: Record<string, unknown>; subscription?: Record<string, unknown> }): Promise<TestKey> {
  const u = await h.sys.admin('POST', '/admin/users', { username: `m${process.pid}-${++users}-${Math.floor(Math.random() * 1e6)}` });
  if (u.status !== 201) throw new Error(`user: ${JSON.stringify(u.body)}`);
  for (const modelId of opts.models) {
    const s = await h.sys.admin('POST', `/admin/users/${u.body.id}/subscriptions`, { modelId, ...opts.subscription });
    if (s.status !== 201) throw new Error(`subscription: ${JSON.stringify(s.body)}`);
  }
  const k = await h.sys.admin('POST', `/admin/users/${u.body.id}/api-keys`, { name: 'metering', models: opts.models, budgetPeriod: 'none', ...opts.key });
  if (k.status !== 201) throw new Error(`key: ${JSON.stringify(k.body)}`);
  return { userId: u.body.id, keyId: k.body.id, key: k.body.key };
}

// ---------------------------------------------------------------- the client

export interface SseEvent { data: string; event: string }

/** WHATWG event-stream parsing (LF, CRLF or CR line ends; comments; multi-line data), incremental. */
export class SseParser {
  private pending = '';
  private skipLF = false;
  private data: string[] = [];
  private type = '';
  comments = 0;

  push(chunk: string): SseEvent[] {
    const out: SseEvent[] = [];
    let p = this.pending + chunk;
    let pos = 0;
    if (this.skipLF && p.length > 0) { this.skipLF = false; if (p[0] === '\n') pos = 1; }
    while (pos < p.length) {
      let j = pos;
      while (j < p.length && p[j] !== '\n' && p[j] !== '\r') j++;
      if (j >= p.length) break;
      const line = p.slice(pos, j);
      if (p[j] === '\r' && j + 1 >= p.length) { pos = j + 1; this.skipLF = true; }
      else pos = j + (p[j] === '\r' && p[j + 1] === '\n' ? 2 : 1);
      this.line(line, out);
    }
    this.pending = p.slice(pos);
    p = '';
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data.length) out.push({ data: this.data.join('\n'), event: this.type || 'message' });
      this.data = [];
      this.type = '';
      return;
    }
    if (line.startsWith(':')) { this.comments++; return; }
    const c = line.indexOf(':');
    const field = c < 0 ? line : line.slice(0, c);
    let value = c < 0 ? '' : line.slice(c + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.type = value;
  }

  /** What is left unterminated at the end of the stream (a complete stream leaves nothing). */
  get leftover(): string { return this.pending + (this.data.length ? '<undispatched data>' : ''); }
}

export interface StreamView {
  events: Array<{ data: string; json: any | null }>;
  doneCount: number;
  doneLast: boolean;
  /** Content-bearing events received, content characters (UTF-16 units), text per choice index. */
  contentEvents: number;
  contentChars: number;
  texts: string[];
  /** Every non-null usage object seen, in order. */
  usages: Usage[];
  badJson: string[];
  leftover: string;
}

export interface ClientResult {
  status: number;
  requestId: string | null;
  contentType: string;
  /** The bytes received, decoded. */
  raw: string;
  bytes: number;
  /** The client gave up (abortAfterBytes/abortAfterMs reached) before the end of the body. */
  aborted: boolean;
  networkError: string | null;
  json: any | null;
  stream: StreamView | null;
  /** performance.now() when the first content-bearing event was parsed. */
  firstContentAt: number | null;
}

export interface CallOptions {
  /** Abort after at least this many body bytes of an event stream have arrived. */
  abortAfterBytes?: number;
  /** Abort this long after sending (any request). */
  abortAfterMs?: number;
  /** Abort after this many content-bearing events. */
  abortAfterContentEvents?: number;
  /** Called once, when the first content-bearing event has been parsed. */
  onFirstContent?: () => void;
}

const contentOf = (choice: any): string => {
  const c = choice?.delta?.content ?? choice?.text ?? choice?.message?.content;
  return typeof c === 'string' ? c : '';
};

export async function callGateway(url: string, key: string, path: string, body: unknown, opts: CallOptions = {}): Promise<ClientResult> {
  const ac = new AbortController();
  const timer = opts.abortAfterMs !== undefined ? setTimeout(() => ac.abort(), opts.abortAfterMs) : null;
  const r: ClientResult = { status: 0, requestId: null, contentType: '', raw: '', bytes: 0, aborted: false, networkError: null, json: null, stream: null, firstContentAt: null };
  try {
    const res = await fetch(url + path, {
      method: 'POST', signal: ac.signal,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    r.status = res.status;
    r.requestId = res.headers.get('x-request-id');
    r.contentType = res.headers.get('content-type') ?? '';
    const isStream = r.contentType.startsWith('text/event-stream');
    const view: StreamView = { events: [], doneCount: 0, doneLast: false, contentEvents: 0, contentChars: 0, texts: [], usages: [], badJson: [], leftover: '' };
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const reader = res.body!.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        r.bytes += value.length;
        const text = decoder.decode(value, { stream: true });
        r.raw += text;
        if (isStream) {
          for (const ev of parser.push(text)) {
            if (ev.data === '[DONE]') { view.doneCount++; view.events.push({ data: ev.data, json: null }); continue; }
            let json: any = null;
            try { json = JSON.parse(ev.data); } catch { view.badJson.push(ev.data.slice(0, 200)); }
            view.events.push({ data: ev.data, json });
            if (!json) continue;
            if (json.usage != null) view.usages.push(json.usage);
            let content = false;
            for (const ch of Array.isArray(json.choices) ? json.choices : []) {
              const c = contentOf(ch);
              if (!c) continue;
              content = true;
              view.contentChars += c.length;
              const i = typeof ch.index === 'number' ? ch.index : 0;
              view.texts[i] = (view.texts[i] ?? '') + c;
            }
            if (content) {
              view.contentEvents++;
              if (r.firstContentAt === null) { r.firstContentAt = performance.now(); opts.onFirstContent?.(); }
            }
          }
          if (opts.abortAfterContentEvents !== undefined && view.contentEvents >= opts.abortAfterContentEvents) { r.aborted = true; ac.abort(); break; }
        }
        if (isStream && opts.abortAfterBytes !== undefined && r.bytes >= opts.abortAfterBytes) { r.aborted = true; ac.abort(); break; }
      }
    } catch (err) {
      if (ac.signal.aborted) r.aborted = true; else r.networkError = (err as Error).message;
    }
    r.raw += decoder.decode();
    if (isStream) {
      const last = view.events[view.events.length - 1];
      view.doneLast = last?.data === '[DONE]';
      view.leftover = parser.leftover;
      r.stream = view;
    } else if (!r.aborted) {
      try { r.json = JSON.parse(r.raw); } catch { r.json = null; }
    }
  } catch (err) {
    if (ac.signal.aborted) r.aborted = true; else r.networkError = (err as Error).message;
  } finally {
    if (timer) clearTimeout(timer);
  }
  return r;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) { const i = next++; out[i] = await fn(items[i]!, i); }
  }));
  return out;
}

// ---------------------------------------------------------------- the ledger

export interface EventRow {
  id: string; key_id: string; user_id: string; model_id: string; status: number;
  prompt_tokens: number; completion_tokens: number; cost: string; estimated: boolean; error_code: string | null; stream: boolean;
}

export async function eventsOfKeys(sys: System, keyIds: string[]): Promise<EventRow[]> {
  if (keyIds.length === 0) return [];
  return await sys.server.store.db.selectFrom('usage_events')
    .select(['id', 'key_id', 'user_id', 'model_id', 'status', 'prompt_tokens', 'completion_tokens', 'cost', 'estimated', 'error_code', 'stream'])
    .where('key_id', 'in', keyIds).execute() as EventRow[];
}

export const sumCost = (rows: EventRow[]): bigint => rows.reduce((a, r) => a + toPico(r.cost), 0n);

/**
 * Waits until everything sent so far is over: upstream answers finished or
 * aborted, the gateway has no request in flight (a client that just left is
 * noticed on a later tick), and the ledger has written what it holds. Then the
 * usage events of `keyIds`, waiting up to `timeoutMs` more for those of `ids`.
 */
export async function settledEvents(h: Harness, keyIds: string[], ids: string[] = [], timeoutMs = 3000): Promise<EventRow[]> {
  const deadline = Date.now() + timeoutMs;
  await h.mock.settled();
  while (h.sys.server.gateway.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  for (;;) {
    await new Promise((r) => setTimeout(r, 10));
    await h.sys.server.ledger.drain();
    const rows = await eventsOfKeys(h.sys, keyIds);
    const have = new Set(rows.map((e) => e.id));
    if (ids.every((id) => have.has(id)) || Date.now() > deadline) return rows;
  }
}

// ---------------------------------------------------------------- the checks

export interface Expectation {
  publicModel: string;
  upstreamModel: string;
  /** The client asked for the final usage chunk (stream_options.include_usage === true). */
  includeUsage: boolean;
}

/** What a client that got a 2xx must see: the public model everywhere, no upstream name, its content intact; for streams LF framing, no usage it did not ask for, [DONE] last. */
export function checkAnswer(r: ClientResult, m: MockRecord | undefined, x: Expectation): string[] {
  const v: string[] = [];
  if (r.raw.includes(x.upstreamModel)) v.push('the upstream model name reached the client');
  if (r.stream) {
    const s = r.stream;
    if (r.raw.includes('\r')) v.push('client-facing framing is not LF (a CR byte was sent)');
    if (s.badJson.length) v.push(`an event's data is not JSON: ${JSON.stringify(s.badJson[0])}`);
    if (!r.aborted) {
      if (s.doneCount !== 1 || !s.doneLast) v.push(`[DONE] is not the last event exactly once (count ${s.doneCount}, last ${s.doneLast})`);
      if (s.leftover) v.push(`stream ended with an unterminated event: ${JSON.stringify(s.leftover.slice(0, 80))}`);
    }
    for (const e of s.events) {
      if (e.json && 'model' in e.json && e.json.model !== x.publicModel) { v.push(`an event's model is ${JSON.stringify(e.json.model)}, not the public id`); break; }
    }
    for (const e of s.events) if (e.json && !('model' in e.json)) { v.push('an event has no model field'); break; }
    if (!x.includeUsage) {
      if (s.usages.length) v.push(`usage leaked to a client that did not ask (${s.usages.length} chunk(s) with non-null usage)`);
      if (s.events.some((e) => Array.isArray(e.json?.choices) && e.json.choices.length === 0)) v.push('the usage-only chunk (choices: []) reached a client that did not ask');
    } else if (m?.usage && !r.aborted) {
      const lastJson = [...s.events].reverse().find((e) => e.json);
      const u = lastJson?.json?.usage;
      if (!u || u.prompt_tokens !== m.usage.prompt_tokens || u.completion_tokens !== m.usage.completion_tokens) {
        v.push(`the client asked for usage but the last chunk's usage is ${JSON.stringify(u ?? null)}, upstream said ${JSON.stringify(m.usage)}`);
      }
    }
    if (m && !r.aborted) {
      const want = m.texts.map((t) => t ?? '');
      const got = want.map((_, i) => s.texts[i] ?? '');
      if (!isDeepStrictEqual(got, want) || s.texts.length > want.length) v.push(`delivered content differs from what upstream generated (got ${JSON.stringify(s.texts).slice(0, 160)}, want ${JSON.stringify(want).slice(0, 160)})`);
    }
  } else if (r.json) {
    if (r.json.model !== x.publicModel) v.push(`the JSON answer's model is ${JSON.stringify(r.json.model)}`);
    if (m?.text) {
      let up: any;
      try { up = JSON.parse(m.text); } catch { up = null; }
      if (up) {
        up.model = x.publicModel;
        if (!isDeepStrictEqual(r.json, up)) v.push('the JSON answer differs from the upstream body beyond the model rename');
      }
    }
  } else if (!r.aborted) v.push(`a 2xx answer that is neither SSE nor JSON (content-type ${r.contentType})`);
  return v;
}

/**
 * The one usage event of a request the client saw answered 2xx. Complete
 * answers: exact usage when upstream reported it, else estimated within
 * [content events, content characters]. Disconnects: at least the last usage
 * or the content the client saw, at most what upstream could generate for a
 * one-token prompt (the most a gateway without a tokenizer can know).
 */
export function checkBilling(rows: EventRow[], r: ClientResult, m: MockRecord | undefined): string[] {
  const v: string[] = [];
  if (rows.length !== 1) return [`${rows.length} usage events for one answered request`];
  const e = rows[0]!;
  const completed = r.stream ? r.stream.doneCount > 0 && !r.aborted : !r.aborted;
  const seenEvents = r.stream ? r.stream.contentEvents : r.json ? (r.json.choices ?? []).filter((c: any) => contentOf(c)).length : 0;
  const seenChars = r.stream ? r.stream.contentChars : r.json ? (r.json.choices ?? []).reduce((a: number, c: any) => a + contentOf(c).length, 0) : 0;
  if (completed || e.status === 200) {
    if (e.status !== 200) v.push(`status ${e.status} recorded for a completed answer`);
    if (!m) return [...v, 'no upstream record for a completed answer'];
    if (m.usage) {
      if (e.prompt_tokens !== m.usage.prompt_tokens || e.completion_tokens !== m.usage.completion_tokens) {
        v.push(`billed ${e.prompt_tokens}+${e.completion_tokens} tokens, upstream reported ${m.usage.prompt_tokens}+${m.usage.completion_tokens}`);
      }
      if (e.estimated) v.push('marked estimated although upstream reported usage');
    } else if (completed) {
      if (!e.estimated) v.push('not marked estimated although upstream sent no usage');
      if (e.completion_tokens < seenEvents || e.completion_tokens > Math.max(seenChars, seenEvents)) {
        v.push(`estimated ${e.completion_tokens} completion tokens, outside [${seenEvents} content events, ${seenChars} content characters]`);
      }
      if (seenChars > 0 && e.completion_tokens === 0) v.push('0 completion tokens billed for delivered content');
    }
    return v;
  }
  // The client left mid-answer.
  if (e.status !== 499) v.push(`status ${e.status} recorded for a client that disconnected mid-stream (want 499)`);
  const lastSeen = r.stream?.usages.length ? r.stream.usages[r.stream.usages.length - 1]!.completion_tokens : 0;
  const floor = Math.max(lastSeen, seenEvents);
  if (e.completion_tokens < floor) v.push(`disconnect billed ${e.completion_tokens} completion tokens, below what the client saw (${seenEvents} content events, last usage ${lastSeen})`);
  // Upstream's maximum as the gateway can know it: for a one-token prompt (it cannot count prompt tokens).
  if (m && e.completion_tokens > m.maxForAnyPrompt) v.push(`disconnect billed ${e.completion_tokens} completion tokens, above the most upstream could generate (${m.maxForAnyPrompt})`);
  if (seenChars > 0 && e.completion_tokens === 0) v.push('0 completion tokens billed for delivered content');
  return v;
}

/** An OpenAI-format error body. */
export function checkErrorShape(r: ClientResult): string[] {
  const e = r.json?.error;
  if (!e || typeof e !== 'object') return [`${r.status} without an OpenAI error body: ${r.raw.slice(0, 120)}`];
  const v: string[] = [];
  if (typeof e.message !== 'string') v.push('error.message is not a string');
  if (typeof e.type !== 'string') v.push('error.type is not a string');
  if (!('param' in e) || !(e.param === null || typeof e.param === 'string')) v.push('error.param missing');
  if (!('code' in e) || !(e.code === null || typeof e.code === 'string')) v.push('error.code missing');
  if (!r.requestId) v.push('no x-request-id on an error');
  return v;
}

/** Groups violations into lines "<group>: <violation> ×count (e.g. <example>)". */
export class Violations {
  private readonly m = new Map<string, { count: number; example: string }>();
  add(group: string, found: string[], example: string): void {
    for (const f of found) {
      const k = `${group}: ${f.replace(/\d+/g, 'N')}`;
      const cur = this.m.get(k);
      if (cur) cur.count++; else this.m.set(k, { count: 1, example: `${f} — ${example}` });
    }
  }
  list(): string[] { return [...this.m.entries()].map(([k, { count, example }]) => `${k} ×${count} (e.g. ${example})`); }
  get size(): number { return this.m.size; }
}

export type { MockScript };
