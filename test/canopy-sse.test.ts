/**
 * Canopy reads a real Llama Stack's stream whatever its framing: sse-starlette
 * sends CRLF, others CR; a multi-byte character may be cut between two TCP
 * writes. The text that arrives is the text that was sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { LlamaStackClient } from '../src/canopy/llm.js';

const PIECES = ['Résumé', ' — ', 'naïve ', '日本語', ' ✓'];

describe('Canopy reading foreign SSE framings', () => {
  let server: Server;
  let url = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      const eol = req.url!.startsWith('/cr/') ? '\r' : '\r\n';
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const text = `: ping${eol}${eol}` + PIECES.map((p) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: p } }] })}${eol}${eol}`).join('') + `data: [DONE]${eol}${eol}`;
      const bytes = Buffer.from(text, 'utf8');
      // One byte per write, so every character and every line end is cut somewhere.
      let i = 0;
      const next = () => { if (i >= bytes.length) return res.end(); res.write(bytes.subarray(i, i + 1)); i++; setImmediate(next); };
      next();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => { server.closeAllConnections(); await new Promise((r) => server.close(r)); });

  for (const eol of ['crlf', 'cr']) {
    it(`streams every delta intact over ${eol} framing cut at every byte`, async () => {
      const c = new LlamaStackClient(`${url}/${eol}`); // the path picks the framing
      const got: string[] = [];
      await c.chat({ model: 'm', messages: [{ role: 'user', content: 'x' }], maxTokens: 8, temperature: 0 }, { delta: (t) => got.push(t) }, new AbortController().signal);
      await c.close();
      expect(got.join('')).toBe(PIECES.join(''));
    });
  }
});
