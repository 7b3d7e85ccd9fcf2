/**
 * The View key examples as pure functions: each names the right URL and
 * headers for its API (the Anthropic SDK takes the origin without /v1, its
 * curl `x-api-key` and `anthropic-version`), carries the key it is given and
 * nothing else, and parses as the language it claims (bash -n, node --check,
 * python3's compile), so what a person pastes runs; and the catalog's
 * prices and endpoints by kind.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { anthropicBaseUrl, apis, apisFor, buildExample, languages, type ApiName } from '../src/web/src/examples.js';
import { kindEndpoints, modelPrices, priceLines } from '../src/web/src/kinds.js';

const GATEWAY = 'https://maas.example.com/v1';
const KEY = 'sk-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const input = { gatewayUrl: GATEWAY, model: 'Llama-3.2-3B-Instruct-FP8', key: KEY };
const all = (Object.keys(apis) as ApiName[]).flatMap((api) => languages.map((lang) => ({ api, lang, text: buildExample(api, lang, input) })));

const has = (cmd: string, args: string[]) => { try { execFileSync(cmd, args, { stdio: 'ignore' }); return true; } catch { return false; } };

describe('key usage examples', () => {
  const dir = mkdtempSync(join(tmpdir(), 'litemaas-examples-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('offers the APIs the gateway serves a model of each kind on', () => {
    expect(apisFor('chat')).toEqual(['chat', 'responses', 'anthropic']);
    expect(apisFor('completion')).toEqual(['completions']);
    expect(apisFor('embedding')).toEqual(['embeddings']);
    expect(apisFor('rerank')).toEqual(['rerank']);
    expect(apisFor('audio')).toEqual(['transcriptions']);
  });

  it('calls each API at its path on the gateway', () => {
    const curl = (api: ApiName) => buildExample(api, 'curl', input);
    expect(curl('chat')).toMatch(/^curl https:\/\/maas\.example\.com\/v1\/chat\/completions \\/);
    expect(curl('responses')).toMatch(/^curl https:\/\/maas\.example\.com\/v1\/responses \\/);
    expect(curl('anthropic')).toMatch(/^curl https:\/\/maas\.example\.com\/v1\/messages \\/);
    expect(curl('completions')).toMatch(/^curl https:\/\/maas\.example\.com\/v1\/completions \\/);
    expect(curl('embeddings')).toMatch(/^curl https:\/\/maas\.example\.com\/v1\/embeddings \\/);
    expect(curl('rerank')).toMatch(/^curl https:\/\/maas\.example\.com\/v1\/rerank \\/);
    expect(curl('transcriptions')).toMatch(/^curl https:\/\/maas\.example\.com\/v1\/audio\/transcriptions \\/);
    expect(buildExample('rerank', 'python', input)).toContain('"https://maas.example.com/v1/rerank"');
    expect(buildExample('rerank', 'node', input)).toContain('"https://maas.example.com/v1/rerank"');
  });

  it('uses the OpenAI clients with base URL <origin>/v1 and their methods for each API', () => {
    for (const api of ['chat', 'responses', 'completions', 'embeddings', 'transcriptions'] as const) {
      expect(buildExample(api, 'python', input)).toContain(`base_url="${GATEWAY}"`);
      expect(buildExample(api, 'node', input)).toContain(`baseURL: "${GATEWAY}"`);
    }
    expect(buildExample('responses', 'python', input)).toContain('client.responses.create(');
    expect(buildExample('responses', 'python', input)).toContain('print(response.output_text)');
    expect(buildExample('responses', 'node', input)).toContain('client.responses.create({');
    expect(buildExample('responses', 'curl', input)).toContain('"input": "Hello!"');
    expect(buildExample('transcriptions', 'python', input)).toContain('client.audio.transcriptions.create(');
    expect(buildExample('transcriptions', 'node', input)).toContain("fs.createReadStream('audio.wav')");
  });

  it('gives the Anthropic SDKs the gateway origin without /v1, and curl the Anthropic headers', () => {
    expect(anthropicBaseUrl('https://maas.example.com/v1')).toBe('https://maas.example.com');
    expect(anthropicBaseUrl('https://maas.example.com/v1/')).toBe('https://maas.example.com');
    expect(anthropicBaseUrl('https://example.com/maas/v1')).toBe('https://example.com/maas');
    const py = buildExample('anthropic', 'python', input);
    expect(py).toContain('client = anthropic.Anthropic(');
    expect(py).toContain('base_url="https://maas.example.com",');
    expect(py).not.toContain('/v1');
    expect(py).toContain('max_tokens=1024');
    const node = buildExample('anthropic', 'node', input);
    expect(node).toContain("import Anthropic from '@anthropic-ai/sdk';");
    expect(node).toContain('baseURL: "https://maas.example.com",');
    expect(node).not.toContain('/v1');
    const curl = buildExample('anthropic', 'curl', input);
    expect(curl).toContain(`-H "x-api-key: ${KEY}"`);
    expect(curl).toContain('-H "anthropic-version: 2023-06-01"');
    expect(curl).not.toContain('Authorization');
  });

  it('sends a transcription as a multipart upload of audio.wav', () => {
    const curl = buildExample('transcriptions', 'curl', input);
    expect(curl).toContain('-F file=@audio.wav');
    expect(curl).toContain('-F "model=Llama-3.2-3B-Instruct-FP8"');
    expect(curl).not.toContain('Content-Type: application/json');
  });

  it('carries exactly the key it is given: the real one, or the masked stand-in', () => {
    for (const { api, lang, text } of all) expect(text, `${api}/${lang}`).toContain(KEY);
    for (const api of Object.keys(apis) as ApiName[]) {
      for (const lang of languages) {
        const masked = buildExample(api, lang, { ...input, key: 'sk-abcd…EFG' });
        expect(masked).toContain('sk-abcd…EFG');
        expect(masked).not.toContain(KEY);
      }
    }
  });

  it('sends JSON bodies that parse, with the model', () => {
    for (const { api, lang, text } of all.filter((x) => x.lang === 'curl')) {
      const body = /-d '(.*)'$/m.exec(text)?.[1];
      if (api === 'transcriptions') { expect(body).toBeUndefined(); continue; }
      expect(JSON.parse(body!).model, `${api}/${lang}`).toBe(input.model);
    }
  });

  it.skipIf(!has('bash', ['--version']))('curl examples are valid shell', () => {
    for (const { api, text } of all.filter((x) => x.lang === 'curl')) {
      const file = join(dir, `${api}.sh`);
      writeFileSync(file, text + '\n');
      execFileSync('bash', ['-n', file]);
    }
  });

  it('Node examples are valid ES modules', () => {
    for (const { api, text } of all.filter((x) => x.lang === 'node')) {
      const file = join(dir, `${api}.mjs`);
      writeFileSync(file, text + '\n');
      execFileSync(process.execPath, ['--check', file]);
    }
  });

  it.skipIf(!has('python3', ['--version']))('Python examples compile', () => {
    for (const { api, text } of all.filter((x) => x.lang === 'python')) {
      const file = join(dir, `${api}.py`);
      writeFileSync(file, text + '\n');
      execFileSync('python3', ['-c', 'import sys; compile(open(sys.argv[1]).read(), sys.argv[1], "exec")', file]);
    }
  });
});

describe('catalog prices by kind', () => {
  const money = (v: number) => `$${v}`;
  const base = { inputPricePer1M: 0.15, outputPricePer1M: 0.6, cachedInputPricePer1M: null, audioPricePerMinute: 0, requestPrice: 0 };

  it('shows token prices for chat, with the cached-input price when set', () => {
    expect(priceLines({ ...base, kind: 'chat' }, money)).toEqual([{ amount: '$0.15 in · $0.6 out', unit: 'per 1M tokens' }]);
    expect(priceLines({ ...base, kind: 'chat', cachedInputPricePer1M: 0.015 }, money)).toEqual([{ amount: '$0.15 in · $0.015 cached in · $0.6 out', unit: 'per 1M tokens' }]);
    expect(modelPrices({ ...base, kind: 'chat', cachedInputPricePer1M: 0 }).map((p) => p.label)).toEqual(['Input price', 'Cached input price', 'Output price']);
  });

  it('leaves out what a kind does not use unless it is priced, and adds the per-request fee', () => {
    expect(priceLines({ ...base, kind: 'rerank', outputPricePer1M: 0, requestPrice: 0.0001 }, money)).toEqual([
      { amount: '$0.15 in', unit: 'per 1M tokens' },
      { amount: '$0.0001', unit: 'per request' },
    ]);
    expect(priceLines({ ...base, kind: 'embedding' }, money)[0]!.amount).toBe('$0.15 in · $0.6 out');
    expect(priceLines({ ...base, kind: 'audio', inputPricePer1M: 0, outputPricePer1M: 0, audioPricePerMinute: 0.006 }, money)).toEqual([{ amount: '$0.006', unit: 'per minute of audio' }]);
    expect(priceLines({ ...base, kind: 'chat', audioPricePerMinute: 0.01 }, money).map((l) => l.unit)).toEqual(['per 1M tokens', 'per minute of audio']);
  });

  it('names the endpoints of every kind', () => {
    expect(kindEndpoints.chat).toEqual(expect.arrayContaining(['/v1/chat/completions', '/v1/responses', '/v1/messages']));
    expect(kindEndpoints.rerank).toEqual(expect.arrayContaining(['/v1/rerank', '/v1/score']));
    expect(kindEndpoints.audio).toEqual(['/v1/audio/transcriptions', '/v1/audio/translations']);
  });
});
