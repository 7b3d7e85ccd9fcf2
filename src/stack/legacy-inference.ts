/**
 * @module Llama Stack 0.2's own inference API, `POST /v1/inference/chat-completion`
 * (what older Canopy backends and llama-stack-client 0.2 call through
 * `inference.chat_completion`), served over a model's OpenAI-compatible chat
 * completions. The request (`model_id`, `messages` with interleaved content,
 * `sampling_params.strategy`, `tools` as tool definitions, `tool_config`,
 * `response_format`, `logprobs`, `stream`) becomes an OpenAI body; the answer
 * becomes a `ChatCompletionResponse` (`completion_message`, `logprobs`,
 * `metrics`), and a stream becomes `ChatCompletionResponseStreamChunk`
 * events: `start`, `progress` deltas (text, or tool call text then the
 * parsed call), `complete` with the stop reason and the token metrics.
 * Errors answer in that API's shape, `{"error": {"detail": …}}`.
 */
import { GatewayError } from '../gateway/errors.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

function bad(message: string, param: string | null = null): GatewayError {
  return new GatewayError('invalid_request_error', message, param);
}

/** The 0.2 API's error body. */
export function legacyErrorBody(message: string): string {
  return JSON.stringify({ error: { detail: message } });
}

/** A data: URL for base64 image data, its type told by its first bytes. */
function dataUrl(b64: string): string {
  const type = b64.startsWith('iVBOR') ? 'png' : b64.startsWith('R0lGOD') ? 'gif' : b64.startsWith('UklGR') ? 'webp' : 'jpeg';
  return `data:image/${type};base64,${b64}`;
}

/** One interleaved content item as an OpenAI content part. */
function part(item: unknown, at: string): Obj {
  if (typeof item === 'string') return { type: 'text', text: item };
  if (isObj(item) && item.type === 'text' && typeof item.text === 'string') return { type: 'text', text: item.text };
  if (isObj(item) && item.type === 'image' && isObj(item.image)) {
    const img = item.image;
    const uri = isObj(img.url) && typeof img.url.uri === 'string' ? img.url.uri : typeof img.url === 'string' ? img.url : null;
    if (uri) return { type: 'image_url', image_url: { url: uri } };
    if (typeof img.data === 'string') return { type: 'image_url', image_url: { url: dataUrl(img.data) } };
  }
  throw bad(`${at}: expected a string, {type: "text", text} or {type: "image", image: {url: {uri}} | {data}}`, at);
}

/** Interleaved content as OpenAI content: a string stays a string, anything else becomes parts. */
function content(c: unknown, at: string): string | Obj[] {
  if (typeof c === 'string') return c;
  const items = Array.isArray(c) ? c : [c];
  return items.map((it, i) => part(it, Array.isArray(c) ? `${at}[${i}]` : at));
}

/** Interleaved content where only text makes sense (system, tool, assistant). */
function text(c: unknown, at: string): string {
  const parts = content(c, at);
  if (typeof parts === 'string') return parts;
  return parts.map((p) => {
    if (p.type !== 'text') throw bad(`${at}: only text is accepted here`, at);
    return p.text as string;
  }).join('');
}

function toolCallOut(tc: unknown, at: string): Obj {
  if (!isObj(tc) || typeof tc.call_id !== 'string' || typeof tc.tool_name !== 'string') throw bad(`${at}: a tool call needs call_id and tool_name`, at);
  const args = typeof tc.arguments_json === 'string' ? tc.arguments_json
    : typeof tc.arguments === 'string' ? tc.arguments : JSON.stringify(tc.arguments ?? {});
  return { id: tc.call_id, type: 'function', function: { name: tc.tool_name, arguments: args } };
}

function message(m: unknown, i: number): Obj {
  const at = `messages[${i}]`;
  if (!isObj(m)) throw bad(`${at}: must be an object with role and content`, at);
  switch (m.role) {
    case 'user': {
      let c = content(m.content, `${at}.content`);
      // `context` is the RAG text Llama Stack puts beside the question: the model sees it after the content.
      if (m.context !== undefined && m.context !== null) {
        const ctx = content(m.context, `${at}.context`);
        c = typeof c === 'string' && typeof ctx === 'string' ? `${c}\n\n${ctx}`
          : [...(typeof c === 'string' ? [{ type: 'text', text: c }] : c), ...(typeof ctx === 'string' ? [{ type: 'text', text: ctx }] : ctx)];
      }
      return { role: 'user', content: c };
    }
    case 'system': return { role: 'system', content: text(m.content, `${at}.content`) };
    case 'tool':
      if (typeof m.call_id !== 'string') throw bad(`${at}.call_id: required for a tool message`, `${at}.call_id`);
      return { role: 'tool', tool_call_id: m.call_id, content: text(m.content, `${at}.content`) };
    case 'assistant': {
      const out: Obj = { role: 'assistant', content: text(m.content ?? '', `${at}.content`) };
      if (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) out.tool_calls = m.tool_calls.map((tc, j) => toolCallOut(tc, `${at}.tool_calls[${j}]`));
      return out;
    }
    default: throw bad(`${at}.role: one of user, system, assistant, tool`, `${at}.role`);
  }
}

/** A tool definition's `param_type` as a JSON Schema. */
function paramSchema(t: string): Obj {
  const s = t.trim().toLowerCase();
  const list = /^(?:list|array)(?:\[(.+)\])?$/.exec(s);
  if (list) return list[1] ? { type: 'array', items: paramSchema(list[1]) } : { type: 'array' };
  if (s === 'str' || s === 'string') return { type: 'string' };
  if (s === 'int' || s === 'integer') return { type: 'integer' };
  if (s === 'float' || s === 'number') return { type: 'number' };
  if (s === 'bool' || s === 'boolean') return { type: 'boolean' };
  if (s.startsWith('dict') || s === 'object') return { type: 'object' };
  return { type: t };
}

function tool(t: unknown, i: number): Obj {
  const at = `tools[${i}]`;
  if (!isObj(t) || typeof t.tool_name !== 'string') throw bad(`${at}.tool_name: required`, `${at}.tool_name`);
  const fn: Obj = { name: t.tool_name };
  if (typeof t.description === 'string') fn.description = t.description;
  if (isObj(t.input_schema)) fn.parameters = t.input_schema; // later 0.2.x definitions carry a JSON Schema
  else if (isObj(t.parameters)) {
    const properties: Obj = {};
    const required: string[] = [];
    for (const [name, p] of Object.entries(t.parameters)) {
      if (!isObj(p) || typeof p.param_type !== 'string') throw bad(`${at}.parameters.${name}.param_type: required`, `${at}.parameters.${name}`);
      const schema = paramSchema(p.param_type);
      if (typeof p.description === 'string') schema.description = p.description;
      if (p.default !== undefined && p.default !== null) schema.default = p.default;
      properties[name] = schema;
      if (p.required !== false) required.push(name);
    }
    fn.parameters = { type: 'object', properties, ...(required.length ? { required } : {}) };
  }
  return { type: 'function', function: fn };
}

function toolChoice(c: unknown): unknown {
  if (c === undefined || c === null) return undefined;
  if (c === 'auto' || c === 'required' || c === 'none') return c;
  if (typeof c === 'string') return { type: 'function', function: { name: c } };
  throw bad('tool_config.tool_choice: auto, required, none or a tool name', 'tool_config.tool_choice');
}

function sampling(sp: unknown, out: Obj): void {
  if (sp === undefined || sp === null) return;
  if (!isObj(sp)) throw bad('sampling_params: must be an object', 'sampling_params');
  const st = sp.strategy;
  if (st !== undefined && st !== null) {
    if (!isObj(st)) throw bad('sampling_params.strategy: must be an object with type greedy, top_p or top_k', 'sampling_params.strategy');
    if (st.type === 'greedy') out.temperature = 0;
    else if (st.type === 'top_p') {
      if (typeof st.temperature === 'number') out.temperature = st.temperature;
      out.top_p = typeof st.top_p === 'number' ? st.top_p : 0.95;
    } else if (st.type === 'top_k') {
      if (typeof st.top_k !== 'number' || st.top_k < 1) throw bad('sampling_params.strategy.top_k: an integer of at least 1', 'sampling_params.strategy.top_k');
      out.top_k = st.top_k; // vLLM's sampling extension
    } else throw bad('sampling_params.strategy.type: greedy, top_p or top_k', 'sampling_params.strategy.type');
  } else out.temperature = 0; // the API's default strategy is greedy
  if (typeof sp.max_tokens === 'number' && sp.max_tokens > 0) out.max_tokens = sp.max_tokens;
  if (typeof sp.repetition_penalty === 'number' && sp.repetition_penalty !== 1) out.repetition_penalty = sp.repetition_penalty;
  if (Array.isArray(sp.stop)) out.stop = sp.stop;
}

export interface LegacyRequest { modelId: string; stream: boolean; toOpenAI(upstreamName: string): string }

/** Validates a 0.2 chat-completion body; `toOpenAI` makes the upstream body. */
export function parseLegacyChat(raw: string): LegacyRequest {
  let parsed: unknown;
  try { parsed = JSON.parse(raw); } catch { throw bad('The request body must be a JSON object.'); }
  if (!isObj(parsed)) throw bad('The request body must be a JSON object.');
  const b = parsed;
  if (typeof b.model_id !== 'string') throw bad('model_id: required', 'model_id');
  if (!Array.isArray(b.messages) || b.messages.length === 0) throw bad('messages: a non-empty list is required', 'messages');
  const out: Obj = { messages: b.messages.map(message) };
  sampling(b.sampling_params, out);
  if (Array.isArray(b.tools) && b.tools.length > 0) out.tools = b.tools.map(tool);
  const tc = toolChoice(isObj(b.tool_config) && b.tool_config.tool_choice !== undefined ? b.tool_config.tool_choice : b.tool_choice);
  if (tc !== undefined && out.tools) out.tool_choice = tc;
  if (isObj(b.response_format)) {
    const rf = b.response_format;
    if (rf.type === 'json_schema' && isObj(rf.json_schema)) out.response_format = { type: 'json_schema', json_schema: { name: 'response', schema: rf.json_schema } };
    else throw bad('response_format: only {type: "json_schema", json_schema} is served by this stack', 'response_format');
  }
  if (isObj(b.logprobs)) {
    out.logprobs = true;
    out.top_logprobs = typeof b.logprobs.top_k === 'number' ? b.logprobs.top_k : 0;
  }
  const stream = b.stream === true;
  if (stream) { out.stream = true; out.stream_options = { include_usage: true }; }
  return {
    modelId: b.model_id, stream,
    toOpenAI: (name) => JSON.stringify({ model: name, ...out }),
  };
}

const STOP: Record<string, string> = { stop: 'end_of_turn', length: 'out_of_tokens', tool_calls: 'end_of_message' };
const stopReason = (finish: unknown) => (typeof finish === 'string' && STOP[finish]) || 'end_of_turn';

export interface Metric { metric: string; value: number; unit: null }

function metrics(usage: unknown): Metric[] | null {
  if (!isObj(usage)) return null;
  const n = (v: unknown) => (typeof v === 'number' ? v : 0);
  const p = n(usage.prompt_tokens), c = n(usage.completion_tokens);
  return [
    { metric: 'prompt_tokens', value: p, unit: null },
    { metric: 'completion_tokens', value: c, unit: null },
    { metric: 'total_tokens', value: typeof usage.total_tokens === 'number' ? usage.total_tokens : p + c, unit: null },
  ];
}

function logprobs(lp: unknown): Obj[] | null {
  if (!isObj(lp) || !Array.isArray(lp.content)) return null;
  return lp.content.map((t) => {
    const by: Record<string, number> = {};
    if (isObj(t) && Array.isArray(t.top_logprobs)) for (const x of t.top_logprobs) if (isObj(x) && typeof x.token === 'string' && typeof x.logprob === 'number') by[x.token] = x.logprob;
    if (isObj(t) && typeof t.token === 'string' && typeof t.logprob === 'number' && !(t.token in by)) by[t.token] = t.logprob;
    return { logprobs_by_token: by };
  });
}

/** A tool call in the API's `ToolCall` shape; arguments stay a string when they are not JSON. */
function toolCallIn(id: unknown, name: unknown, args: string): Obj {
  let parsed: unknown = args;
  if (args.trim() === '') parsed = {};
  else try { parsed = JSON.parse(args); } catch { /* kept as text */ }
  return { call_id: typeof id === 'string' ? id : '', tool_name: typeof name === 'string' ? name : '', arguments: parsed, arguments_json: args };
}

/** An OpenAI chat completion as a `ChatCompletionResponse`. */
export function legacyResponse(body: unknown): Obj {
  const choice = isObj(body) && Array.isArray(body.choices) && isObj(body.choices[0]) ? body.choices[0] : null;
  if (!choice || !isObj(choice.message)) throw new GatewayError('upstream_error', 'The model server answered without a message.');
  const msg = choice.message;
  const calls = Array.isArray(msg.tool_calls) ? msg.tool_calls.filter(isObj).map((tc) => {
    const fn = isObj(tc.function) ? tc.function : {};
    return toolCallIn(tc.id, fn.name, typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {}));
  }) : [];
  return {
    completion_message: { role: 'assistant', content: typeof msg.content === 'string' ? msg.content : '', stop_reason: stopReason(choice.finish_reason), tool_calls: calls },
    logprobs: logprobs(choice.logprobs),
    metrics: metrics(isObj(body) ? body.usage : null),
  };
}

const sse = (chunk: Obj) => `data: ${JSON.stringify(chunk)}\n\n`;

/** Turns an OpenAI chat stream, chunk by chunk, into the API's stream events. */
export class LegacyStream {
  private stop: string | null = null;
  private usage: unknown = null;
  private failed = false;
  private readonly calls = new Map<number, { id: unknown; name: unknown; args: string }>();

  start(): string { return sse({ event: { event_type: 'start', delta: { type: 'text', text: '' } } }); }

  /** The events for one upstream chunk (its JSON already parsed). */
  chunk(c: unknown): string {
    if (!isObj(c) || this.failed) return '';
    if (c.error !== undefined && c.error !== null) {
      // The upstream's own error event ends the stream, as Llama Stack ends one: an event carrying the error.
      this.failed = true;
      const message = isObj(c.error) && typeof c.error.message === 'string' ? c.error.message : 'The model server reported an error mid-stream.';
      return sse({ error: { message } });
    }
    if (isObj(c.usage)) this.usage = c.usage;
    const choice = Array.isArray(c.choices) && isObj(c.choices[0]) ? c.choices[0] : null;
    if (!choice) return '';
    if (typeof choice.finish_reason === 'string') this.stop = stopReason(choice.finish_reason);
    const delta = isObj(choice.delta) ? choice.delta : {};
    const lp = logprobs(choice.logprobs);
    let out = '';
    if (typeof delta.content === 'string' && delta.content !== '') {
      out += sse({ event: { event_type: 'progress', delta: { type: 'text', text: delta.content }, logprobs: lp } });
    }
    if (Array.isArray(delta.tool_calls)) {
      for (const tc of delta.tool_calls) {
        if (!isObj(tc)) continue;
        const idx = typeof tc.index === 'number' ? tc.index : 0;
        let buf = this.calls.get(idx);
        if (!buf) { buf = { id: tc.id, name: null, args: '' }; this.calls.set(idx, buf); }
        if (typeof tc.id === 'string') buf.id = tc.id;
        const fn = isObj(tc.function) ? tc.function : {};
        if (typeof fn.name === 'string' && fn.name) buf.name = fn.name;
        if (typeof fn.arguments === 'string' && fn.arguments) {
          buf.args += fn.arguments;
          out += sse({ event: { event_type: 'progress', delta: { type: 'tool_call', tool_call: fn.arguments, parse_status: 'in_progress' }, logprobs: null } });
        }
      }
    }
    return out;
  }

  /** The parsed tool calls, then `complete` with the stop reason and the token metrics. */
  end(): string {
    if (this.failed) return '';
    let out = '';
    for (const [, b] of [...this.calls].sort((a, z) => a[0] - z[0])) {
      const call = toolCallIn(b.id, b.name, b.args);
      const parsedOk = typeof call.arguments !== 'string';
      out += sse({
        event: {
          event_type: 'progress', stop_reason: this.stop,
          delta: parsedOk ? { type: 'tool_call', tool_call: call, parse_status: 'succeeded' } : { type: 'tool_call', tool_call: b.args, parse_status: 'failed' },
        },
      });
    }
    const m = metrics(this.usage);
    out += sse({ event: { event_type: 'complete', delta: { type: 'text', text: '' }, stop_reason: this.stop ?? 'end_of_turn' }, ...(m ? { metrics: m } : {}) });
    return out;
  }
}

/** An upstream error body's message (OpenAI's `error.message`, Llama Stack's `detail`), for the 0.2 error shape. */
export function upstreamMessage(raw: string, status: number): string {
  let b: unknown;
  try { b = JSON.parse(raw); } catch { /* not JSON */ }
  if (isObj(b)) {
    if (isObj(b.error) && typeof b.error.message === 'string') return b.error.message;
    if (isObj(b.error) && typeof b.error.detail === 'string') return b.error.detail;
    if (typeof b.detail === 'string') return b.detail;
    if (typeof b.message === 'string') return b.message;
  }
  const t = raw.trim().slice(0, 500);
  return t || `The model server answered ${status}.`;
}
