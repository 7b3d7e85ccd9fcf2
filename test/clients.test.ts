/**
 * The official clients against the gateway, unchanged: `openai` (Responses,
 * chat with tools, structured output, images), `@anthropic-ai/sdk` (Messages,
 * streaming, count_tokens, Anthropic's errors) and the Vercel AI SDK (its
 * default Responses provider and its chat provider). For every call the text
 * the client read, its streamed increments, and the usage it reported are
 * checked against what the ledger billed: the same tokens, and the exact cost
 * from the model's prices (input, cached input, output).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { APICallError, generateText, streamText, type LanguageModelUsage } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { MODEL, PRICES, provision, type Provisioned, type StoreKind, type System, startSystem } from './helpers/system.js';
import { billedFor, billedOf, createPricedModel, Ledger, type SeenUsage } from './helpers/clients-ledger.js';

const TEXT = 'LiteMaaS meters every request. It keeps budgets exact. Keys can be rotated at any time. The dashboard reads daily rollups. Every answer is billed once.';
/** A model the test keys are not allowed to call. */
const OTHER = 'other-model';
/** A 1×1 PNG. */
const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

const KINDS: StoreKind[] = ['pglite', 'postgres'];

/** Usage as the openai client reads it from chat completions. */
const chatSeen = (u: OpenAI.CompletionUsage | undefined): SeenUsage => ({
  prompt: u!.prompt_tokens, completion: u!.completion_tokens, cached: u!.prompt_tokens_details?.cached_tokens ?? 0,
});
/** …and from the Responses API. */
const responsesSeen = (u: OpenAI.Responses.ResponseUsage | undefined | null): SeenUsage => ({
  prompt: u!.input_tokens, completion: u!.output_tokens, cached: u!.input_tokens_details?.cached_tokens ?? 0,
});
/** Anthropic's usage: input_tokens is the uncached input, cache reads and writes are beside it. */
const anthropicSeen = (u: Anthropic.Usage): SeenUsage => ({
  prompt: u.input_tokens + (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0),
  completion: u.output_tokens,
  cached: u.cache_read_input_tokens ?? 0,
});
/** The AI SDK's usage: inputTokens is the whole prompt, cacheReadTokens its cached part. */
const aiSeen = (u: LanguageModelUsage): SeenUsage => ({
  prompt: u.inputTokens!, completion: u.outputTokens!, cached: u.inputTokenDetails?.cacheReadTokens ?? 0,
});

for (const kind of KINDS) {
  describe(`official clients on ${kind}`, () => {
    let sys: System;
    let ledger: Ledger;
    /** The key each client uses, and one of another user (stored responses are not theirs). */
    let p: Provisioned;
    let stranger: Provisioned;

    beforeAll(async () => {
      sys = await startSystem(kind);
      ledger = new Ledger(sys);
      await createPricedModel(sys);
      p = await provision(sys);
      stranger = await provision(sys);
      const other = await sys.admin('POST', '/admin/models', { id: OTHER, ...PRICES, deployments: [{ url: `${sys.sim.url}/v1`, upstreamModel: 'llama32-fp8' }] });
      expect(other.status).toBe(201);
    });
    afterAll(async () => { await sys?.close(); });
    // Each test reads only the events its own calls wrote.
    beforeEach(async () => { await ledger.next(p.keyId); await ledger.next(stranger.keyId); });

    describe('openai', () => {
      let client: OpenAI;
      let strangerClient: OpenAI;
      beforeAll(() => {
        client = new OpenAI({ baseURL: `${sys.url}/v1`, apiKey: p.key, maxRetries: 0 });
        strangerClient = new OpenAI({ baseURL: `${sys.url}/v1`, apiKey: stranger.key, maxRetries: 0 });
      });

      it('responses.create: output_text, the public model id, usage billed exactly (cached input at its price on a repeat)', async () => {
        const first = await client.responses.create({ model: MODEL, input: TEXT, max_output_tokens: 48 });
        expect(first.model).toBe(MODEL);
        expect(first.status).toBe('completed');
        expect(first.output_text).toContain('LiteMaaS');
        expect(first.usage!.input_tokens).toBeGreaterThan(0);
        expect(first.usage!.output_tokens).toBeGreaterThan(0);
        expect(billedOf(await ledger.one(p.keyId))).toEqual(billedFor('responses', responsesSeen(first.usage)));

        // The same prompt again: the upstream's prefix cache serves part of it, billed at the cached-input price.
        const again = await client.responses.create({ model: MODEL, input: TEXT, max_output_tokens: 48 });
        expect(again.output_text).toBe(first.output_text);
        expect(again.usage!.input_tokens_details.cached_tokens).toBeGreaterThan(0);
        expect(billedOf(await ledger.one(p.keyId))).toEqual(billedFor('responses', responsesSeen(again.usage)));
      });

      it('responses.create streamed: output_text deltas concatenate to the text, response.completed carries the billed usage', async () => {
        const whole = await client.responses.create({ model: MODEL, input: `Stream this. ${TEXT}`, max_output_tokens: 48 });
        await ledger.next(p.keyId);
        const stream = await client.responses.create({ model: MODEL, input: `Stream this. ${TEXT}`, max_output_tokens: 48, stream: true });
        const deltas: string[] = [];
        let completed: OpenAI.Responses.Response | undefined;
        const types = new Set<string>();
        for await (const ev of stream) {
          types.add(ev.type);
          if ('response' in ev) expect(ev.response.model).toBe(MODEL);
          if (ev.type === 'response.output_text.delta') deltas.push(ev.delta);
          if (ev.type === 'response.completed') completed = ev.response;
        }
        expect(types).toContain('response.created');
        expect(deltas.length).toBeGreaterThan(3);
        expect(deltas.join('')).toBe(whole.output_text);
        expect(completed).toBeDefined();
        expect(completed!.model).toBe(MODEL);
        const item = completed!.output.find((o) => o.type === 'message') as OpenAI.Responses.ResponseOutputMessage;
        expect((item.content[0] as OpenAI.Responses.ResponseOutputText).text).toBe(deltas.join(''));
        const event = await ledger.one(p.keyId);
        expect(event.stream).toBe(true);
        expect(event.cached_tokens).toBeGreaterThan(0); // the same prompt as the whole answer's: read from the prefix cache
        expect(billedOf(event)).toEqual(billedFor('responses', responsesSeen(completed!.usage)));
      });

      it('responses.stream helper: text deltas and finalResponse().output_text agree, usage billed', async () => {
        const stream = client.responses.stream({ model: MODEL, input: `Helper. ${TEXT}`, max_output_tokens: 32 });
        const deltas: string[] = [];
        stream.on('response.output_text.delta', (ev) => { deltas.push(ev.delta); });
        const final = await stream.finalResponse();
        expect(deltas.length).toBeGreaterThan(3);
        expect(final.output_text).toBe(deltas.join(''));
        expect(final.model).toBe(MODEL);
        expect(billedOf(await ledger.one(p.keyId))).toEqual(billedFor('responses', responsesSeen(final.usage)));
      });

      it('previous_response_id continues a stored response for its key, 404 for another key; retrieve likewise', async () => {
        const first = await client.responses.create({ model: MODEL, input: 'Remember: the vault code is 4-8-15-16.', max_output_tokens: 24 });
        await ledger.next(p.keyId);
        const next = await client.responses.create({ model: MODEL, input: 'What was the vault code?', previous_response_id: first.id, max_output_tokens: 24 });
        expect(next.previous_response_id).toBe(first.id);
        expect(next.output_text.length).toBeGreaterThan(0);
        // The conversation before it is read again: more input than the new message alone.
        expect(next.usage!.input_tokens).toBeGreaterThan(first.usage!.input_tokens);
        expect(billedOf(await ledger.one(p.keyId))).toEqual(billedFor('responses', responsesSeen(next.usage)));

        const theirs = await strangerClient.responses.create({ model: MODEL, input: 'What was the vault code?', previous_response_id: first.id, max_output_tokens: 24 }).catch((e: unknown) => e);
        expect(theirs).toBeInstanceOf(OpenAI.NotFoundError);
        expect((theirs as InstanceType<typeof OpenAI.NotFoundError>).status).toBe(404);
        expect((theirs as InstanceType<typeof OpenAI.APIError>).param).toBe('previous_response_id');

        const got = await client.responses.retrieve(first.id);
        expect(got.id).toBe(first.id);
        expect(got.model).toBe(MODEL);
        expect(got.output_text).toBe(first.output_text);
        const notTheirs = await strangerClient.responses.retrieve(first.id).catch((e: unknown) => e);
        expect(notTheirs).toBeInstanceOf(OpenAI.NotFoundError);
        // Neither the refusal nor the retrieval bills anything to the key that made the response.
        expect(await ledger.next(p.keyId)).toEqual([]);
        const refused = await ledger.next(stranger.keyId);
        expect(refused.map((e) => [e.endpoint, e.status, e.error_code, Number(e.cost)])).toEqual([['responses', 404, 'not_found', 0]]);
      });

      it('chat.completions.create with tools: a tool call whose arguments parse as JSON, billed exactly', async () => {
        const r = await client.chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: 'What is the weather in Brno?' }],
          tools: [{
            type: 'function',
            function: {
              name: 'get_weather',
              description: 'The weather in a city',
              parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city', 'days'] },
            },
          }],
          max_tokens: 128,
        });
        expect(r.model).toBe(MODEL);
        const choice = r.choices[0]!;
        expect(choice.finish_reason).toBe('tool_calls');
        const call = choice.message.tool_calls![0]! as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
        expect(call.type).toBe('function');
        expect(call.function.name).toBe('get_weather');
        const args = JSON.parse(call.function.arguments) as Record<string, unknown>;
        expect(typeof args.city).toBe('string');
        expect(Number.isInteger(args.days)).toBe(true);
        expect(billedOf(await ledger.one(p.keyId))).toEqual(billedFor('chat', chatSeen(r.usage)));
      });

      it('chat.completions.parse with a strict json_schema response_format: .parsed matches the schema', async () => {
        const r = await client.chat.completions.parse({
          model: MODEL,
          messages: [{ role: 'user', content: 'Describe a user as JSON.' }],
          response_format: {
            type: 'json_schema',
            json_schema: {
              name: 'user',
              strict: true,
              schema: {
                type: 'object',
                properties: { name: { type: 'string' }, age: { type: 'integer' }, admin: { type: 'boolean' }, tags: { type: 'array', items: { type: 'string' } } },
                required: ['name', 'age', 'admin', 'tags'],
                additionalProperties: false,
              },
            },
          },
          max_tokens: 256,
        });
        const parsed = r.choices[0]!.message.parsed as Record<string, unknown> | null;
        expect(parsed).not.toBeNull();
        expect(Object.keys(parsed!).sort()).toEqual(['admin', 'age', 'name', 'tags']);
        expect(typeof parsed!.name).toBe('string');
        expect(Number.isInteger(parsed!.age)).toBe(true);
        expect(typeof parsed!.admin).toBe('boolean');
        expect(Array.isArray(parsed!.tags) && (parsed!.tags as unknown[]).every((t) => typeof t === 'string')).toBe(true);
        expect(billedOf(await ledger.one(p.keyId))).toEqual(billedFor('chat', chatSeen(r.usage)));
      });

      it('an image part (a data: URL) is answered, and its tokens billed', async () => {
        const text = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'What is in this picture?' }], max_tokens: 16 });
        await ledger.next(p.keyId);
        const r = await client.chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: [{ type: 'text', text: 'What is in this picture?' }, { type: 'image_url', image_url: { url: PNG } }] }],
          max_tokens: 16,
        });
        expect(r.choices[0]!.message.content!.length).toBeGreaterThan(0);
        expect(r.usage!.prompt_tokens).toBeGreaterThan(text.usage!.prompt_tokens); // the image counts
        expect(billedOf(await ledger.one(p.keyId))).toEqual(billedFor('chat', chatSeen(r.usage)));
      });

      it('a model outside the key: 403 as OpenAI.PermissionDeniedError', async () => {
        const e = await client.chat.completions.create({ model: OTHER, messages: [{ role: 'user', content: 'hi' }] }).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(OpenAI.PermissionDeniedError);
        expect((e as InstanceType<typeof OpenAI.APIError>).status).toBe(403);
        expect((e as InstanceType<typeof OpenAI.APIError>).code).toBe('model_not_allowed');
        const r = await client.responses.create({ model: OTHER, input: 'hi' }).catch((x: unknown) => x);
        expect(r).toBeInstanceOf(OpenAI.PermissionDeniedError);
        const events = await ledger.next(p.keyId);
        expect(events.map((ev) => [ev.status, ev.error_code, Number(ev.cost)])).toEqual([[403, 'model_not_allowed', 0], [403, 'model_not_allowed', 0]]);
      });
    });

    describe('@anthropic-ai/sdk', () => {
      let client: Anthropic;
      beforeAll(() => {
        // The gateway's origin: the SDK appends /v1/messages, and sends the key as x-api-key.
        client = new Anthropic({ baseURL: sys.url, apiKey: p.key, maxRetries: 0 });
      });

      it('messages.create: text, and usage equal to what was billed', async () => {
        const m = await client.messages.create({ model: MODEL, max_tokens: 48, messages: [{ role: 'user', content: TEXT }] });
        expect(m.type).toBe('message');
        expect(m.role).toBe('assistant');
        expect(m.model).toBe(MODEL);
        const block = m.content[0]!;
        expect(block.type).toBe('text');
        expect((block as Anthropic.TextBlock).text).toContain('LiteMaaS');
        expect(m.usage.output_tokens).toBeGreaterThan(0);
        expect(billedOf(await ledger.one(p.keyId))).toEqual(billedFor('messages', anthropicSeen(m.usage)));
      });

      it('messages.stream: text events concatenate to the final message, whose usage was billed', async () => {
        const whole = await client.messages.create({ model: MODEL, max_tokens: 48, messages: [{ role: 'user', content: `Stream this. ${TEXT}` }] });
        await ledger.next(p.keyId);
        const stream = client.messages.stream({ model: MODEL, max_tokens: 48, messages: [{ role: 'user', content: `Stream this. ${TEXT}` }] });
        const deltas: string[] = [];
        stream.on('text', (d) => { deltas.push(d); });
        const final = await stream.finalMessage();
        expect(deltas.length).toBeGreaterThan(3);
        const text = (final.content[0] as Anthropic.TextBlock).text;
        expect(deltas.join('')).toBe(text);
        expect(text).toBe((whole.content[0] as Anthropic.TextBlock).text);
        expect(final.model).toBe(MODEL);
        expect(final.stop_reason).not.toBeNull();
        // (vLLM, and so the simulator, reports no cache fields on this API: anthropicSeen counts them when an upstream does.)
        const event = await ledger.one(p.keyId);
        expect(event.stream).toBe(true);
        expect(billedOf(event)).toEqual(billedFor('messages', anthropicSeen(final.usage)));
      });

      it('messages.countTokens: input_tokens, billed nothing', async () => {
        const c = await client.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: TEXT }] });
        expect(c.input_tokens).toBeGreaterThan(0);
        const event = await ledger.one(p.keyId);
        expect(event.endpoint).toBe('count_tokens');
        expect(event.status).toBe(200);
        expect(Number(event.cost)).toBe(0);
      });

      it("errors in Anthropic's shape: unknown model → NotFoundError, no key or a wrong one → AuthenticationError, a model outside the key → PermissionDeniedError", async () => {
        const nf = await client.messages.create({ model: 'no-such-model', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
        expect(nf).toBeInstanceOf(Anthropic.NotFoundError);
        const err = nf as InstanceType<typeof Anthropic.APIError>;
        expect(err.status).toBe(404);
        // As Anthropic's API answers: {type:'error', error:{type, message}} (with a request_id beside it).
        expect(err.error).toMatchObject({ type: 'error', error: { type: 'not_found_error', message: expect.stringContaining('no-such-model') } });
        expect(err.type).toBe('not_found_error');

        // No key at all: the SDK's own key header removed.
        const keyless = new Anthropic({ baseURL: sys.url, apiKey: 'unused', maxRetries: 0, defaultHeaders: { 'x-api-key': null } });
        const none = await keyless.messages.create({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
        expect(none).toBeInstanceOf(Anthropic.AuthenticationError);
        expect((none as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'authentication_error', message: expect.any(String) } });
        const wrong = await new Anthropic({ baseURL: sys.url, apiKey: 'sk-not-a-real-key', maxRetries: 0 })
          .messages.create({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
        expect(wrong).toBeInstanceOf(Anthropic.AuthenticationError);

        const denied = await client.messages.create({ model: OTHER, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
        expect(denied).toBeInstanceOf(Anthropic.PermissionDeniedError);
        expect((denied as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'permission_error', message: expect.stringContaining(OTHER) } });
        // Refusals cost nothing.
        expect((await ledger.next(p.keyId)).map((e) => [e.endpoint, e.status, e.error_code, Number(e.cost)]))
          .toEqual([['messages', 404, 'model_not_found', 0], ['messages', 403, 'model_not_allowed', 0]]);
      });
    });

    describe('Vercel AI SDK (ai + @ai-sdk/openai)', () => {
      let openai: ReturnType<typeof createOpenAI>;
      beforeAll(() => {
        openai = createOpenAI({ baseURL: `${sys.url}/v1`, apiKey: p.key });
      });

      it('generateText with the default provider (Responses API): text and usage equal to what was billed', async () => {
        const r = await generateText({ model: openai(MODEL), prompt: TEXT, maxOutputTokens: 48, maxRetries: 0 });
        expect(r.text).toContain('LiteMaaS');
        expect(r.response.modelId).toBe(MODEL);
        expect(r.usage.outputTokens).toBeGreaterThan(0);
        expect(billedOf(await ledger.one(p.keyId))).toEqual(billedFor('responses', aiSeen(r.usage)));
      });

      it('streamText: textStream increments concatenate to the text; the final usage was billed', async () => {
        const whole = await generateText({ model: openai(MODEL), prompt: `Stream this. ${TEXT}`, maxOutputTokens: 48, maxRetries: 0 });
        await ledger.next(p.keyId);
        const s = streamText({ model: openai(MODEL), prompt: `Stream this. ${TEXT}`, maxOutputTokens: 48, maxRetries: 0, onError: () => {} });
        const parts: string[] = [];
        for await (const t of s.textStream) parts.push(t);
        expect(parts.length).toBeGreaterThan(3);
        expect(parts.join('')).toBe(await s.text);
        expect(await s.text).toBe(whole.text);
        const usage = await s.usage;
        expect(usage.inputTokenDetails.cacheReadTokens).toBeGreaterThan(0);
        expect((await s.response).modelId).toBe(MODEL);
        const event = await ledger.one(p.keyId);
        expect(event.stream).toBe(true);
        expect(billedOf(event)).toEqual(billedFor('responses', aiSeen(usage)));
      });

      it('openai.chat(model): chat completions, generated and streamed, billed as the SDK reports', async () => {
        const r = await generateText({ model: openai.chat(MODEL), prompt: TEXT, maxOutputTokens: 48, maxRetries: 0 });
        expect(r.text).toContain('LiteMaaS');
        expect(billedOf(await ledger.one(p.keyId))).toEqual(billedFor('chat', aiSeen(r.usage)));

        const s = streamText({ model: openai.chat(MODEL), prompt: TEXT, maxOutputTokens: 48, maxRetries: 0, onError: () => {} });
        const parts: string[] = [];
        for await (const t of s.textStream) parts.push(t);
        expect(parts.length).toBeGreaterThan(3);
        expect(parts.join('')).toBe(r.text);
        expect(billedOf(await ledger.one(p.keyId))).toEqual(billedFor('chat', aiSeen(await s.usage)));
      });

      it('a model outside the key: 403 as APICallError', async () => {
        for (const model of [openai(OTHER), openai.chat(OTHER)]) {
          const e = await generateText({ model, prompt: 'hi', maxRetries: 0 }).catch((x: unknown) => x);
          expect(APICallError.isInstance(e)).toBe(true);
          expect((e as APICallError).statusCode).toBe(403);
          expect((e as APICallError).isRetryable).toBe(false);
          expect((e as APICallError).message).toContain(OTHER);
        }
        expect((await ledger.next(p.keyId)).map((ev) => [ev.status, ev.error_code])).toEqual([[403, 'model_not_allowed'], [403, 'model_not_allowed']]);
      });
    });
  });
}
