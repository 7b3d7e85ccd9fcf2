/**
 * The portal in a real browser (Debian's Chromium via playwright-core),
 * against a server this test starts on PostgreSQL: the workshop's path —
 * sign in, subscribe, create `canopy-experiments`, View key, reveal it with
 * the eye, call the gateway with the key read out of the curl example, see
 * the Responses and Anthropic examples of a chat model, chat in the Playground
 * through Chat Completions and the Responses API, watch Usage move — then an
 * admin approves a restricted model and sees the usage.
 * Every page is saved under test-results/screenshots/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import type { Page } from 'playwright-core';
import { MODEL, PRICES, settle, startSystem, type System } from '../helpers/system.js';
import { browserAvailable, openBrowser, type Browser } from '../helpers/browser.js';

const RESTRICTED = 'Granite-34B-Research';
const RERANKER = 'bge-reranker-v2-m3';
const WHISPER = 'whisper-large-v3';
const PW = 'workshop password 1';
const run = browserAvailable();

let sys: System;
let user: Browser;
let key = '';

async function signIn(page: Page, username: string) {
  await page.goto(`${sys.url}/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PW);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
}

/** Runs a JSON curl example as pasted: its URL, its -H headers and its -d body, through fetch. */
async function runCurl(example: string): Promise<{ status: number; body: any }> {
  const url = /^curl (\S+)/.exec(example)![1]!;
  const headers = Object.fromEntries([...example.matchAll(/-H "([^:]+): ([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
  const body = /-d '(.*)'$/m.exec(example)![1]!;
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, body: await res.json() };
}

const number = async (page: Page, testId: string) => Number((await page.getByTestId(testId).innerText()).replace(/[^0-9.]/g, ''));

describe.skipIf(!run)('portal in a browser', () => {
  beforeAll(async () => {
    sys = await startSystem('postgres');
    const dep = [{ url: `${sys.sim.url}/v1`, upstreamModel: 'llama32-fp8' }];
    await sys.admin('POST', '/admin/models', { id: MODEL, ...PRICES, provider: 'vllm', contextLength: 8192, features: ['chat', 'streaming'], description: 'Llama 3.2 3B Instruct, FP8', deployments: dep });
    await sys.admin('POST', '/admin/models', { id: RESTRICTED, inputPricePer1M: 1, outputPricePer1M: 3, provider: 'vllm', contextLength: 32768, restricted: true, deployments: dep });
    await sys.admin('POST', '/admin/models', { id: RERANKER, kind: 'rerank', inputPricePer1M: 0.02, outputPricePer1M: 0, requestPrice: 0.0001, provider: 'vllm', deployments: dep });
    await sys.admin('POST', '/admin/models', { id: WHISPER, kind: 'audio', inputPricePer1M: 0, outputPricePer1M: 0, audioPricePerMinute: 0.006, provider: 'vllm', deployments: dep });
    await sys.admin('POST', '/admin/users', { username: 'alice', password: PW, displayName: 'Alice Developer' });
    await sys.admin('POST', '/admin/users', { username: 'root', password: PW, roles: ['admin', 'user'] });
    user = await openBrowser();
  });
  afterAll(async () => {
    await user?.close();
    await sys?.close();
  });

  it('refuses a wrong password with a message a person understands', async () => {
    const { page } = user;
    await page.goto(`${sys.url}/models`);
    await page.waitForURL(/\/login/);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('not my password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect.poll(() => page.getByText('Wrong username or password.').isVisible()).toBe(true);
    await user.shot('01-login-error');
  });

  it('signs in and subscribes to the model', async () => {
    const { page } = user;
    await signIn(page, 'alice');
    await page.goto(`${sys.url}/models`);
    await page.getByText(MODEL, { exact: true }).first().click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.getByRole('button', { name: 'Subscribe' }).isVisible()).toBe(true);
    await user.shot('02-model-detail');
    await dialog.getByRole('button', { name: 'Subscribe' }).click();
    await expect.poll(() => dialog.getByRole('button', { name: 'Create API key' }).or(dialog.getByRole('link', { name: 'Create API key' })).first().isVisible()).toBe(true);
    await dialog.getByRole('button', { name: 'Done' }).click();
    // The restricted one waits for an admin.
    await page.getByText(RESTRICTED, { exact: true }).first().click();
    await dialog.getByRole('button', { name: 'Request access' }).click();
    await expect.poll(() => dialog.getByText('Waiting for approval').isVisible()).toBe(true);
    await dialog.getByRole('button', { name: 'Done' }).click();
    // Each card says what the model is and how it is priced.
    const card = (id: string) => page.locator('.lm-card-clickable').filter({ has: page.getByRole('button', { name: id, exact: true }) });
    expect(await card(RERANKER).innerText()).toMatch(/Rerank[\s\S]*per 1M tokens[\s\S]*0\.0001[\s\S]*per request/);
    expect(await card(WHISPER).innerText()).toMatch(/Audio \(speech to text\)[\s\S]*0\.006[\s\S]*per minute of audio/);
    expect(await card(WHISPER).innerText()).not.toMatch(/per 1M tokens/);
    await user.shot('03-models');
    await page.getByText(WHISPER, { exact: true }).first().click();
    await expect.poll(() => dialog.getByText('/v1/audio/transcriptions, /v1/audio/translations').isVisible()).toBe(true);
    expect(await dialog.innerText()).toMatch(/Audio price\s+\$0\.006 per minute of audio/);
    await user.shot('03b-model-detail-audio');
    await dialog.getByRole('button', { name: 'Done' }).click();
    const subs = (await sys.admin('GET', '/admin/subscriptions')).body.subscriptions;
    expect(subs.map((s: any) => [s.username, s.modelId, s.status]).sort()).toEqual([['alice', RESTRICTED, 'pending'], ['alice', MODEL, 'active']]);
  });

  it('creates canopy-experiments, opens View key, reveals it with the eye, and the key from the curl example works', async () => {
    const { page } = user;
    await page.goto(`${sys.url}/api-keys`);
    await page.getByRole('button', { name: 'Create API key' }).first().click();
    const form = page.getByRole('dialog');
    await form.getByLabel('Name').fill('canopy-experiments');
    await form.getByLabel('Description').fill('Canopy backend in my namespace');
    await form.locator('#key-models').click();
    await form.getByRole('option', { name: MODEL }).click();
    await form.locator('#key-models').click();
    await user.shot('04-create-key');
    await form.getByRole('button', { name: 'Create', exact: true }).click();
    await expect.poll(() => page.getByRole('dialog').getByText('API key created: canopy-experiments').isVisible()).toBe(true);
    await user.shot('05-key-created');
    await page.getByRole('dialog').getByRole('button', { name: /Done|Close/ }).first().click();

    const row = page.getByRole('row').filter({ hasText: 'canopy-experiments' });
    await row.getByRole('button', { name: 'View key' }).click();
    const view = page.getByRole('dialog');
    await expect.poll(() => view.getByText('View key: canopy-experiments').isVisible()).toBe(true);
    const curl = view.getByTestId('curl-example');
    const masked = await curl.innerText();
    expect(masked).toContain(`${sys.url}/v1/chat/completions`);
    expect(masked).not.toMatch(/Bearer sk-[A-Za-z0-9_-]{43}/);
    await user.shot('06-view-key-masked');
    await view.getByRole('button', { name: 'Show key' }).first().click();
    await expect.poll(async () => /Bearer sk-[A-Za-z0-9_-]{43}/.test(await curl.innerText())).toBe(true);
    await expect.poll(() => view.getByRole('button', { name: 'Hide key' }).first().isVisible()).toBe(true);
    await user.shot('07-view-key-revealed');
    key = /Bearer (sk-[A-Za-z0-9_-]+)/.exec(await curl.innerText())![1]!;
    const endpoint = /curl (\S+)\/chat\/completions/.exec(await curl.innerText())![1]!;
    expect(endpoint).toBe(`${sys.url}/v1`);

    // A chat model also speaks the Responses API and Anthropic's Messages API, with the same key.
    await view.getByRole('tab', { name: 'Responses API' }).click();
    await expect.poll(() => view.getByTestId('curl-example').innerText()).toContain(`curl ${sys.url}/v1/responses`);
    expect(await view.getByTestId('curl-example').innerText()).toContain(`Bearer ${key}`);
    await view.getByRole('tab', { name: 'OpenAI Python' }).click();
    await expect.poll(() => view.getByTestId('python-example').innerText()).toContain('client.responses.create(');
    await user.shot('07b-view-key-responses');
    await view.getByRole('tab', { name: 'curl' }).click();
    const responses = await runCurl(await view.getByTestId('curl-example').innerText());
    expect(responses.status, JSON.stringify(responses.body)).toBe(200);
    expect(responses.body.object).toBe('response');
    await view.getByRole('tab', { name: 'Anthropic Messages' }).click();
    await view.getByRole('tab', { name: 'curl' }).click();
    const anthropicCurl = view.getByTestId('curl-example');
    await expect.poll(() => anthropicCurl.innerText()).toContain(`curl ${sys.url}/v1/messages`);
    expect(await anthropicCurl.innerText()).toContain(`x-api-key: ${key}`);
    expect(await anthropicCurl.innerText()).toContain('anthropic-version: 2023-06-01');
    const message = await runCurl(await anthropicCurl.innerText());
    expect(message.status, JSON.stringify(message.body)).toBe(200);
    expect(message.body).toMatchObject({ type: 'message', role: 'assistant' });
    await view.getByRole('tab', { name: 'Anthropic Python' }).click();
    const anthropicPy = await view.getByTestId('python-example').innerText();
    expect(anthropicPy).toContain(`base_url="${sys.url}",`);
    expect(anthropicPy).toContain(`api_key="${key}"`);
    await user.shot('07c-view-key-anthropic');
    // The same key as a Kubernetes Secret for kubeseal (the workshop's next step): a tab beside the examples.
    await view.getByRole('tab', { name: 'Kubernetes / Sealed Secret' }).click();
    const secret = view.getByTestId('k8s-secret-example');
    await expect.poll(() => secret.isVisible()).toBe(true);
    await expect.poll(() => secret.innerText()).toContain('name: canopy-experiments-api-token');
    expect(await secret.innerText()).toContain(`api_token: "${key}"`);
    expect(await secret.innerText()).toContain('kubeseal --format yaml');
    await user.shot('07d-view-key-kubernetes');
    // Hidden again, the key leaves every example and the Secret; copying the Secret still copies the real key.
    await view.getByRole('button', { name: 'Hide key' }).first().click();
    await expect.poll(() => secret.innerText()).not.toContain(key);
    expect(await secret.innerText()).toMatch(/api_token: "[^"]+"/);
    await user.shot('07e-view-key-kubernetes-masked');
    await view.getByRole('button', { name: 'Copy Kubernetes Secret' }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toContain(`api_token: "${key}"`);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toContain('kind: Secret');
    expect(await secret.innerText()).not.toContain(key); // copying does not reveal it on screen
    await view.getByRole('tab', { name: 'Anthropic Python' }).click();
    await expect.poll(() => view.getByTestId('python-example').innerText()).not.toContain(key);
    await view.getByRole('tab', { name: 'Chat Completions' }).click();

    const client = new OpenAI({ baseURL: endpoint, apiKey: key });
    for (let i = 0; i < 3; i++) {
      const r = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: `Summarise the workshop, part ${i}.` }], max_tokens: 30 });
      expect(r.choices[0]!.message.content!.length).toBeGreaterThan(0);
    }
    await view.getByRole('button', { name: 'Done' }).click();
  });

  it('shows the requests, tokens and cost on the Usage page', async () => {
    const { page } = user;
    await settle(sys);
    await page.goto(`${sys.url}/usage`);
    // The Responses and Anthropic examples ran once each, then the three chat completions.
    await expect.poll(() => number(page, 'usage-requests'), { timeout: 15_000 }).toBe(5);
    const expected = (await sys.admin('GET', '/admin/usage/summary?groupBy=key')).body.totals;
    expect(await number(page, 'usage-tokens')).toBe(expected.promptTokens + expected.completionTokens);
    expect(await number(page, 'usage-cost')).toBeGreaterThan(0);
    expect(await page.getByTestId('usage-success-rate').innerText()).toMatch(/100/);
    await user.shot('08-usage');
    // The page moves by itself as the app keeps sending requests.
    await new OpenAI({ baseURL: `${sys.url}/v1`, apiKey: key }).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'One more.' }] });
    await settle(sys);
    await expect.poll(() => number(page, 'usage-requests'), { timeout: 20_000, interval: 1000 }).toBe(6);
  });

  it('streams a chat in the Playground with one of my keys', async () => {
    const { page } = user;
    await page.goto(`${sys.url}/playground`);
    const input = page.getByRole('textbox').last();
    await expect.poll(() => input.isEnabled(), { timeout: 10_000 }).toBe(true);
    await input.fill('Summarise: LiteMaaS meters every request to the cent.');
    await page.getByRole('button', { name: /Send/ }).click();
    await expect.poll(() => page.getByText(/tokens\/s/i).first().isVisible(), { timeout: 15_000 }).toBe(true);
    await user.shot('09-playground');
  });

  it('streams the same chat through the Responses API', async () => {
    const { page } = user;
    await page.getByRole('button', { name: 'Responses API' }).click();
    await expect.poll(() => page.getByText('POST /v1/responses').isVisible()).toBe(true);
    await page.getByRole('textbox').last().fill('And once more through the Responses API.');
    await page.getByRole('button', { name: /Send/ }).click();
    const replies = page.getByTestId('assistant-message');
    await expect.poll(() => replies.count(), { timeout: 15_000 }).toBe(2);
    await expect.poll(() => page.getByTestId('playground-tps').count(), { timeout: 15_000 }).toBe(2);
    expect((await replies.nth(1).innerText()).length).toBeGreaterThan(0);
    expect(await page.getByTestId('playground-cost').nth(1).innerText()).toMatch(/\d/);
    expect(await page.getByText('The gateway refused the request').count()).toBe(0);
    await user.shot('09b-playground-responses');
  });

  it('shows rerank and transcription examples for a key of such models, and the playground says it has no chat model', async () => {
    const alice = (await sys.admin('GET', '/admin/users')).body.users.find((u: any) => u.username === 'alice');
    for (const modelId of [RERANKER, WHISPER]) expect((await sys.admin('POST', `/admin/users/${alice.id}/subscriptions`, { modelId })).status).toBe(201);
    const rag = await sys.admin('POST', `/admin/users/${alice.id}/api-keys`, { name: 'rag-pipeline', models: [RERANKER, WHISPER] });
    expect(rag.status).toBe(201);
    const { page } = user;
    await page.goto(`${sys.url}/api-keys`);
    await page.getByRole('row').filter({ hasText: 'rag-pipeline' }).getByRole('button', { name: 'View key' }).click();
    const view = page.getByRole('dialog');
    const curl = view.getByTestId('curl-example');
    await expect.poll(() => curl.innerText()).toContain(`curl ${sys.url}/v1/rerank`);
    expect(await curl.innerText()).toContain(`"model": "${RERANKER}", "query":`);
    expect(await view.getByRole('tab', { name: 'Responses API' }).count()).toBe(0);
    await user.shot('07d-view-key-rerank');
    await view.getByRole('button', { name: WHISPER }).click();
    await expect.poll(() => curl.innerText()).toContain(`curl ${sys.url}/v1/audio/transcriptions`);
    expect(await curl.innerText()).toContain('-F file=@audio.wav');
    expect(await curl.innerText()).toContain(`-F "model=${WHISPER}"`);
    await user.shot('07e-view-key-audio');
    await view.getByRole('button', { name: 'Done' }).click();

    await page.goto(`${sys.url}/playground`);
    await page.locator('#pg-key').selectOption(rag.body.id);
    await expect.poll(() => page.getByText("The playground chats; this key's models serve other APIs").isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Send' }).isDisabled()).toBe(true);
  });

  it('lets an admin approve the restricted request and see the user\'s usage', async () => {
    const admin = await openBrowser();
    try {
      const { page } = admin;
      await signIn(page, 'root');
      await page.goto(`${sys.url}/admin/subscriptions`);
      const row = page.getByRole('row').filter({ hasText: RESTRICTED });
      await expect.poll(() => row.getByText('alice').isVisible()).toBe(true);
      await admin.shot('10-admin-approvals');
      await row.getByRole('button', { name: 'Approve' }).click();
      await expect.poll(async () => (await sys.admin('GET', '/admin/subscriptions?status=active')).body.subscriptions.some((s: any) => s.modelId === RESTRICTED)).toBe(true);

      await page.goto(`${sys.url}/admin/usage`);
      await expect.poll(() => number(page, 'usage-requests'), { timeout: 15_000 }).toBeGreaterThanOrEqual(4);
      await expect.poll(() => page.getByRole('row').filter({ hasText: 'alice' }).first().isVisible()).toBe(true);
      await admin.shot('11-admin-usage');
      // An admin registers an audio model priced by the minute, with a per-request fee, from the form.
      await page.goto(`${sys.url}/admin/models`);
      await page.getByRole('button', { name: 'Add model' }).first().click();
      const form = page.getByRole('dialog');
      await form.getByLabel('Model ID').fill('whisper-small');
      await form.locator('#model-kind').selectOption('audio');
      await expect.poll(() => form.getByText('Served on /v1/audio/transcriptions, /v1/audio/translations.').isVisible()).toBe(true);
      await form.getByLabel(/Audio price per minute/).fill('0.003');
      await form.getByLabel(/Price per request/).fill('0.0002');
      await form.getByLabel(/Cached input price/).fill('');
      await form.getByLabel('URL').fill(`${sys.sim.url}/v1`);
      await form.getByLabel('Upstream model').fill('whisper-small');
      await admin.shot('12a-admin-model-form-audio');
      await form.getByRole('button', { name: 'Create', exact: true }).click();
      await expect.poll(async () => (await sys.admin('GET', '/admin/models/whisper-small')).status).toBe(200);
      expect((await sys.admin('GET', '/admin/models/whisper-small')).body).toMatchObject({ kind: 'audio', audioPricePerMinute: 0.003, requestPrice: 0.0002, cachedInputPricePer1M: null });
      await expect.poll(() => page.getByRole('row').filter({ hasText: 'whisper-small' }).innerText()).toMatch(/Audio \(speech to text\)[\s\S]*0\.003 per minute of audio[\s\S]*0\.0002 per request/);

      for (const [path, name] of [['/admin/models', '12-admin-models'], ['/admin/users', '13-admin-users'], ['/admin/audit', '14-admin-audit'], ['/admin/settings', '15-admin-settings']] as const) {
        await page.goto(`${sys.url}${path}`);
        await page.waitForLoadState('networkidle');
        await expect.poll(() => page.locator('main').innerText().then((t) => t.length > 0)).toBe(true);
        expect(await page.getByText(/Something went wrong|Could not load/).count()).toBe(0);
        await admin.shot(name);
      }
    } finally {
      await admin.close();
    }
    // The user now sees the model as active, and can put it on a key.
    await user.page.goto(`${sys.url}/subscriptions`);
    await expect.poll(() => user.page.getByRole('row').filter({ hasText: RESTRICTED }).getByText(/Active/i).isVisible()).toBe(true);
    await user.shot('16-subscriptions');
  });

  it('works on a narrow screen', async () => {
    const narrow = await openBrowser({ width: 390, height: 844 });
    try {
      await signIn(narrow.page, 'alice');
      await narrow.page.goto(`${sys.url}/api-keys`);
      await expect.poll(() => narrow.page.getByText('canopy-experiments').first().isVisible()).toBe(true);
      await narrow.shot('17-narrow-api-keys');
      const overflow = await narrow.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(1);
      await narrow.page.goto(`${sys.url}/usage`);
      await expect.poll(() => number(narrow.page, 'usage-requests'), { timeout: 15_000 }).toBeGreaterThanOrEqual(4);
      await narrow.shot('18-narrow-usage');
    } finally {
      await narrow.close();
    }
  });
});
