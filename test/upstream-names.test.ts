/**
 * The upstream's model name never reaches a client, whatever the upstream
 * says: validation errors that quote the request (as vLLM's do), non-JSON
 * stream events, and a request that drops stream_options when it does not stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { provision, startSystem, type System } from './helpers/system.js';

const SECRET = 'internal/Secret-70B-Instruct';

describe('upstream model names', () => {
  let sys: System;
  let upstream: Server;
  let key = '';
  const seen: any[] = [];
  beforeAll(async () => {
    upstream = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        const body = JSON.parse(raw);
        seen.push(body);
        if (body.stream) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write(`data: not json, served by ${body.model}\r\n\r\n`);
          res.write(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: body.model, choices: [{ index: 0, delta: { content: 'hi' } }] })}\r\n\r\n`);
          res.end('data: [DONE]\r\n\r\n');
          return;
        }
        // As vLLM's validation handler does: the message quotes the whole request.
        const out = JSON.stringify({ object: 'error', message: `1 validation error: {'type': 'value_error', 'input': ${JSON.stringify(body)}}`, type: 'BadRequestError', code: 400 });
        res.writeHead(400, { 'content-type': 'application/json' }).end(out);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    sys = await startSystem('pglite');
    const url = `http://127.0.0.1:${(upstream.address() as { port: number }).port}/v1`;
    key = (await provision(sys, { deployments: [{ url, upstreamModel: SECRET }] })).key;
  });
  afterAll(async () => { await sys?.close(); upstream?.closeAllConnections(); await new Promise((r) => upstream?.close(r)); });

  const post = (body: unknown) => fetch(`${sys.url}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });

  it('renames the model in an upstream error that quotes the request, and sends no stream_options without stream', async () => {
    const r = await post({ model: 'Llama-3.2-3B-Instruct-FP8', messages: [{ role: 'user', content: 'x' }], stream_options: { include_usage: true }, max_tokens: 4 });
    const text = await r.text();
    expect(r.status).toBe(400);
    expect(text).not.toContain('Secret-70B');
    expect(text).toContain('Llama-3.2-3B-Instruct-FP8');
    expect(seen.at(-1)).not.toHaveProperty('stream_options');
  });

  it('renames the model in stream events that are not JSON', async () => {
    const r = await post({ model: 'Llama-3.2-3B-Instruct-FP8', messages: [{ role: 'user', content: 'x' }], stream: true, max_tokens: 4 });
    const text = await r.text();
    expect(r.status).toBe(200);
    expect(text).not.toContain('Secret-70B');
    expect(text).toContain('served by Llama-3.2-3B-Instruct-FP8');
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });
});
