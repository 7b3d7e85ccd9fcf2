/**
 * @module The OpenAI Responses API as vLLM serves it (`POST /v1/responses`,
 * `GET /v1/responses/{id}`, `POST /v1/responses/{id}/cancel`): the input
 * (a string or message/function-call items, `instructions` as a system
 * message, a stored `previous_response_id`'s conversation before it) becomes
 * a chat prompt; the answer is the same extractive text as chat, or a
 * function_call item when function tools are given (`tool_choice` not
 * "none"), or JSON for `text.format`. Streamed as vLLM's named events with a
 * sequence_number, no `[DONE]`. Stored responses live in a bounded map (as
 * vLLM with VLLM_ENABLE_RESPONSES_API_STORE=1; `DELETE` is OpenAI's, vLLM has
 * no such route).
 */
import { chatPromptPieces, contentText, generate, tokenize, type PromptMessage } from './text.js';
import { formattedText, isObject, pickTool, planToolCall, randomHex, type PlanContext, type ToolCallPlan } from './completions.js';
import { namedEvent } from './sse.js';

export interface StoredResponse { response: Record<string, unknown>; messages: PromptMessage[] }

/** Stored responses, oldest forgotten first beyond `capacity`. */
export class ResponseStore {
  private readonly map = new Map<string, StoredResponse>();
  constructor(private readonly capacity = 10_000) {}
  get(id: string): StoredResponse | undefined { return this.map.get(id); }
  delete(id: string): boolean { return this.map.delete(id); }
  set(id: string, r: StoredResponse): void {
    this.map.set(id, r);
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
  }
}

export interface ResponseError { status: number; message: string; type: string; param: string | null }
export interface ResponsePlan {
  id: string; stream: boolean; store: boolean;
  /** The final response object (status completed or incomplete). */
  response: Record<string, unknown>;
  /** Streamed frames, one per output token. */
  frames: string[];
  outputTokens: number;
  /** The conversation to store: the prompt's messages and the answer. */
  messages: PromptMessage[];
}

const bad = (message: string, param: string | null = null): ResponseError => ({ status: 400, message, type: 'BadRequestError', param });

/** Response items (or a string) as chat messages. */
function inputMessages(input: unknown): PromptMessage[] | ResponseError {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  if (!Array.isArray(input)) return bad('input must be a string or a list of items', 'input');
  const out: PromptMessage[] = [];
  for (const item of input) {
    if (!isObject(item)) return bad('each input item must be an object', 'input');
    const type = item.type ?? 'message';
    if (type === 'message') {
      if (typeof item.role !== 'string') return bad('a message item needs a role', 'input');
      out.push({ role: item.role, content: item.content });
    } else if (type === 'function_call') {
      out.push({ role: 'assistant', content: '', tool_calls: [{ function: { name: item.name, arguments: item.arguments } }] });
    } else if (type === 'function_call_output') {
      out.push({ role: 'tool', content: typeof item.output === 'string' ? item.output : JSON.stringify(item.output ?? '') });
    } // other items (reasoning, …) carry no prompt text for the simulator
  }
  return out;
}

const notFound = (id: string): ResponseError => ({ status: 404, message: `Response with id '${id}' not found.`, type: 'invalid_request_error', param: 'response_id' });
export const responseNotFound = notFound;

/** The plan for a create request, or the error vLLM answers. */
export function planResponse(body: Record<string, unknown>, model: string, ctx: PlanContext, store: ResponseStore): ResponsePlan | ResponseError {
  const own = inputMessages(body.input);
  if ('status' in own) return own;
  if (body.instructions != null && typeof body.instructions !== 'string') return bad('instructions must be a string', 'instructions');
  const prevId = body.previous_response_id;
  let prev: StoredResponse | undefined;
  if (prevId != null) {
    if (typeof prevId !== 'string') return bad('previous_response_id must be a string', 'previous_response_id');
    prev = store.get(prevId);
    if (!prev) return notFound(prevId);
  }
  const messages: PromptMessage[] = [];
  if (typeof body.instructions === 'string') messages.push({ role: 'system', content: body.instructions });
  if (prev) for (const m of prev.messages) if (m.role !== 'system') messages.push(m);
  messages.push(...own);

  const tool = pickTool(body.tools, body.tool_choice, true);
  if (tool && 'message' in tool) return bad(tool.message, tool.param);
  const pieces = chatPromptPieces(messages, body.tools);
  const promptTokens = pieces.length;
  if (promptTokens >= ctx.maxModelLen) {
    return { status: 400, message: `The engine prompt length ${promptTokens} exceeds the max_model_len ${ctx.maxModelLen}. Please reduce prompt.`, type: 'invalid_request_error', param: 'input' };
  }
  const requested = body.max_output_tokens;
  if (requested != null && !(typeof requested === 'number' && Number.isInteger(requested) && requested >= 1)) return bad('max_output_tokens must be an integer of at least 1', 'max_output_tokens');
  const maxTokens = Math.min(typeof requested === 'number' ? requested : Infinity, ctx.maxModelLen - promptTokens);

  let lastUser = '';
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === 'user') { lastUser = contentText(messages[i]!.content); break; }
  let text: string[] = [];
  let call: ToolCallPlan | null = null;
  let cut: boolean;
  let outputTokens: number;
  if (tool) {
    const t = planToolCall(tool, maxTokens, 'call');
    call = t.call; cut = t.cut; outputTokens = t.tokens;
  } else {
    const format = isObject(body.text) ? body.text.format : undefined;
    const json = formattedText(format, lastUser);
    if (isObject(json)) return bad((json as { message: string }).message, 'text');
    if (typeof json === 'string') {
      const all = tokenize(json);
      text = all.slice(0, maxTokens); cut = all.length > maxTokens;
    } else {
      const g = generate(lastUser, maxTokens);
      text = g.pieces; cut = g.finishReason === 'length';
    }
    outputTokens = text.length;
  }
  const cached = ctx.cache ? ctx.cache.lookupAndInsert(model, pieces) : 0;

  const id = `resp_${randomHex(16)}`;
  const itemId = call ? `fc_${randomHex(16)}` : `msg_${randomHex(16)}`;
  const created = Math.floor(Date.now() / 1000);
  const status = cut ? 'incomplete' : 'completed';
  const shell = (st: string, output: unknown[], usage: unknown): Record<string, unknown> => ({
    id, created_at: created, incomplete_details: st === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: body.instructions ?? null, metadata: body.metadata ?? null, model, object: 'response', output,
    parallel_tool_calls: body.parallel_tool_calls ?? true, temperature: body.temperature ?? 1.0,
    tool_choice: body.tool_choice ?? 'auto', tools: body.tools ?? [], top_p: body.top_p ?? 1.0,
    background: false, max_output_tokens: Number.isFinite(maxTokens) ? maxTokens : ctx.maxModelLen - promptTokens,
    max_tool_calls: body.max_tool_calls ?? null, previous_response_id: prevId ?? null, prompt: null,
    reasoning: body.reasoning ?? null, service_tier: body.service_tier ?? 'auto', status: st, text: body.text ?? null,
    top_logprobs: null, truncation: body.truncation ?? 'disabled', usage, user: body.user ?? null,
    input_messages: null, output_messages: null,
  });
  const usage = {
    input_tokens: promptTokens,
    input_tokens_details: { cached_tokens: cached, input_tokens_per_turn: [], cached_tokens_per_turn: [] },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: 0, tool_output_tokens: 0, output_tokens_per_turn: [], tool_output_tokens_per_turn: [] },
    total_tokens: promptTokens + outputTokens,
  };
  const fullText = text.join('');
  const args = call ? call.argPieces.join('') : '';
  const doneItem = call
    ? { arguments: args, call_id: call.id, name: call.name, type: 'function_call', id: itemId, status: 'completed' }
    : { id: itemId, content: fullText ? [{ annotations: [], text: fullText, type: 'output_text', logprobs: null }] : [], role: 'assistant', status: 'completed', type: 'message' };
  const response = shell(status, [doneItem], usage);

  // Streamed: frame i is what is written for output token i.
  let seq = 0;
  const ev = (type: string, fields: Record<string, unknown>) => namedEvent(type, { type, sequence_number: seq++, ...fields });
  const initial = shell('in_progress', [], null);
  let frames: string[];
  if (call) {
    const head = ev('response.created', { response: initial }) + ev('response.in_progress', { response: initial })
      + ev('response.output_item.added', { output_index: 0, item: { ...doneItem, arguments: '', status: 'in_progress' } });
    frames = [head];
    for (const a of call.argPieces) frames.push(ev('response.function_call_arguments.delta', { output_index: 0, item_id: itemId, delta: a }));
    frames[frames.length - 1] += ev('response.function_call_arguments.done', { output_index: 0, item_id: itemId, arguments: args, name: call.name })
      + ev('response.output_item.done', { output_index: 0, item: doneItem });
  } else {
    const where = { output_index: 0, item_id: itemId, content_index: 0 };
    const opened = ev('response.created', { response: initial }) + ev('response.in_progress', { response: initial })
      + ev('response.output_item.added', { output_index: 0, item: { id: itemId, type: 'message', role: 'assistant', content: [], status: 'in_progress' } })
      + ev('response.content_part.added', { ...where, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } });
    frames = text.map((piece) => ev('response.output_text.delta', { ...where, delta: piece, logprobs: [] }));
    if (frames.length === 0) frames.push('');
    frames[0] = opened + frames[0];
    frames[frames.length - 1] += ev('response.output_text.done', { ...where, text: fullText, logprobs: [] })
      + ev('response.content_part.done', { ...where, part: { type: 'output_text', text: fullText, annotations: [], logprobs: null } })
      + ev('response.output_item.done', { output_index: 0, item: doneItem });
  }
  frames[frames.length - 1] += ev('response.completed', { response });

  const answer: PromptMessage = call
    ? { role: 'assistant', content: '', tool_calls: [{ function: { name: call.name, arguments: args } }] }
    : { role: 'assistant', content: fullText };
  return { id, stream: body.stream === true, store: body.store !== false, response, frames, outputTokens, messages: [...messages, answer] };
}

/** `POST /v1/responses/{id}/cancel`: vLLM cancels only background responses, which the simulator never runs. */
export function cancelResponse(store: ResponseStore, id: string): ResponseError {
  if (!store.get(id)) return notFound(id);
  return { status: 400, message: 'Cannot cancel a synchronous response.', type: 'invalid_request_error', param: 'response_id' };
}
