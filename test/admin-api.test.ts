/**
 * The provisioning API: bearer-token admin auth, precise 400s naming the
 * field, secrets never echoed or audited, rotation and revocation.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL, provision, startSystem, type System } from './helpers/system.js';
import { Session } from './helpers/session.js';

/** An upstream that records what it was sent and answers as vLLM's rerank and transcription endpoints do. */
async function fakeUpstream() {
  const seen: Array<{ path: string; type: string; body: Buffer }> = [];
  const read = async (req: IncomingMessage) => { const parts: Buffer[] = []; for await (const c of req) parts.push(c as Buffer); return Buffer.concat(parts); };
  const server = createServer(async (req, res) => {
    const body = await read(req);
    seen.push({ path: req.url ?? '', type: req.headers['content-type'] ?? '', body });
    res.setHeader('content-type', 'application/json');
    if (req.url === '/v1/rerank') return res.end(JSON.stringify({ id: 'r', results: [{ index: 0, relevance_score: 0.91, document: { text: 'x' } }, { index: 1, relevance_score: 0.02 }], usage: { total_tokens: 12 } }));
    if (req.url === '/v1/audio/transcriptions') return res.end(JSON.stringify({ text: '' }));
    res.statusCode = 404; res.end('{}');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, seen, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

describe('admin API', () => {
  let sys: System;
  beforeAll(async () => { sys = await startSystem('postgres'); await provision(sys); });
  afterAll(async () => { await sys?.close(); });

  it('requires the admin token', async () => {
    const anon = await fetch(`${sys.url}/api/v1/admin/users`);
    expect(anon.status).toBe(401);
    const wrong = await fetch(`${sys.url}/api/v1/admin/users`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
  });

  it('names the field in every validation error', async () => {
    const cases: Array<[string, string, unknown, string]> = [
      ['POST', '/admin/models', { id: 'm1', outputPricePer1M: 1, deployments: [{ url: 'http://x/v1', upstreamModel: 'u' }] }, 'inputPricePer1M'],
      ['POST', '/admin/models', { id: 'm1', inputPricePer1M: 1, outputPricePer1M: 1, deployments: [{ url: 'not a url', upstreamModel: 'u' }] }, 'deployments[0].url'],
      ['POST', '/admin/models', { id: 'm1', inputPricePer1M: '0.0000001', outputPricePer1M: 1, deployments: [{ url: 'http://x/v1', upstreamModel: 'u' }] }, 'inputPricePer1M'],
      ['POST', '/admin/models', { id: 'm1', inputPricePer1M: 1, outputPricePer1M: 1, deployments: [] }, 'deployments'],
      ['POST', '/admin/users', { username: 'has space' }, 'username'],
      ['POST', '/admin/users', { username: 'ok', password: 'short' }, 'password'],
      ['POST', '/admin/users', { username: 'ok', rpm: 0 }, 'rpm'],
    ];
    for (const [method, path, body, field] of cases) {
      const r = await sys.admin(method, path, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.field).toBe(field);
      expect(r.body.error.message).toContain(field.split('.')[0]!.split('[')[0]);
    }
    const u = await sys.admin('POST', '/admin/users', { username: `v${Date.now()}` });
    const noSub = await sys.admin('POST', `/admin/users/${u.body.id}/api-keys`, { name: 'k', models: [MODEL] });
    expect(noSub.status).toBe(400);
    expect(noSub.body.error.field).toBe('models');
    expect(noSub.body.error.message).toContain('no active subscription');
    const badModel = await sys.admin('POST', `/admin/users/${u.body.id}/subscriptions`, { modelId: 'nope' });
    expect(badModel.status).toBe(400);
    expect(badModel.body.error.field).toBe('modelId');
    const past = await sys.admin('POST', `/admin/users/${u.body.id}/subscriptions`, { modelId: MODEL });
    expect(past.status).toBe(201);
    const expired = await sys.admin('POST', `/admin/users/${u.body.id}/api-keys`, { name: 'k', models: [MODEL], expiresAt: '2020-01-01T00:00:00Z' });
    expect(expired.status).toBe(400);
    expect(expired.body.error.field).toBe('expiresAt');
    const bad = await fetch(`${sys.url}/api/v1/admin/users`, { method: 'POST', headers: { authorization: `Bearer ${sys.adminToken}`, 'content-type': 'application/json' }, body: '{oops' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/JSON/);
    expect((await sys.admin('GET', '/admin/users/does-not-exist')).status).toBe(404);
    expect((await sys.admin('POST', '/admin/models', { id: MODEL, inputPricePer1M: 1, outputPricePer1M: 1, deployments: [{ url: 'http://x/v1', upstreamModel: 'u' }] })).status).toBe(409);
  });

  it('takes rerank and audio models, cached-input, per-minute and per-request prices, and shows them in the catalog', async () => {
    const dep = [{ url: 'http://127.0.0.1:9/v1', upstreamModel: 'u' }];
    const rerank = await sys.admin('POST', '/admin/models', { id: 'bge-reranker', kind: 'rerank', inputPricePer1M: 0.02, outputPricePer1M: 0, requestPrice: '0.0001', deployments: dep });
    expect(rerank.status, JSON.stringify(rerank.body)).toBe(201);
    expect(rerank.body).toMatchObject({ kind: 'rerank', cachedInputPricePer1M: null, audioPricePerMinute: 0, requestPrice: 0.0001 });
    const audio = await sys.admin('POST', '/admin/models', { id: 'whisper-large-v3', kind: 'audio', inputPricePer1M: 0, outputPricePer1M: 0, audioPricePerMinute: 0.006, deployments: dep });
    expect(audio.status).toBe(201);
    expect(audio.body).toMatchObject({ kind: 'audio', audioPricePerMinute: 0.006, requestPrice: 0 });
    const chat = await sys.admin('POST', '/admin/models', { id: 'cached-chat', inputPricePer1M: 1, outputPricePer1M: 2, cachedInputPricePer1M: 0.1, deployments: dep });
    expect(chat.body).toMatchObject({ kind: 'chat', cachedInputPricePer1M: 0.1, audioPricePerMinute: 0, requestPrice: 0 });

    const username = `cat${Date.now()}`;
    await sys.admin('POST', '/admin/users', { username, password: 'a long enough password' });
    const person = await Session.signIn(sys.url, username, 'a long enough password');
    const catalog = (await person.call('GET', '/models')).body.models as Array<Record<string, unknown>>;
    const byId = new Map(catalog.map((m) => [m.id, m]));
    expect(byId.get('bge-reranker')).toMatchObject({ kind: 'rerank', requestPrice: 0.0001 });
    expect(byId.get('whisper-large-v3')).toMatchObject({ kind: 'audio', audioPricePerMinute: 0.006 });
    expect(byId.get('cached-chat')).toMatchObject({ cachedInputPricePer1M: 0.1 });
    expect(byId.get(MODEL)).toMatchObject({ cachedInputPricePer1M: null, audioPricePerMinute: 0, requestPrice: 0 });

    // An update replaces the prices; leaving one out means none (null, or 0).
    const cleared = await sys.admin('PUT', '/admin/models/cached-chat', { inputPricePer1M: 1, outputPricePer1M: 2, requestPrice: 0.5, deployments: dep });
    expect(cleared.body).toMatchObject({ cachedInputPricePer1M: null, requestPrice: 0.5 });
    const set = await sys.admin('PUT', '/admin/models/cached-chat', { inputPricePer1M: 1, outputPricePer1M: 2, cachedInputPricePer1M: '0.25', deployments: dep });
    expect(set.body).toMatchObject({ cachedInputPricePer1M: 0.25, requestPrice: 0 });
    expect((await sys.admin('GET', '/admin/models/cached-chat')).body.cachedInputPricePer1M).toBe(0.25);
  });

  it('names the new price fields and the kind in validation errors', async () => {
    const base = { id: 'bad-prices', inputPricePer1M: 1, outputPricePer1M: 1, deployments: [{ url: 'http://x/v1', upstreamModel: 'u' }] };
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ cachedInputPricePer1M: '0.0000001' }, 'cachedInputPricePer1M', /6 decimals/],
      [{ cachedInputPricePer1M: -1 }, 'cachedInputPricePer1M', /./],
      [{ audioPricePerMinute: 'a lot' }, 'audioPricePerMinute', /number/],
      [{ audioPricePerMinute: 0.0000001 }, 'audioPricePerMinute', /6 decimals/],
      [{ requestPrice: -0.5 }, 'requestPrice', /./],
      [{ requestPrice: '100000000000000' }, 'requestPrice', /less than/],
      [{ kind: 'video' }, 'kind', /./],
    ];
    for (const [extra, field, message] of cases) {
      const r = await sys.admin('POST', '/admin/models', { ...base, ...extra });
      expect(r.status, JSON.stringify(extra)).toBe(400);
      expect(r.body.error.field, JSON.stringify(r.body)).toBe(field);
      expect(r.body.error.message).toContain(field);
      expect(r.body.error.message).toMatch(message);
    }
    expect((await sys.admin('GET', '/admin/models/bad-prices')).status).toBe(404);
    const put = await sys.admin('PUT', `/admin/models/${MODEL}`, { inputPricePer1M: 1, outputPricePer1M: 1, requestPrice: '0.1234567', deployments: base.deployments });
    expect(put.status).toBe(400);
    expect(put.body.error.field).toBe('requestPrice');
  });

  it('tests a rerank deployment with a tiny query and an audio deployment with half a second of silence', async () => {
    const up = await fakeUpstream();
    try {
      const rerank = await sys.admin('POST', '/admin/models/test', { url: up.url, upstreamModel: 'bge', kind: 'rerank' });
      expect(rerank.body).toMatchObject({ ok: true, status: 200 });
      expect(rerank.body.reply).toMatch(/2 documents ranked; best: document 0/);
      const sent = JSON.parse(up.seen[0]!.body.toString());
      expect(sent).toMatchObject({ model: 'bge', query: expect.any(String), documents: expect.any(Array) });

      const audio = await sys.admin('POST', '/admin/models/test', { url: up.url, upstreamModel: 'whisper', kind: 'audio', token: 'up-token' });
      expect(audio.body).toMatchObject({ ok: true, status: 200 });
      expect(audio.body.reply).toMatch(/silence/);
      const form = up.seen[1]!;
      expect(form.path).toBe('/v1/audio/transcriptions');
      expect(form.type).toMatch(/^multipart\/form-data; boundary=/);
      const text = form.body.toString('latin1');
      expect(text).toContain('name="model"\r\n\r\nwhisper\r\n');
      expect(text).toContain('filename="silence.wav"');
      expect(text).toContain('RIFF');
      expect(text).toContain('WAVE');
    } finally {
      await up.close();
    }
  });

  it('never returns or audits an upstream token or a key after creation', async () => {
    const m = await sys.admin('POST', '/admin/models', { id: 'secret-model', inputPricePer1M: 1, outputPricePer1M: 2, deployments: [{ url: `${sys.sim.url}/v1`, upstreamModel: 'llama32-fp8', token: 'upstream-token-xyz' }] });
    expect(m.status).toBe(201);
    expect(JSON.stringify(m.body)).not.toContain('upstream-token-xyz');
    expect(m.body.deployments[0].hasToken).toBe(true);
    const edited = await sys.admin('PUT', '/admin/models/secret-model', { inputPricePer1M: 2, outputPricePer1M: 3, deployments: [{ url: `${sys.sim.url}/v1/`, upstreamModel: 'llama32-fp8' }] });
    expect(edited.status).toBe(200);
    expect(edited.body.inputPricePer1M).toBe(2);
    expect(edited.body.deployments[0].hasToken).toBe(true); // an edit without the token keeps it
    const p = await provision(sys);
    const audit = await sys.admin('GET', '/admin/audit');
    const text = JSON.stringify(audit.body);
    expect(text).not.toContain('upstream-token-xyz');
    expect(text).not.toContain(p.key);
    expect(audit.body.entries.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['model.create', 'user.create', 'subscription.create', 'api_key.create']));
    const list = await sys.admin('GET', `/admin/users/${p.userId}/api-keys`);
    expect(JSON.stringify(list.body)).not.toContain(p.key);
  });

  it('rotates a key: same id and history, the old secret stops working at once', async () => {
    const p = await provision(sys);
    const call = (key: string) => fetch(`${sys.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);
    expect(await call(p.key)).toBe(200);
    const r = await sys.admin('POST', `/admin/api-keys/${p.keyId}/rotate`);
    expect(r.status).toBe(200);
    expect(r.body.id).toBe(p.keyId);
    expect(r.body.key).not.toBe(p.key);
    expect(await call(p.key)).toBe(401);
    expect(await call(r.body.key)).toBe(200);
    const revoked = await sys.admin('DELETE', `/admin/api-keys/${p.keyId}`);
    expect(revoked.body.status).toBe('revoked');
    expect(await call(r.body.key)).toBe(401);
  });
});
