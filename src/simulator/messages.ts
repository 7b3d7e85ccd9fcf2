/**
 * @module The Anthropic Messages API as vLLM serves it (vllm/entrypoints/
 * anthropic): `POST /v1/messages` is turned into a chat request (system
 * blocks joined, image blocks counted as images, tool_use/tool_result as tool
 * calls and tool messages, tools as functions, tool_choice any → required)
 * and its answer converted back: the id is the chat completion's, stop_reason
 * end_turn/max_tokens/tool_use, usage {input_tokens, output_tokens} (vLLM
 * reports no cache fields here). Streamed as vLLM converts the chat stream:
 * message_start (usage.input_tokens, output_tokens 0), content_block_start,
 * content_block_delta (text_delta per token, or input_json_delta per
 * argument piece), content_block_stop, message_delta (stop_reason and
 * cumulative usage with input_tokens too), message_stop; no ping.
 * `POST /v1/messages/count_tokens` counts the same prompt.
 */
import { chatPromptPieces, contentText, generate, type PromptMessage } from './text.js';
import { isObject, newId, pickTool, planToolCall, type PlanContext, type ToolCallPlan } from './completions.js';
import { namedEvent } from './sse.js';

export interface MessagesError { status: number; message: string; type: string }
const bad = (message: string): MessagesError => ({ status: 400, message, type: 'invalid_request_error' });

interface Converted { messages: PromptMessage[]; tools: unknown[] | undefined; toolChoice: unknown }

function convert(body: Record<string, unknown>): Converted | MessagesError {
  if (!Array.isArray(body.messages)) return bad('messages: Field required');
  const system: string[] = [];
  const blockText = (b: unknown) => (isObject(b) && b.type === 'text' && typeof b.text === 'string' ? b.text : '');
  if (typeof body.system === 'string') system.push(body.system);
  else if (Array.isArray(body.system)) for (const b of body.system) system.push(blockText(b));
  else if (body.system != null) return bad('system must be a string or a list of text blocks');
  const out: PromptMessage[] = [];
  for (const m of body.messages) {
    if (!isObject(m) || (m.role !== 'user' && m.role !== 'assistant' && m.role !== 'system')) return bad('each message needs a role of user or assistant');
    if (typeof m.content === 'string') {
      if (m.role === 'system') system.push(m.content); else out.push({ role: m.role, content: m.content });
      continue;
    }
    if (!Array.isArray(m.content)) return bad('message content must be a string or a list of blocks');
    if (m.role === 'system') { for (const b of m.content) system.push(blockText(b)); continue; }
    const parts: unknown[] = [];
    const calls: unknown[] = [];
    for (const b of m.content) {
      if (!isObject(b)) return bad('each content block must be an object');
      if (b.type === 'text') parts.push({ type: 'text', text: blockText(b) });
      else if (b.type === 'image') parts.push({ type: 'image' });
      else if (b.type === 'tool_use') calls.push({ function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } });
      else if (b.type === 'tool_result') out.push({ role: 'tool', content: typeof b.content === 'string' ? b.content : contentText(b.content) });
    }
    if (parts.length > 0 || calls.length > 0) out.push({ role: m.role, content: parts, ...(calls.length ? { tool_calls: calls } : {}) });
  }
  const messages = system.length ? [{ role: 'system', content: system.join('') }, ...out] : out;
  let tools: unknown[] | undefined;
  if (body.tools != null) {
    if (!Array.isArray(body.tools)) return bad('tools must be a list');
    tools = [];
    for (const t of body.tools) {
      if (!isObject(t) || typeof t.name !== 'string' || !isObject(t.input_schema)) return bad('each tool needs a name and an input_schema object');
      tools.push({ type: 'function', function: { name: t.name, description: t.description ?? null, parameters: { type: 'object', ...t.input_schema } } });
    }
  }
  let toolChoice: unknown = tools ? 'auto' : undefined;
  const tc = body.tool_choice;
  if (isObject(tc)) {
    if (tc.type === 'auto') toolChoice = 'auto';
    else if (tc.type === 'any') toolChoice = 'required';
    else if (tc.type === 'none') toolChoice = 'none';
    else if (tc.type === 'tool' && typeof tc.name === 'string' && tc.name) toolChoice = { type: 'function', function: { name: tc.name } };
    else return bad('tool_choice.type must be auto, any, tool (with a name) or none');
  } else if (tc != null) return bad('tool_choice must be an object');
  return { messages, tools, toolChoice };
}

function checkModel(body: Record<string, unknown>): MessagesError | null {
  if (typeof body.model !== 'string' || body.model === '') return bad('model: Field required');
  return null;
}

/** `POST /v1/messages/count_tokens`'s answer, or the error. */
export function countTokensBody(body: Record<string, unknown>): string | MessagesError {
  const m = checkModel(body);
  if (m) return m;
  const c = convert(body);
  if ('status' in c) return c;
  const n = chatPromptPieces(c.messages, c.tools).length;
  return JSON.stringify({ input_tokens: n, context_management: { original_input_tokens: n } });
}

export interface MessagesPlan { stream: boolean; body: string; frames: string[]; outputTokens: number }

const STOP: Record<string, string> = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use' };

/** The plan for `POST /v1/messages` against `model` (already checked to be served), or the error. */
export function planMessages(body: Record<string, unknown>, model: string, ctx: PlanContext): MessagesPlan | MessagesError {
  const m = checkModel(body);
  if (m) return m;
  const mt = body.max_tokens;
  if (mt === undefined || mt === null) return bad('max_tokens: Field required');
  if (typeof mt !== 'number' || !Number.isInteger(mt) || mt <= 0) return bad('max_tokens must be positive');
  const c = convert(body);
  if ('status' in c) return c;
  const tool = pickTool(c.tools, c.toolChoice);
  if (tool && 'message' in tool) return bad(tool.message);
  const pieces = chatPromptPieces(c.messages, c.tools);
  const inputTokens = pieces.length;
  const remaining = ctx.maxModelLen - inputTokens;
  if (remaining < 1) return bad(`This model's maximum context length is ${ctx.maxModelLen} tokens. However, your prompt has ${inputTokens} tokens. Please reduce the length of the prompt.`);
  const maxTokens = Math.min(mt, remaining);
  let lastUser = '';
  for (let i = c.messages.length - 1; i >= 0; i--) if (c.messages[i]!.role === 'user') { lastUser = contentText(c.messages[i]!.content); break; }

  let text: string[] = [];
  let call: ToolCallPlan | null = null;
  let finish: string;
  let outputTokens: number;
  if (tool) {
    const t = planToolCall(tool, maxTokens);
    call = t.call; finish = t.cut ? 'length' : 'tool_calls'; outputTokens = t.tokens;
  } else {
    const g = generate(lastUser, maxTokens);
    text = g.pieces; finish = g.finishReason; outputTokens = text.length;
  }
  if (ctx.cache) ctx.cache.lookupAndInsert(model, pieces); // warms the cache; vLLM reports no cache fields on this API
  const id = newId('chatcmpl');
  const stopReason = STOP[finish]!;
  const usage = { input_tokens: inputTokens, output_tokens: outputTokens };
  const args = call ? call.argPieces.join('') : '';
  const content = call
    ? [{ type: 'tool_use', id: call.id, name: call.name, input: JSON.parse(args.length ? safeJson(args) : '{}') as unknown }]
    : text.length ? [{ type: 'text', text: text.join('') }] : [];
  const json = JSON.stringify({ id, type: 'message', role: 'assistant', content, model, stop_reason: stopReason, usage });

  const start = namedEvent('message_start', { type: 'message_start', message: { id, content: [], model, stop_reason: null, stop_sequence: null, usage: { input_tokens: inputTokens, output_tokens: 0 } } });
  let frames: string[];
  if (call) {
    frames = [start + namedEvent('content_block_start', { type: 'content_block_start', content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} }, index: 0 })];
    for (const a of call.argPieces) frames.push(namedEvent('content_block_delta', { type: 'content_block_delta', delta: { type: 'input_json_delta', partial_json: a }, index: 0 }));
  } else {
    frames = text.map((t) => namedEvent('content_block_delta', { type: 'content_block_delta', delta: { type: 'text_delta', text: t }, index: 0 }));
    if (frames.length > 0) frames[0] = start + namedEvent('content_block_start', { type: 'content_block_start', content_block: { type: 'text', text: '' }, index: 0 }) + frames[0];
    else frames = [start];
  }
  frames[frames.length - 1] += (call || text.length ? namedEvent('content_block_stop', { type: 'content_block_stop', index: 0 }) : '')
    + namedEvent('message_delta', { type: 'message_delta', delta: { stop_reason: stopReason }, usage })
    + namedEvent('message_stop', { type: 'message_stop' });
  return { stream: body.stream === true, body: json, frames, outputTokens };
}

/** Arguments cut by max_tokens are not JSON; the non-streamed tool_use input then is `{}`. */
function safeJson(s: string): string {
  try { JSON.parse(s); return s; } catch { return '{}'; }
}
