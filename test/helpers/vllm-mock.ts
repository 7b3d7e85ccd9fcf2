/**
 * A vLLM-faithful mock upstream (node:http, port 0) for the gateway's metering
 * tests. It honours what a request asks for — `n`, `best_of` (generates
 * best_of sequences per prompt, returns the first n), `max_tokens` /
 * `max_completion_tokens` (max_completion_tokens wins when both are set, as in
 * vLLM), completions prompts as a string, strings, token ids or lists of token
 * ids (n choices per prompt, index = prompt × n + j), the served model's
 * context length (no max → up to context − prompt; a max beyond the room is a
 * 400 as in vLLM, or clamped with `clampMax`), `stream_options.include_usage`
 * and `continuous_usage_stats` — and answers deterministically: tokens are
 * words of a vocabulary, `usage` is exact (prompt tokens counted here,
 * completion = every generated token, hidden best_of sequences included).
 * Where it simplifies vLLM: continuous usage counts the tokens of all choices so
 * far (vLLM's counts one choice's); a stream with best_of > n is refused with a
 * 400 (vLLM answers it unstreamed); stream_options without stream is a 400, as in vLLM.
 *
 * How it answers (framing, usage, split writes, delays) is chosen per request
 * by a script: the `x-mock` header (JSON) or, since a gateway forwards the body
 * and not the client's headers, the body field `x_mock`. Every request is
 * recorded: what was planned, the usage reported, and what was written before
 * the socket closed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export type Eol = 'lf' | 'crlf' | 'cr';

export interface MockScript {
  /** Names the request's record (`mock.record(tag)`) and its gate. */
  tag?: string;
  /** Line ends of the SSE framing (default lf). */
  eol?: Eol;
  /** compact (vLLM/pydantic), spaced (Python json.dumps: `", "`, `": "`, non-ASCII as \uXXXX), pretty (JSON bodies only; indented). */
  json?: 'compact' | 'spaced' | 'pretty';
  /** `: ping` comment lines: a comment-only block before the first event and a comment line in every event. */
  comments?: boolean;
  /** Each event's JSON split over several `data:` lines (at commas outside strings). */
  multiline?: boolean;
  /** `event: message` and `id: <n>` lines in every event. */
  eventLines?: boolean;
  /** Tokens per content event (default 1). */
  perChunk?: number;
  /** auto: as the request asks (stream_options); none: never any usage, JSON included; continuous: usage on every chunk and at the end, asked or not. */
  usage?: 'auto' | 'none' | 'continuous';
  /** OpenAI style `"usage":null` on every chunk when include_usage is on and usage is not continuous. */
  nullUsage?: boolean;
  /** Byte offsets of the whole response body at which writes are split (else one write per SSE event, or one write for JSON). */
  splits?: number[];
  /** Pause between writes (default 2 ms when `splits` is set, else 0); one write per event pauses only in its first 64 gaps, so a long answer stays quick. */
  delayMs?: number;
  /** After the write that completes the first content event, hold the rest until `release(tag)` (or the timeout). */
  gate?: boolean;
  gateTimeoutMs?: number;
  /** Sequence j stops ('stop') after stopAt + (j mod 3) tokens when that is below its maximum. */
  stopAt?: number;
  /** A max_tokens beyond the context's room is clamped (like the project's simulator) instead of vLLM's 400. */
  clampMax?: boolean;
  /** Vocabulary of the generated tokens (each token is one entry). */
  words?: string[];
}

/** Tokens with escapes, multi-byte UTF-8 and SSE/usage look-alikes; never the upstream model name. */
export const DEFAULT_WORDS = [
  ' alpha', ' "quoted"', ' é', ' 😀', ' back\\slash', ' new\nline', ' data: x', ' [DONE]', ' 日本',
  ' {"usage":{"prompt_tokens":7,"completion_tokens":7}}', ' tab\t', ' omega', ' \r\n', ' ok',
];

export interface Usage { prompt_tokens: number; total_tokens: number; completion_tokens: number }

export interface MockRecord {
  tag: string;
  path: string;
  /** The body as the mock received it (what the gateway forwarded). */
  body: Record<string, unknown>;
  script: MockScript;
  status: number;
  error: string | null;
  stream: boolean;
  /** Returned choices, by index: their text. */
  texts: string[];
  /** Tokens generated, hidden best_of sequences included; the usage's completion_tokens. */
  generated: number;
  /** The most the request allowed: per-sequence maximum × sequences. */
  maxPossible: number;
  /** The same for a one-token prompt: the most a gateway, which cannot count prompt tokens, can know the request may generate. */
  maxForAnyPrompt: number;
  /** The final usage sent (null when none was). */
  usage: Usage | null;
  /** Content-bearing events and content characters (UTF-16 units) of the full answer. */
  contentEvents: number;
  contentChars: number;
  bytesPlanned: number;
  bytesWritten: number;
  /** The socket closed before the whole answer was written. */
  closedEarly: boolean;
  /** How a gate was passed: null when the request was not gated. */
  gate: 'client' | 'timeout' | 'closed' | null;
  /** The full response body as planned (JSON answers and SSE streams). */
  text: string;
  tStart: number;
  tLastWrite: number;
  done: Promise<void>;
}

export interface ServedModel { contextLength: number }

interface Seq { prompt: number; index: number; tokens: string[]; finish: 'stop' | 'length' }
interface Plan {
  kind: 'chat' | 'completions'; id: string; model: string; promptTokens: number;
  returned: Seq[]; generated: number; maxPossible: number; maxForAnyPrompt: number; stream: boolean; includeUsage: boolean; continuous: boolean;
}
class Refusal { constructor(readonly status: number, readonly message: string, readonly param: string | null = null, readonly code: string | number = 400) {} }

const CREATED = 1_700_000_000;
/** A request may never make the mock generate more than this (a guard, not a vLLM behaviour). */
export const MOCK_TOKEN_LIMIT = 400_000;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const words = (s: string) => s.split(/\s+/).filter(Boolean).length;
const textOf = (c: unknown): string => typeof c === 'string' ? c
  : Array.isArray(c) ? c.map((p) => (isObj(p) && typeof p.text === 'string' ? p.text : '')).join(' ') : '';

/** Prompt token counts, one per prompt. */
function prompts(kind: 'chat' | 'completions', body: Record<string, unknown>): number[] {
  if (kind === 'chat') {
    const m = body.messages;
    if (!Array.isArray(m) || m.length === 0 || !m.every((x) => isObj(x) && typeof x.role === 'string')) throw new Refusal(400, 'messages must be a non-empty list of messages', 'messages');
    return [3 + m.reduce((n: number, x) => n + 4 + words(textOf((x as { content?: unknown }).content)), 0)];
  }
  const p = body.prompt;
  const ids = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every(isInt);
  if (typeof p === 'string') return [Math.max(1, words(p))];
  if (ids(p)) return [p.length];
  if (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string')) return (p as string[]).map((s) => Math.max(1, words(s)));
  if (Array.isArray(p) && p.length > 0 && p.every(ids)) return (p as number[][]).map((a) => a.length);
  throw new Refusal(400, 'prompt must be a string, a list of strings, a list of token ids or a list of token-id lists', 'prompt');
}

function optInt(body: Record<string, unknown>, field: string, min: number): number | null {
  const v = body[field];
  if (v === undefined || v === null) return null;
  if (!isInt(v) || v < min) throw new Refusal(400, `${field} must be an integer of at least ${min}`, field);
  return v;
}

let seqNo = 0;

function plan(kind: 'chat' | 'completions', body: Record<string, unknown>, s: MockScript, served: ServedModel): Plan {
  const counts = prompts(kind, body);
  const n = optInt(body, 'n', 1) ?? 1;
  const bestOf = optInt(body, 'best_of', 1) ?? n;
  if (bestOf < n) throw new Refusal(400, `best_of must be greater than or equal to n, got n=${n} and best_of=${bestOf}`, 'best_of');
  const stream = body.stream === true;
  if (stream && bestOf > n) throw new Refusal(400, 'best_of != n is not supported when streaming', 'best_of');
  const so = body.stream_options;
  if (so != null && !stream) throw new Refusal(400, 'Stream options can only be defined when `stream=True`.', 'stream_options');
  const maxTokens = optInt(body, 'max_tokens', 1);
  const maxCompletion = optInt(body, 'max_completion_tokens', 1);
  const requested = maxCompletion ?? maxTokens;
  const perSeqMax = counts.map((p) => {
    const room = served.contextLength - p;
    if (room < 1) throw new Refusal(400, `This model's maximum context length is ${served.contextLength} tokens. However, your prompt has ${p} tokens.`, kind === 'chat' ? 'messages' : 'prompt');
    if (requested === null) return room;
    if (requested > room && !s.clampMax) {
      throw new Refusal(400, `This model's maximum context length is ${served.contextLength} tokens. However, you requested ${p + requested} tokens (${p} in the prompt, ${requested} in the completion).`, maxCompletion !== null ? 'max_completion_tokens' : 'max_tokens');
    }
    return Math.min(requested, room);
  });
  const maxPossible = perSeqMax.reduce((a, m) => a + m * bestOf, 0);
  const maxForAnyPrompt = counts.length * bestOf * (requested === null ? served.contextLength - 1 : Math.min(requested, served.contextLength - 1));
  if (maxPossible > MOCK_TOKEN_LIMIT) throw new Refusal(400, `mock: refusing a request that may generate ${maxPossible} tokens`, null, 'mock_limit');
  const vocab = s.words?.length ? s.words : DEFAULT_WORDS;
  const returned: Seq[] = [];
  let generated = 0;
  counts.forEach((_, p) => {
    for (let j = 0; j < bestOf; j++) {
      const len = Math.min(perSeqMax[p]!, s.stopAt !== undefined ? Math.max(1, s.stopAt + (j % 3)) : Infinity);
      generated += len;
      if (j >= n) continue; // a hidden best_of sequence: generated and billed, not returned
      const tokens = Array.from({ length: len }, (_, t) => vocab[(p * 31 + j * 7 + t) % vocab.length]!);
      returned.push({ prompt: p, index: p * n + j, tokens, finish: len < perSeqMax[p]! ? 'stop' : 'length' });
    }
  });
  const includeUsage = stream && isObj(so) && so.include_usage === true;
  return {
    kind, id: `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${String(++seqNo).padStart(8, '0')}`, model: String(body.model),
    promptTokens: counts.reduce((a, b) => a + b, 0), returned, generated, maxPossible, maxForAnyPrompt, stream, includeUsage,
    continuous: includeUsage && isObj(so) && so.continuous_usage_stats === true,
  };
}

/** Python json.dumps defaults: `", "` and `": "` separators, non-ASCII escaped. */
export function spacedJson(v: unknown): string {
  const s = JSON.stringify(v);
  let out = '';
  let inStr = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const code = c.charCodeAt(0);
    if (code > 0x7f) { out += '\\u' + code.toString(16).padStart(4, '0'); continue; }
    out += c;
    if (inStr) {
      if (c === '\\') out += s[++i]!;
      else if (c === '"') inStr = false;
    } else if (c === '"') inStr = true;
    else if (c === ',' || c === ':') out += ' ';
  }
  return out;
}

/** Splits JSON text after every third comma outside strings (joined with \n it is the same JSON). */
function jsonLines(s: string): string[] {
  const lines: string[] = [];
  let start = 0;
  let commas = 0;
  let inStr = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inStr) { if (c === '\\') i++; else if (c === '"') inStr = false; }
    else if (c === '"') inStr = true;
    else if (c === ',' && ++commas % 3 === 0) { lines.push(s.slice(start, i + 1)); start = i + 1; }
  }
  lines.push(s.slice(start));
  return lines;
}

const EOLS: Record<Eol, string> = { lf: '\n', crlf: '\r\n', cr: '\r' };

interface Rendered { text: string; eventEnds: number[]; firstContentEnd: number; contentEvents: number; contentChars: number; usage: Usage | null }

function renderStream(p: Plan, s: MockScript): Rendered {
  const eol = EOLS[s.eol ?? 'lf'];
  const json = (o: unknown) => (s.json === 'spaced' ? spacedJson(o) : JSON.stringify(o));
  const chat = p.kind === 'chat';
  const usageMode = s.usage ?? 'auto';
  const continuous = usageMode === 'continuous' || (usageMode === 'auto' && p.continuous);
  const finalUsage = usageMode !== 'none' && (p.includeUsage || usageMode === 'continuous');
  const usageAt = (completion: number): Usage => ({ prompt_tokens: p.promptTokens, total_tokens: p.promptTokens + completion, completion_tokens: completion });
  const head = { id: p.id, object: chat ? 'chat.completion.chunk' : 'text_completion', created: CREATED, model: p.model };
  let text = s.comments ? `: ping${eol}${eol}` : '';
  let bytes = Buffer.byteLength(text);
  const eventEnds: number[] = [];
  let firstContentEnd = -1;
  let contentEvents = 0;
  let contentChars = 0;
  let counter = 0;
  const event = (data: string, content = '') => {
    const lines: string[] = [];
    if (s.comments) lines.push(': ping');
    if (s.eventLines) lines.push('event: message', `id: ${++counter}`);
    if (s.multiline && data.startsWith('{')) jsonLines(data).forEach((l, i) => lines.push(i === 0 ? `data: ${l}` : `data:${l}`));
    else lines.push(`data: ${data}`);
    const ev = lines.join(eol) + eol + eol;
    text += ev;
    bytes += Buffer.byteLength(ev);
    eventEnds.push(bytes);
    if (content) {
      contentEvents++;
      contentChars += content.length;
      if (firstContentEnd < 0) firstContentEnd = bytes;
    }
  };
  let completion = 0;
  const chunk = (choice: Record<string, unknown>, content: string) => {
    const o: Record<string, unknown> = { ...head, choices: [choice] };
    if (continuous) o.usage = usageAt(completion);
    else if (p.includeUsage && s.nullUsage && usageMode !== 'none') o.usage = null;
    event(json(o), content);
  };
  if (chat) for (const q of p.returned) chunk({ index: q.index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }, '');
  const k = Math.max(1, s.perChunk ?? 1);
  const at = p.returned.map(() => 0);
  for (let more = true; more;) {
    more = false;
    p.returned.forEach((q, i) => {
      if (at[i]! >= q.tokens.length) return;
      const piece = q.tokens.slice(at[i], at[i]! + k);
      at[i]! += piece.length;
      completion += piece.length;
      const content = piece.join('');
      const finish = at[i]! >= q.tokens.length ? q.finish : null;
      chunk(chat ? { index: q.index, delta: { content }, logprobs: null, finish_reason: finish }
        : { index: q.index, text: content, logprobs: null, finish_reason: finish, stop_reason: null }, content);
      more = true;
    });
  }
  const usage = finalUsage ? usageAt(p.generated) : null;
  if (usage) event(json({ ...head, choices: [], usage }));
  event('[DONE]');
  return { text, eventEnds, firstContentEnd, contentEvents, contentChars, usage };
}

function renderJson(p: Plan, s: MockScript): { text: string; usage: Usage | null; contentEvents: number; contentChars: number } {
  const chat = p.kind === 'chat';
  const usage = s.usage === 'none' ? null : { prompt_tokens: p.promptTokens, total_tokens: p.promptTokens + p.generated, completion_tokens: p.generated };
  const o: Record<string, unknown> = {
    id: p.id, object: chat ? 'chat.completion' : 'text_completion', created: CREATED, model: p.model,
    choices: p.returned.map((q) => (chat
      ? { index: q.index, message: { role: 'assistant', content: q.tokens.join(''), tool_calls: [] }, logprobs: null, finish_reason: q.finish, stop_reason: null }
      : { index: q.index, text: q.tokens.join(''), logprobs: null, finish_reason: q.finish, stop_reason: null, prompt_logprobs: null })),
  };
  if (usage) o.usage = { ...usage, prompt_tokens_details: null };
  o.prompt_logprobs = null; // after usage, as vLLM orders its fields
  const text = s.json === 'spaced' ? spacedJson(o) : s.json === 'pretty' ? JSON.stringify(o, null, 2) : JSON.stringify(o);
  const contents = p.returned.map((q) => q.tokens.join(''));
  return { text, usage, contentEvents: contents.filter(Boolean).length, contentChars: contents.reduce((a, c) => a + c.length, 0) };
}

export class VllmMock {
  readonly records: MockRecord[] = [];
  private readonly byTag = new Map<string, MockRecord>();
  private readonly gates = new Map<string, (how: 'client' | 'closed') => void>();
  private readonly released = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private anon = 0;
  url = '';

  constructor(private readonly served: Record<string, ServedModel>, private readonly server: Server = createServer()) {
    server.on('request', (req, res) => { void this.handle(req, res); });
  }

  record(tag: string): MockRecord | undefined { return this.byTag.get(tag); }

  /** Lets a gated request continue (or lets it pass its gate without waiting, if it has not reached it yet). */
  release(tag: string): void {
    const g = this.gates.get(tag);
    if (g) g('client'); else this.released.add(tag);
  }

  /** Resolves once every request so far has finished or lost its socket. */
  async settled(): Promise<void> { await Promise.all(this.records.map((r) => r.done)); }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => { const t = setTimeout(() => { this.timers.delete(t); r(); }, ms); this.timers.add(t); });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = (req.url ?? '').split('?')[0]!;
    if (req.method === 'GET' && path === '/v1/models') {
      return this.send(res, 200, JSON.stringify({ object: 'list', data: Object.entries(this.served).map(([id, m]) => ({ id, object: 'model', owned_by: 'vllm', max_model_len: m.contextLength })) }));
    }
    if (req.method === 'GET' && path === '/health') return this.send(res, 200, '');
    const kind = path === '/v1/chat/completions' ? 'chat' : path === '/v1/completions' ? 'completions' : null;
    if (req.method !== 'POST' || !kind) return this.send(res, 404, JSON.stringify({ object: 'error', message: 'Not Found', type: 'NotFoundError', param: null, code: 404 }));
    let body: Record<string, unknown>;
    try {
      const b = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      if (!isObj(b)) throw new Error('not an object');
      body = b;
    } catch {
      return this.send(res, 400, JSON.stringify({ object: 'error', message: 'invalid JSON body', type: 'BadRequestError', param: null, code: 400 }));
    }
    const header = req.headers['x-mock'];
    const script = (typeof header === 'string' ? JSON.parse(header) : isObj(body.x_mock) ? body.x_mock : {}) as MockScript;
    let resolveDone!: () => void;
    const rec: MockRecord = {
      tag: script.tag ?? `anon-${++this.anon}`, path, body, script, status: 0, error: null, stream: body.stream === true,
      texts: [], generated: 0, maxPossible: 0, maxForAnyPrompt: 0, usage: null, contentEvents: 0, contentChars: 0,
      bytesPlanned: 0, bytesWritten: 0, closedEarly: false, gate: null, text: '',
      tStart: performance.now(), tLastWrite: 0, done: new Promise<void>((r) => (resolveDone = r)),
    };
    this.records.push(rec);
    this.byTag.set(rec.tag, rec);
    let closed = false;
    res.on('close', () => {
      closed = true;
      rec.closedEarly = !res.writableFinished;
      this.gates.get(rec.tag)?.('closed');
      resolveDone();
    });
    try {
      const served = this.served[String(body.model)];
      if (!served) throw new Refusal(404, 'The model does not exist.', 'model', 404);
      const p = plan(kind, body, script, served);
      rec.texts = [];
      for (const q of p.returned) rec.texts[q.index] = q.tokens.join('');
      rec.generated = p.generated;
      rec.maxPossible = p.maxPossible;
      rec.maxForAnyPrompt = p.maxForAnyPrompt;
      const r = p.stream ? renderStream(p, script) : renderJson(p, script);
      Object.assign(rec, { status: 200, usage: r.usage, contentEvents: r.contentEvents, contentChars: r.contentChars, text: r.text });
      const bytes = Buffer.from(r.text, 'utf8');
      rec.bytesPlanned = bytes.length;
      const cuts = script.splits?.length ? [...new Set(script.splits)].filter((x) => x > 0 && x < bytes.length).sort((a, b) => a - b)
        : p.stream ? (r as Rendered).eventEnds.slice(0, -1) : [];
      const firstContentEnd = p.stream ? (r as Rendered).firstContentEnd : -1;
      res.writeHead(200, p.stream
        ? { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }
        : { 'content-type': 'application/json', 'content-length': bytes.length });
      const delay = script.delayMs ?? (script.splits?.length ? 2 : 0);
      let from = 0;
      let gaps = 0;
      for (const to of [...cuts, bytes.length]) {
        if (closed) return;
        const piece = bytes.subarray(from, to);
        const drained = res.write(piece);
        rec.bytesWritten += piece.length;
        rec.tLastWrite = performance.now();
        from = to;
        if (to === bytes.length) break;
        if (!drained) {
          await new Promise<void>((r) => {
            const go = () => { res.off('drain', go); res.off('close', go); r(); };
            res.on('drain', go);
            res.on('close', go);
          });
        }
        if (script.gate && rec.gate === null && firstContentEnd > 0 && to >= firstContentEnd) rec.gate = await this.gateFor(rec.tag, script.gateTimeoutMs ?? 2000);
        else if (delay > 0 && (script.splits?.length || gaps++ < 64)) await this.sleep(delay);
      }
      if (!closed) res.end();
    } catch (err) {
      const e = err instanceof Refusal ? err : new Refusal(500, (err as Error).message, null, 500);
      rec.status = e.status;
      rec.error = e.message;
      this.send(res, e.status, JSON.stringify({ object: 'error', message: e.message, type: e.status === 404 ? 'NotFoundError' : 'BadRequestError', param: e.param, code: e.code }));
    }
  }

  private gateFor(tag: string, timeoutMs: number): Promise<'client' | 'timeout' | 'closed'> {
    if (this.released.delete(tag)) return Promise.resolve('client');
    return new Promise((resolve) => {
      const t = setTimeout(() => done('timeout'), timeoutMs);
      this.timers.add(t);
      const done = (how: 'client' | 'timeout' | 'closed') => {
        clearTimeout(t);
        this.timers.delete(t);
        this.gates.delete(tag);
        resolve(how);
      };
      this.gates.set(tag, done);
    });
  }

  private send(res: ServerResponse, status: number, text: string): void {
    if (res.headersSent) { res.destroy(); return; }
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  async listen(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const g of [...this.gates.values()]) g('closed');
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** A mock serving `served` (upstream model name → its context length), listening on 127.0.0.1:0. */
export function startVllmMock(served: Record<string, ServedModel>): Promise<VllmMock> {
  return new VllmMock(served).listen();
}
