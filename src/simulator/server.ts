/**
 * @module The simulator: an OpenAI/vLLM-compatible model server on node:http
 * (no framework: it is the upstream in benchmarks). Deterministic text and
 * token counts, real SSE framing with the usage chunk vLLM sends, latency
 * knobs and fault injection per request (headers) or by rate (options).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { chatPromptTokens, contentText, countTokens, generate } from './text.js';
import { embed, toBase64 } from './embeddings.js';

export type FaultKind = '429' | '500' | '503' | 'reset' | 'reset-mid' | 'hang';
export interface SimulatorOptions {
  port?: number; host?: string; servedModelName?: string; apiKey?: string;
  ttftMs?: number; itlMs?: number; faultRate?: number; faultKind?: FaultKind;
  embeddingDim?: number; maxModelLen?: number; quiet?: boolean;
}
export interface RunningSimulator { url: string; port: number; close(): Promise<void>; stats: { requests: number; aborted: number } }

const FAULTS = new Set(['429', '500', '503', 'reset', 'reset-mid', 'hang']);

function error(res: ServerResponse, status: number, message: string, code: string | null = null, type = 'BadRequestError'): void {
  const body = JSON.stringify({ error: { message, type, param: null, code: code ?? status } });
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (status === 429) headers['retry-after'] = 1;
  res.writeHead(status, headers);
  res.end(body);
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      try { resolve(JSON.parse(Buffer.concat(parts).toString('utf8'))); } catch { reject(new Error('invalid JSON')); }
    });
    req.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const num = (v: unknown): number | null => { const n = Number(v); return v !== undefined && Number.isFinite(n) && n >= 0 ? n : null; };

export async function startSimulator(opts: SimulatorOptions = {}): Promise<RunningSimulator> {
  const names = (opts.servedModelName ?? 'llama32-fp8').split(',').map((s) => s.trim()).filter(Boolean);
  const maxLen = opts.maxModelLen ?? 8192;
  const dim = opts.embeddingDim ?? 384;
  const created = Math.floor(Date.now() / 1000);
  const stats = { requests: 0, aborted: 0 };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'GET' && path === '/health') { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"status":"ok"}'); return; }
    if (opts.apiKey && req.headers.authorization !== `Bearer ${opts.apiKey}`) return error(res, 401, 'Invalid or missing API key', 'invalid_api_key', 'AuthenticationError');
    if (req.method === 'GET' && path === '/v1/models') {
      const data = names.map((id) => ({ id, object: 'model', created, owned_by: 'vllm', root: id, parent: null, max_model_len: maxLen }));
      const body = JSON.stringify({ object: 'list', data });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const kind = path === '/v1/chat/completions' ? 'chat' : path === '/v1/completions' ? 'completions' : path === '/v1/embeddings' ? 'embeddings' : null;
    if (!kind) return error(res, 404, `Not Found: ${path}`, 'not_found', 'NotFoundError');
    if (req.method !== 'POST') return error(res, 405, 'Method Not Allowed', 'method_not_allowed');
    stats.requests++;

    const headerFault = req.headers['x-sim-fault'];
    const fault = typeof headerFault === 'string' && FAULTS.has(headerFault) ? headerFault as FaultKind
      : opts.faultRate && opts.faultKind && Math.random() < opts.faultRate ? opts.faultKind : null;
    let body: Record<string, unknown>;
    try {
      const b = await readJson(req);
      if (!b || typeof b !== 'object' || Array.isArray(b)) throw new Error('body must be an object');
      body = b as Record<string, unknown>;
    } catch (e) {
      return error(res, 400, (e as Error).message);
    }
    if (fault === '429' || fault === '500' || fault === '503') {
      return error(res, Number(fault), `Simulated ${fault}`, null, fault === '429' ? 'RateLimitError' : 'InternalServerError');
    }
    if (fault === 'reset') { req.socket.destroy(); return; }
    if (fault === 'hang') { res.on('close', () => stats.aborted++); return; }
    const model = body.model;
    if (typeof model !== 'string' || !names.includes(model)) return error(res, 404, `The model \`${String(model)}\` does not exist.`, 'model_not_found', 'NotFoundError');

    const ttft = num(req.headers['x-sim-ttft-ms']) ?? opts.ttftMs ?? 0;
    const itl = num(req.headers['x-sim-itl-ms']) ?? opts.itlMs ?? 0;

    if (kind === 'embeddings') return embeddings(res, body, model, ttft);

    let input: string;
    let promptTokens: number;
    if (kind === 'chat') {
      if (!Array.isArray(body.messages) || body.messages.length === 0) return error(res, 400, 'messages must be a non-empty array');
      const msgs = body.messages as Array<{ role?: unknown; content?: unknown }>;
      const lastUser = [...msgs].reverse().find((m) => m && m.role === 'user') ?? msgs[msgs.length - 1]!;
      input = contentText(lastUser?.content);
      promptTokens = chatPromptTokens(msgs);
    } else {
      const p = body.prompt;
      input = typeof p === 'string' ? p : Array.isArray(p) ? p.filter((x) => typeof x === 'string').join(' ') : '';
      if (typeof p !== 'string' && !Array.isArray(p)) return error(res, 400, 'prompt must be a string or an array');
      promptTokens = countTokens(input);
    }
    if (promptTokens >= maxLen) return error(res, 400, `This model's maximum context length is ${maxLen} tokens. However, you requested ${promptTokens} tokens.`);
    const requested = num(body.max_tokens) ?? num(body.max_completion_tokens);
    const maxTokens = Math.max(0, Math.min(requested ?? 256, maxLen - promptTokens));
    const { pieces, finishReason } = generate(input, maxTokens);
    const usage = { prompt_tokens: promptTokens, completion_tokens: pieces.length, total_tokens: promptTokens + pieces.length };
    const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`;

    if (body.stream === true) {
      const so = body.stream_options as { include_usage?: unknown } | undefined;
      return stream(req, res, { kind, id, model, pieces, finishReason, usage, includeUsage: so?.include_usage === true, ttft, itl, midReset: fault === 'reset-mid' });
    }
    if (ttft > 0) await sleep(ttft);
    if (itl > 0) await sleep(itl * pieces.length);
    const text = pieces.join('');
    const out = kind === 'chat'
      ? { id, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model, choices: [{ index: 0, message: { role: 'assistant', content: text, tool_calls: [] }, logprobs: null, finish_reason: finishReason, stop_reason: null }], usage }
      : { id, object: 'text_completion', created: Math.floor(Date.now() / 1000), model, choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason, stop_reason: null }], usage };
    const json = JSON.stringify(out);
    if (fault === 'reset-mid') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      res.write(json.slice(0, json.length >> 1), () => req.socket.destroy());
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
    res.end(json);
  }

  async function embeddings(res: ServerResponse, body: Record<string, unknown>, model: string, ttft: number): Promise<void> {
    const raw = body.input;
    const inputs: string[] = typeof raw === 'string' ? [raw]
      : Array.isArray(raw) ? raw.map((x) => (typeof x === 'string' ? x : Array.isArray(x) ? x.join(' ') : String(x))) : [];
    if (inputs.length === 0) return error(res, 400, 'input must be a string or a non-empty array');
    const d = num(body.dimensions) ?? dim;
    const base64 = body.encoding_format === 'base64';
    let tokens = 0;
    const data = inputs.map((text, index) => {
      tokens += Math.max(1, countTokens(text));
      const v = embed(text, d);
      return { object: 'embedding', index, embedding: base64 ? toBase64(v) : Array.from(v) };
    });
    if (ttft > 0) await sleep(ttft);
    const json = JSON.stringify({ id: `embd-${randomUUID().replaceAll('-', '')}`, object: 'list', created: Math.floor(Date.now() / 1000), model, data, usage: { prompt_tokens: tokens, total_tokens: tokens, completion_tokens: 0 } });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
    res.end(json);
  }

  interface StreamPlan {
    kind: 'chat' | 'completions'; id: string; model: string; pieces: string[]; finishReason: string;
    usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    includeUsage: boolean; ttft: number; itl: number; midReset: boolean;
  }

  async function stream(req: IncomingMessage, res: ServerResponse, p: StreamPlan): Promise<void> {
    let gone = false;
    res.on('close', () => { if (!res.writableFinished) { gone = true; stats.aborted++; } });
    const created = Math.floor(Date.now() / 1000);
    const object = p.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    const usageField = p.includeUsage ? ',"usage":null' : '';
    const head = `{"id":"${p.id}","object":"${object}","created":${created},"model":${JSON.stringify(p.model)},"choices":[`;
    const chunk = (piece: string | null, finish: string | null, role = false) => {
      const content = piece === null ? '' : piece;
      const choice = p.kind === 'chat'
        ? `{"index":0,"delta":${role ? '{"role":"assistant","content":""}' : `{"content":${JSON.stringify(content)}}`},"logprobs":null,"finish_reason":${finish ? `"${finish}"` : 'null'}}`
        : `{"index":0,"text":${JSON.stringify(content)},"logprobs":null,"finish_reason":${finish ? `"${finish}"` : 'null'}}`;
      return `data: ${head}${choice}]${usageField}}\n\n`;
    };
    const events: string[] = [];
    if (p.kind === 'chat') events.push(chunk(null, null, true));
    p.pieces.forEach((piece, i) => events.push(chunk(piece, i === p.pieces.length - 1 ? p.finishReason : null)));
    if (p.pieces.length === 0) events.push(chunk('', p.finishReason));
    if (p.includeUsage) events.push(`data: ${head}],"usage":${JSON.stringify(p.usage)}}\n\n`);
    events.push('data: [DONE]\n\n');

    if (p.ttft > 0) await sleep(p.ttft);
    if (gone) return;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    if (p.midReset) {
      res.write(events.slice(0, Math.max(1, events.length >> 1)).join(''), () => req.socket.destroy());
      return;
    }
    if (p.itl <= 0) { res.end(events.join('')); return; }
    for (let i = 0; i < events.length; i++) {
      if (gone) return;
      res.write(events[i]!);
      if (i < events.length - 2) await sleep(p.itl);
    }
    res.end();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => { if (!res.headersSent) error(res, 500, 'simulator error'); else res.destroy(); });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8000, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host && opts.host !== '0.0.0.0' ? opts.host : '127.0.0.1';
  return {
    url: `http://${host}:${port}`, port, stats,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
