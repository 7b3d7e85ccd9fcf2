/**
 * The /v1 gateway with the official openai client, on real PostgreSQL and on
 * PGlite: chat, streaming, completions, embeddings, and every error shape.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { MODEL, provision, settle, startSystem, type Provisioned, type StoreKind, type System } from './helpers/system.js';

const TEXT = 'LiteMaaS meters every request. It keeps budgets exact. Keys can be rotated at any time. The dashboard reads daily rollups.';

for (const kind of ['postgres', 'pglite'] as StoreKind[]) {
  describe(`gateway on ${kind}`, () => {
    let sys: System;
    let p: Provisioned;
    let client: OpenAI;

    beforeAll(async () => {
      sys = await startSystem(kind);
      p = await provision(sys);
      client = new OpenAI({ baseURL: `${sys.url}/v1`, apiKey: p.key, maxRetries: 0 });
    });
    afterAll(async () => { await sys?.close(); });

    it('lists the models the key may call', async () => {
      const models = await client.models.list();
      expect(models.data.map((m) => m.id)).toEqual([MODEL]); // bge-small is added to the key later
    });

    it('answers a chat completion with usage and the public model name', async () => {
      const { data, response } = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: TEXT }], max_tokens: 64 }).withResponse();
      expect(data.model).toBe(MODEL);
      expect(data.choices[0]!.message.content).toContain('LiteMaaS meters every request.');
      expect(data.usage!.prompt_tokens).toBeGreaterThan(0);
      expect(data.usage!.total_tokens).toBe(data.usage!.prompt_tokens + data.usage!.completion_tokens);
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('streams chunk by chunk, without a usage chunk unless asked', async () => {
      const full = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: TEXT }], max_tokens: 64 });
      const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: TEXT }], max_tokens: 64, stream: true });
      let text = '';
      let chunks = 0;
      for await (const c of stream) {
        chunks++;
        expect(c.model).toBe(MODEL);
        expect(c.usage ?? null).toBeNull();
        text += c.choices[0]?.delta?.content ?? '';
      }
      expect(chunks).toBeGreaterThan(3);
      expect(text).toBe(full.choices[0]!.message.content);

      const withUsage = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: TEXT }], max_tokens: 64, stream: true, stream_options: { include_usage: true } });
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const c of withUsage) if (c.usage) usage = c.usage;
      expect(usage).toEqual(expect.objectContaining({ prompt_tokens: full.usage!.prompt_tokens, completion_tokens: full.usage!.completion_tokens }));
    });

    it('serves completions, and embeddings on an embedding model only', async () => {
      const c = await client.completions.create({ model: MODEL, prompt: TEXT, max_tokens: 16 });
      expect(c.choices[0]!.text.length).toBeGreaterThan(0);
      expect(c.usage!.completion_tokens).toBeLessThanOrEqual(16);
      // A chat model does not embed: the model's kind decides which endpoints take it.
      const wrong = await client.embeddings.create({ model: MODEL, input: 'alpha' }).catch((e: InstanceType<typeof OpenAI.APIError>) => e);
      expect(wrong).toBeInstanceOf(OpenAI.APIError);
      expect((wrong as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
      expect((wrong as InstanceType<typeof OpenAI.APIError>).message).toContain(`'${MODEL}' is a chat model; /v1/embeddings serves embedding models`);

      const emb = await sys.admin('POST', '/admin/models', { id: 'bge-small', kind: 'embedding', inputPricePer1M: '0.02', outputPricePer1M: '0', deployments: [{ url: `${sys.sim.url}/v1`, upstreamModel: 'llama32-fp8' }] });
      expect(emb.status).toBe(201);
      expect((await sys.admin('POST', `/admin/users/${p.userId}/subscriptions`, { modelId: 'bge-small' })).status).toBe(201);
      expect((await sys.admin('PATCH', `/admin/api-keys/${p.keyId}`, { models: [MODEL, 'bge-small'] })).status).toBe(200);
      const e = await client.embeddings.create({ model: 'bge-small', input: ['alpha', 'beta'] });
      expect(e.model).toBe('bge-small');
      expect(e.data).toHaveLength(2);
      expect(e.data[0]!.embedding.length).toBeGreaterThan(8);
      const again = await client.embeddings.create({ model: 'bge-small', input: ['alpha'] });
      expect(again.data[0]!.embedding).toEqual(e.data[0]!.embedding);
    });

    async function raw(path: string, init: RequestInit & { key?: string | null } = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      const k = init.key === undefined ? p.key : init.key;
      if (k) headers.authorization = `Bearer ${k}`;
      const res = await fetch(sys.url + path, { method: 'POST', ...init, headers: { ...headers, ...(init.headers as Record<string, string> | undefined) } });
      return { status: res.status, headers: res.headers, body: await res.json() as { error: { message: string; type: string; code: string; param: string | null } } };
    }
    const chat = (extra: Record<string, unknown> = {}) => JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], ...extra });

    it('refuses a missing or unknown key with 401 invalid_api_key', async () => {
      const none = await raw('/v1/chat/completions', { body: chat(), key: null });
      expect(none.status).toBe(401);
      expect(none.body.error.code).toBe('invalid_api_key');
      const bad = await raw('/v1/chat/completions', { body: chat(), key: 'sk-not-a-real-key' });
      expect(bad.status).toBe(401);
      expect(bad.body.error).toEqual(expect.objectContaining({ code: 'invalid_api_key', type: 'invalid_request_error' }));
      await expect(new OpenAI({ baseURL: `${sys.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 }).models.list()).rejects.toMatchObject({ status: 401 });
    });

    it('answers 404 model_not_found and 403 model_not_allowed', async () => {
      const nf = await raw('/v1/chat/completions', { body: chat({ model: 'no-such-model' }) });
      expect(nf.status).toBe(404);
      expect(nf.body.error.code).toBe('model_not_found');
      expect(nf.body.error.message).toContain('no-such-model');
      await sys.admin('POST', '/admin/models', { id: 'other-model', inputPricePer1M: 1, outputPricePer1M: 2, deployments: [{ url: `${sys.sim.url}/v1`, upstreamModel: 'llama32-fp8' }] });
      const na = await raw('/v1/chat/completions', { body: chat({ model: 'other-model' }) });
      expect(na.status).toBe(403);
      expect(na.body.error.code).toBe('model_not_allowed');
    });

    it('answers 400 for bad JSON and bad fields, naming the field', async () => {
      const badJson = await raw('/v1/chat/completions', { body: '{"model": ' });
      expect(badJson.status).toBe(400);
      expect(badJson.body.error.code).toBe('invalid_request_error');
      const noMessages = await raw('/v1/chat/completions', { body: JSON.stringify({ model: MODEL }) });
      expect(noMessages.status).toBe(400);
      expect(noMessages.body.error.param).toBe('messages');
      const badMax = await raw('/v1/chat/completions', { body: chat({ max_tokens: -3 }) });
      expect(badMax.status).toBe(400);
      expect(badMax.body.error.param).toBe('max_tokens');
      const get = await fetch(`${sys.url}/v1/chat/completions`, { headers: { authorization: `Bearer ${p.key}` } });
      expect(get.status).toBe(405);
      expect(((await get.json()) as { error: { code: string } }).error.code).toBe('method_not_allowed');
    });

    it('answers hostile input with a 4xx, never a 5xx', async () => {
      const deep = '['.repeat(50_000) + ']'.repeat(50_000);
      const nested = await raw('/v1/chat/completions', { body: `{"model":"${MODEL}","messages":[{"role":"user","content":"x"}],"tools":${deep}}` });
      expect(nested.status).toBe(400);
      expect(nested.body.error.message).toMatch(/nests deeper/);
      for (const path of ['/v1/models/%E0%A4%A', '/v1/models/%', '/v1/models/%ZZ']) {
        const r = await fetch(sys.url + path, { headers: { authorization: `Bearer ${p.key}` } });
        expect(r.status).toBe(400);
        expect(((await r.json()) as { error: { param: string } }).error.param).toBe('model');
      }
      for (const [field, value] of [['n', 0], ['n', 10_000], ['best_of', -1], ['max_completion_tokens', 1e20]] as const) {
        const r = await raw('/v1/chat/completions', { body: chat({ [field]: value }) });
        expect(r.status).toBe(400);
        expect(r.body.error.param).toBe(field);
      }
      // Unknown model names, however many and however odd, share one metrics label.
      for (const m of ['a\u0000b', 'x'.repeat(5000), '\ud800', 'zzz']) {
        const r = await raw('/v1/chat/completions', { body: chat({ model: m }) });
        expect(r.status).toBe(404);
        // The client's name comes back bounded and cleaned, never 5000 characters or a NUL.
        expect(r.body.error.message.length).toBeLessThan(300);
        expect(r.body.error.message).not.toMatch(/[\u0000\ud800]/);
      }
      const metrics = await (await fetch(`${sys.url}/metrics`)).text();
      expect(metrics).toContain('litemaas_requests_total{model="(unknown)",status="404"}');
      expect(metrics).not.toContain('zzz');
    });

    it('answers 413 for a body over the limit', async () => {
      const huge = chat({ messages: [{ role: 'user', content: 'x'.repeat(5 * 1024 * 1024) }] });
      const r = await raw('/v1/chat/completions', { body: huge });
      expect(r.status).toBe(413);
      expect(r.body.error.code).toBe('request_too_large');
    });

    it('never shows the upstream token or the key in a body', async () => {
      const r = await raw('/v1/chat/completions', { body: chat({ model: 'no-such-model' }) });
      expect(JSON.stringify(r.body)).not.toContain(p.key);
      const m = await sys.admin('GET', `/admin/models/${MODEL}`);
      expect(JSON.stringify(m.body)).not.toMatch(/token_enc|secret/);
      const k = await sys.admin('GET', `/admin/api-keys/${p.keyId}`);
      expect(JSON.stringify(k.body)).not.toContain(p.key);
      expect(k.body.prefix).toBe(`${p.key.slice(0, 7)}…${p.key.slice(-4)}`);
    });

    it('exposes health, readiness and Prometheus metrics without secrets', async () => {
      expect((await fetch(`${sys.url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${sys.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', database: 'up' });
      const metrics = await (await fetch(`${sys.url}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`litemaas_requests_total\\{model="${MODEL}",status="200"\\} \\d+`));
      expect(metrics).toMatch(/litemaas_tokens_total\{model="[^"]+",type="completion"\} \d+/);
      expect(metrics).toContain('litemaas_requests_in_flight');
      expect(metrics).not.toContain(p.key);
    });

    it('records refused requests as errors of the key', async () => {
      await settle(sys);
      const s = await sys.admin('GET', `/admin/usage/summary?groupBy=key&keys=${p.keyId}`);
      expect(s.status).toBe(200);
      expect(s.body.rows).toHaveLength(1);
      expect(s.body.rows[0].requests).toBeGreaterThanOrEqual(6);
      expect(s.body.rows[0].errors).toBeGreaterThanOrEqual(3);
      expect(s.body.rows[0].keyName).toBe('test');
    });
  });
}
