/**
 * Every descriptor against generated input: whatever a client sends, parsing
 * ends in a request or a 4xx naming what is wrong (never another error),
 * bounds are finite non-negative integers, and whatever an upstream answers,
 * the usage and output readers return counts that fit the ledger's columns.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ENDPOINTS } from '../src/gateway/endpoints/index.js';
import { parseClientRequest, parseFormRequest, requestBounds } from '../src/gateway/request.js';
import { GatewayError } from '../src/gateway/errors.js';
import { wavDurationMs } from '../src/gateway/endpoints/audio.js';
import type { ClientRequest } from '../src/gateway/endpoints/types.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 200);
const INT4_MAX = 2_147_483_647;

const isCount = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= INT4_MAX;

/** JSON values shaped like the APIs' fields, and anything else. */
const value = fc.letrec((tie) => ({
  any: fc.oneof({ depthSize: 'small' }, fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
    fc.array(tie('any'), { maxLength: 4 }), fc.dictionary(fc.constantFrom('role', 'content', 'text', 'type', 'usage', 'input_tokens', 'prompt_tokens', 'delta', 'response', 'message', 'choices'), tie('any'), { maxKeys: 4 })),
})).any;

const FIELDS = ['messages', 'prompt', 'input', 'max_tokens', 'max_completion_tokens', 'max_output_tokens', 'n', 'best_of', 'stream', 'stream_options',
  'query', 'documents', 'text_1', 'text_2', 'tokens', 'previous_response_id', 'background', 'instructions', 'top_n', 'model'];
const body = fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 8 });

describe('endpoint descriptors against generated input', () => {
  it('parse every generated JSON body to a request or a 4xx', () => {
    fc.assert(fc.property(fc.constantFrom(...ENDPOINTS.filter((e) => e.body === 'json')), body, fc.option(fc.integer({ min: 1, max: 1_000_000 }), { nil: null }), (e, b, ctx) => {
      let r: ClientRequest;
      try {
        r = parseClientRequest(e, Buffer.from(JSON.stringify({ model: 'm', ...b })));
      } catch (err) {
        expect(err).toBeInstanceOf(GatewayError);
        expect((err as GatewayError).status).toBeGreaterThanOrEqual(400);
        expect((err as GatewayError).status).toBeLessThan(500);
        return;
      }
      const bounds = requestBounds(r, ctx);
      for (const n of [bounds.prompt, bounds.completion, bounds.audioMs]) expect(Number.isSafeInteger(n) && n >= 0).toBe(true);
      if (e.generates) expect(bounds.completion).toBeGreaterThan(0);
      const up = e.upstream(r, 'upstream-model', bounds);
      expect(JSON.parse(String(up.body)).model).toBe('upstream-model');
    }), { numRuns: RUNS * 5, seed: 9 });
  });

  it('read usage and output from any answer or event as counts that fit the ledger', () => {
    const r = parseClientRequest('chat', Buffer.from(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] })));
    fc.assert(fc.property(fc.constantFrom(...ENDPOINTS), fc.dictionary(fc.string({ maxLength: 12 }), value, { maxKeys: 6 }), value, (e, o, u) => {
      const answer = { ...o, usage: u, response: { usage: u }, message: { usage: u } };
      const usages = [e.usage(answer, r), e.streamUsage(answer, null, r), e.streamUsage({ ...answer, type: 'message_delta' }, { promptTokens: 3, completionTokens: 1 }, r)];
      for (const usage of usages) {
        if (usage === null) continue;
        expect(isCount(usage.promptTokens) && isCount(usage.completionTokens)).toBe(true);
        if (usage.cachedTokens !== undefined) expect(isCount(usage.cachedTokens) && usage.cachedTokens <= usage.promptTokens).toBe(true);
        if (usage.audioMs !== undefined) expect(isCount(usage.audioMs)).toBe(true);
      }
      expect(isCount(e.output(answer))).toBe(true);
    }), { numRuns: RUNS * 5, seed: 11 });
  });

  it('take any multipart body to a request or a 4xx, and read WAV headers without overrunning', async () => {
    const audio = ENDPOINTS.find((e) => e.name === 'transcriptions')!;
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), fc.boolean(), async (bytes, framed) => {
      const boundary = 'xYz';
      const raw = framed
        ? Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nm\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n`), Buffer.from(bytes), Buffer.from(`\r\n--${boundary}--\r\n`)])
        : Buffer.from(bytes);
      try {
        const r = await parseFormRequest(audio, raw, `multipart/form-data; boundary=${boundary}`);
        const b = requestBounds(r, null);
        expect(b.audioMs).toBeGreaterThan(0);
      } catch (err) {
        expect(err).toBeInstanceOf(GatewayError);
        expect((err as GatewayError).status).toBeLessThan(500);
      }
    }), { numRuns: RUNS, seed: 13 });
  });

  it('read any RIFF chunk list, truncated anywhere, without throwing', () => {
    const chunk = fc.record({ id: fc.constantFrom('fmt ', 'data', 'LIST', 'fact'), size: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constant(0xffffffff)), payload: fc.uint8Array({ maxLength: 40 }) });
    fc.assert(fc.property(fc.array(chunk, { maxLength: 4 }), fc.nat(), (chunks, cut) => {
      const parts = [Buffer.from('RIFF\0\0\0\0WAVE', 'latin1')];
      for (const c of chunks) {
        const h = Buffer.alloc(8);
        h.write(c.id, 0, 'latin1');
        h.writeUInt32LE(c.size, 4);
        parts.push(h, Buffer.from(c.payload));
      }
      const all = Buffer.concat(parts);
      const d = wavDurationMs(all.subarray(0, 12 + (cut % (all.length - 11))));
      expect(d === null || isCount(d)).toBe(true);
    }), { numRuns: RUNS * 5, seed: 17 });
  });
});
