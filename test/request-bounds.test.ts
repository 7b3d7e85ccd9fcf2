/**
 * Reservation bounds: for every generated request, what a vLLM-faithful
 * upstream may generate (n / best_of sequences per prompt, max_completion_tokens
 * winning over max_tokens, the context's room when neither is set) never
 * exceeds the bound the gateway reserves; what cannot be bounded is a 400
 * naming the field.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_MAX_COMPLETION, parseClientRequest, requestBounds, type ClientRequest } from '../src/gateway/request.js';
import type { EndpointName as Endpoint } from '../src/gateway/endpoints/index.js';

/** The JSON body the gateway sends a deployment. */
const upstreamBody = (r: ClientRequest, model: string, inject: number | null = null): string =>
  String(r.endpoint.upstream(r, model, { prompt: 0, completion: 0, audioMs: 0, injectMaxTokens: inject }).body);
import { GatewayError } from '../src/gateway/errors.js';

const parse = (endpoint: Endpoint, body: unknown) => parseClientRequest(endpoint, Buffer.from(JSON.stringify(body)));
const refusal = (endpoint: Endpoint, body: unknown): GatewayError => {
  try { parse(endpoint, body); } catch (e) { return e as GatewayError; }
  throw new Error('accepted');
};

/** What vLLM may generate for a request: per choice max_completion_tokens ?? max_tokens ?? (context − prompt), best_of sequences per prompt. */
function vllmMaxGenerated(body: Record<string, any>, promptTokensPerPrompt: number, prompts: number, ctx: number | null, injected: number | null): number {
  const perChoice = body.max_completion_tokens ?? body.max_tokens ?? injected ?? (ctx! - promptTokensPerPrompt);
  const seqs = Math.max(body.n ?? 1, body.best_of ?? 1);
  return Math.min(perChoice, ctx === null ? Infinity : ctx - promptTokensPerPrompt) * seqs * prompts;
}

describe('request bounds', () => {
  it('bound every sequence a vLLM-faithful upstream may generate', () => {
    const opt = (a: fc.Arbitrary<number>) => fc.option(a, { nil: undefined });
    fc.assert(fc.property(
      fc.constantFrom<Endpoint>('chat', 'completions'),
      opt(fc.integer({ min: 1, max: 128 })), opt(fc.integer({ min: 1, max: 128 })),
      opt(fc.integer({ min: 1, max: 100_000 })), opt(fc.integer({ min: 1, max: 100_000 })),
      fc.array(fc.string({ maxLength: 30 }), { minLength: 1, maxLength: 5 }),
      fc.option(fc.integer({ min: 16, max: 200_000 }), { nil: null }),
      (endpoint, n, bestOfRaw, maxTokens, maxCompletion, texts, ctx) => {
        const bestOf = bestOfRaw === undefined ? undefined : Math.max(bestOfRaw, n ?? 1);
        const body: Record<string, unknown> = { model: 'm', n, best_of: bestOf, max_tokens: maxTokens, max_completion_tokens: maxCompletion };
        if (endpoint === 'chat') body.messages = texts.map((t) => ({ role: 'user', content: t }));
        else body.prompt = texts.length === 1 ? texts[0] : texts;
        const r = parse(endpoint, body);
        const b = requestBounds(r, ctx);
        const prompts = endpoint === 'completions' ? texts.length : 1;
        // The smallest prompt an upstream could see is one token.
        const generated = vllmMaxGenerated(JSON.parse(upstreamBody(r, 'up', b.injectMaxTokens)), 1, prompts, ctx, null);
        expect(b.completion).toBeGreaterThanOrEqual(generated);
        expect(Number.isSafeInteger(b.completion)).toBe(true);
        if (ctx === null && maxTokens === undefined) expect(b.injectMaxTokens).toBe(maxCompletion ?? DEFAULT_MAX_COMPLETION);
        else expect(b.injectMaxTokens).toBeNull();
      }), { seed: 3, numRuns: 500 });
  });

  it('counts every prompt of a /v1/completions prompt list, in each of its shapes', () => {
    expect(parse('completions', { model: 'm', prompt: ['a', 'b', 'c'], n: 2, max_tokens: 10 }).choices).toBe(6);
    expect(parse('completions', { model: 'm', prompt: [1, 2, 3], max_tokens: 10 }).choices).toBe(1);
    expect(parse('completions', { model: 'm', prompt: [[1, 2], [3]], best_of: 3, max_tokens: 10 }).choices).toBe(6);
    expect(requestBounds(parse('completions', { model: 'm', prompt: ['a', 'b'], n: 3, max_tokens: 7 }), 4096).completion).toBe(42);
  });

  it('takes the larger of max_tokens and max_completion_tokens', () => {
    expect(parse('chat', { model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: 5, max_completion_tokens: 500 }).maxTokens).toBe(500);
    expect(parse('chat', { model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: 500, max_completion_tokens: 5 }).maxTokens).toBe(500);
  });

  it('refuses what cannot be bounded with a 400 naming the field', () => {
    const chat = { model: 'm', messages: [{ role: 'user', content: 'x' }] };
    for (const [body, param] of [
      [{ ...chat, n: 0 }, 'n'], [{ ...chat, n: 129 }, 'n'], [{ ...chat, n: 1.5 }, 'n'], [{ ...chat, n: '4' }, 'n'],
      [{ ...chat, best_of: 1e9 }, 'best_of'], [{ ...chat, n: 4, best_of: 2 }, 'best_of'],
      [{ ...chat, max_tokens: 0 }, 'max_tokens'], [{ ...chat, max_completion_tokens: 1e300 }, 'max_completion_tokens'],
    ] as const) {
      const e = refusal('chat', body);
      expect(e.status).toBe(400);
      expect(e.param).toBe(param);
    }
    for (const prompt of [[], ['a', 1], [[]], [[1.5]], [{}], 7]) expect(refusal('completions', { model: 'm', prompt }).param).toBe('prompt');
  });

  it('refuses deeply nested bodies instead of overflowing the stack', () => {
    const deep = '[' .repeat(100_000) + ']'.repeat(100_000);
    const raw = Buffer.from(`{"model":"m","messages":[{"role":"user","content":"x"}],"tools":${deep}}`);
    let err: GatewayError | null = null;
    try { parseClientRequest('chat', raw); } catch (e) { err = e as GatewayError; }
    expect(err?.status).toBe(400);
    expect(err?.message).toMatch(/nests deeper/);
  });

  it('caps an embedding list by the context of each input, not of one', () => {
    const input = Array.from({ length: 2000 }, () => 'word '.repeat(100));
    const b = requestBounds(parse('embeddings', { model: 'm', input }), 512);
    expect(b.prompt).toBeGreaterThan(512 * 1000);
  });

  it('guesses the prompt from every string of the body, not only message content', () => {
    const big = 'x'.repeat(400_000);
    for (const body of [
      { model: 'm', messages: [{ role: 'user', text: '', content: big }] },
      { model: 'm', messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'f', description: big } }] },
      { model: 'm', messages: [{ role: 'assistant', tool_calls: [{ id: '1', type: 'function', function: { name: 'f', arguments: big } }] }, { role: 'user', content: 'go' }] },
    ]) expect(parse('chat', body).promptGuess).toBeGreaterThanOrEqual(100_000);
  });

  it('sends no stream_options upstream on a request that does not stream', () => {
    const r = parse('chat', { model: 'pub', messages: [{ role: 'user', content: 'x' }], stream_options: { include_usage: true } });
    expect(JSON.parse(upstreamBody(r, 'secret-upstream'))).not.toHaveProperty('stream_options');
  });

  it('bounds an embedding by its input only, and caps a prompt by the context', () => {
    const e = requestBounds(parse('embeddings', { model: 'm', input: ['a', 'b'] }), 512);
    expect(e.completion).toBe(0);
    const r = parse('chat', { model: 'm', messages: [{ role: 'user', content: 'x'.repeat(10_000) }], max_tokens: 10_000 });
    expect(requestBounds(r, 4096)).toEqual({ audioMs: 0, prompt: 4096, completion: 4096, injectMaxTokens: null });
  });
});
