/**
 * The seed's "After" picture end to end, in a real browser: Canopy →
 * stack → (API key) → LiteMaaS → model. A person asks Canopy for a summary
 * and reads the streamed answer; the portal's Usage page shows that
 * request's tokens and cost on `canopy-experiments`, and the admin usage
 * attributes it to that key and no other. Revoking the key makes Canopy
 * say so clearly; a new key in the stack's config makes it work again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { MODEL, PRICES, settle, startSystem, type System } from '../helpers/system.js';
import { Session } from '../helpers/session.js';
import { freePort } from '../helpers/net.js';
import { browserAvailable, openBrowser, type Browser } from '../helpers/browser.js';
import { stackConfig } from '../../src/stack/config.js';
import { startStack, type RunningStack } from '../../src/stack/server.js';
import { canopyConfig } from '../../src/canopy/config.js';
import { startCanopy, type RunningCanopy } from '../../src/canopy/server.js';
import { CANOPY_DEMO_CONFIG } from '../../src/commands/start.js';

const PW = 'workshop password 1';
const TEXT = 'LiteMaaS gives every application its own API key. Canopy sends its requests through Llama Stack with that key. The platform counts the tokens and the cost of each request, so the team sees what Canopy uses.';
const run = browserAvailable();

let sys: System;
let stack: RunningStack;
let canopy: RunningCanopy;
let stackPort: number;
let alice: Session;
let browser: Browser;
const dataDir = mkdtempSync(join(tmpdir(), 'canopy-e2e-'));
const keys: Record<string, { id: string; key: string }> = {};

/** The stack as the workshop runs it: its config names the model, the key arrives as API_TOKEN. */
async function restartStack(token: string) {
  await stack?.close();
  stack = await startStack(stackConfig({ port: stackPort, host: '127.0.0.1', models: [{ name: MODEL, url: `${sys.url}/v1` }] }, { API_TOKEN: token }));
}

async function summarise(page: Page): Promise<void> {
  await page.goto(canopy.url);
  await page.getByLabel('Text to summarise').fill(TEXT);
  await page.getByRole('button', { name: 'Summarize' }).click();
}

describe.skipIf(!run)('Canopy through the stack and LiteMaaS, in a browser', () => {
  beforeAll(async () => {
    sys = await startSystem('postgres', { itlMs: 5 });
    await sys.admin('POST', '/admin/models', { id: MODEL, ...PRICES, contextLength: 8192, deployments: [{ url: `${sys.sim.url}/v1`, upstreamModel: 'llama32-fp8' }] });
    for (const u of ['alice', 'bob']) await sys.admin('POST', '/admin/users', { username: u, password: PW });
    alice = await Session.signIn(sys.url, 'alice', PW);
    expect((await alice.call('POST', '/subscriptions', { modelId: MODEL })).status).toBe(201);
    const k = await alice.call('POST', '/api-keys', { name: 'canopy-experiments', description: 'Canopy backend', models: [MODEL] });
    keys.canopy = { id: k.body.id, key: k.body.key };
    // Another application's traffic, so "that key and no other" means something.
    const bob = await Session.signIn(sys.url, 'bob', PW);
    await bob.call('POST', '/subscriptions', { modelId: MODEL });
    const other = (await bob.call('POST', '/api-keys', { name: 'other-app', models: [MODEL] })).body;
    keys.other = { id: other.id, key: other.key };
    for (let i = 0; i < 2; i++) {
      await fetch(`${sys.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${other.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'other app' }] }) });
    }
    stackPort = await freePort();
    await restartStack(keys.canopy!.key);
    canopy = await startCanopy(canopyConfig(CANOPY_DEMO_CONFIG(stack.url), {}), { port: 0, host: '127.0.0.1', dataDir, logLevel: 'silent' });
    browser = await openBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await canopy?.close();
    await stack?.close();
    await sys?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('summarises a text in Canopy and streams the answer', async () => {
    const { page } = browser;
    await page.goto(canopy.url);
    await expect.poll(() => page.getByRole('navigation', { name: 'Features' }).getByText('Summarization').isVisible()).toBe(true);
    await browser.shot('c01-canopy');
    await summarise(page);
    const answer = page.getByTestId('assistant-message').last();
    await expect.poll(async () => (await answer.innerText()).length, { timeout: 15_000 }).toBeGreaterThan(40);
    await expect.poll(() => page.getByRole('button', { name: 'Good answer' }).first().isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await page.getByTestId('stream-error').count()).toBe(0);
    await browser.shot('c02-canopy-summary');
    await page.getByRole('button', { name: 'Good answer' }).first().click();
    await expect.poll(() => page.getByTestId('feedback-thanks').first().isVisible()).toBe(true);
  });

  it('shows that request\'s tokens and cost on canopy-experiments in the portal, and on no other key', async () => {
    await settle(sys);
    const byKey = (await sys.admin('GET', '/admin/usage/summary?groupBy=key')).body.rows as any[];
    const mine = byKey.find((r) => r.keyId === keys.canopy!.id);
    expect(mine).toMatchObject({ keyName: 'canopy-experiments', requests: 1, errors: 0 });
    expect(byKey.find((r) => r.keyId === keys.other!.id)).toMatchObject({ keyName: 'other-app', requests: 2 });
    expect(byKey).toHaveLength(2);

    const portal = await openBrowser();
    try {
      const { page } = portal;
      await page.goto(`${sys.url}/login`);
      await page.getByLabel('Username').fill('alice');
      await page.getByLabel('Password').fill(PW);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.waitForURL((u) => !u.pathname.startsWith('/login'));
      await page.goto(`${sys.url}/usage`);
      const num = async (id: string) => Number((await page.getByTestId(id).innerText()).replace(/[^0-9.]/g, ''));
      await expect.poll(() => num('usage-requests'), { timeout: 15_000 }).toBe(1);
      expect(await num('usage-tokens')).toBe(mine.promptTokens + mine.completionTokens);
      expect(await num('usage-cost')).toBeCloseTo(mine.cost, 6);
      const row = page.getByRole('row').filter({ hasText: 'canopy-experiments' });
      await expect.poll(() => row.first().isVisible()).toBe(true);
      await portal.shot('c03-portal-usage-canopy');

      // Revoke the key in the portal: Canopy must say so, not hang.
      await page.goto(`${sys.url}/api-keys`);
      await page.getByRole('row').filter({ hasText: 'canopy-experiments' }).getByRole('button', { name: 'Revoke' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
      await expect.poll(async () => (await alice.call('GET', `/api-keys/${keys.canopy!.id}`)).body.status).toBe('revoked');
    } finally {
      await portal.close();
    }
  });

  it('shows a clear error in Canopy once the key is revoked', async () => {
    const { page } = browser;
    await summarise(page);
    const err = page.getByTestId('stream-error');
    await expect.poll(() => err.isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await err.innerText()).toMatch(/refused the API key/);
    await browser.shot('c04-canopy-revoked');
  });

  it('works again with a new key in the stack\'s config', async () => {
    const k = await alice.call('POST', '/api-keys', { name: 'canopy-experiments-2', description: 'Canopy backend, new key', models: [MODEL] });
    expect(k.status).toBe(201);
    await restartStack(k.body.key);
    const { page } = browser;
    await summarise(page);
    const answer = page.getByTestId('assistant-message').last();
    await expect.poll(async () => (await answer.innerText()).length, { timeout: 15_000 }).toBeGreaterThan(40);
    // Finished answers get the rating buttons; only then has the request ended and been metered.
    await expect.poll(() => page.getByRole('button', { name: 'Good answer' }).first().isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await page.getByTestId('stream-error').count()).toBe(0);
    await browser.shot('c05-canopy-new-key');
    await settle(sys);
    const byKey = (await sys.admin('GET', '/admin/usage/summary?groupBy=key')).body.rows as any[];
    expect(byKey.find((r) => r.keyId === k.body.id)).toMatchObject({ keyName: 'canopy-experiments-2', requests: 1 });
  });
});
