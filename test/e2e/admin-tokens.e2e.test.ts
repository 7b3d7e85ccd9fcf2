/**
 * Admin tokens and rotation with a grace period in a real browser, against a
 * server on PostgreSQL: an admin creates a read-only token on the Admin tokens
 * page (shown once), it works against the admin API, the admin revokes it and
 * it stops; a person rotates their key keeping the old secret for an hour, and
 * View key says until when. Screens under test-results/screenshots/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { MODEL, PRICES, startSystem, type System } from '../helpers/system.js';
import { browserAvailable, openBrowser, type Browser } from '../helpers/browser.js';

const PW = 'token page password 1';
const run = browserAvailable();

describe.skipIf(!run)('admin tokens and key rotation in a browser', () => {
  let sys: System;
  let b: Browser;
  beforeAll(async () => {
    sys = await startSystem('postgres');
    await sys.admin('POST', '/admin/models', { id: MODEL, ...PRICES, deployments: [{ url: `${sys.sim.url}/v1`, upstreamModel: 'llama32-fp8' }] });
    await sys.admin('POST', '/admin/users', { username: 'root', password: PW, roles: ['admin', 'user'] });
    b = await openBrowser();
  });
  afterAll(async () => { await b?.close(); await sys?.close(); });

  async function signIn(page: Page, username: string) {
    await page.goto(`${sys.url}/login`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PW);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  }
  const asToken = (token: string) => fetch(`${sys.url}/api/v1/admin/users`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);

  it('creates a token shown once, lists it without the token, and revokes it', async () => {
    const { page } = b;
    await signIn(page, 'root');
    await page.getByRole('link', { name: 'Admin tokens' }).click();
    await page.getByRole('button', { name: 'Create token' }).click();
    const form = page.getByRole('dialog');
    await form.getByLabel('Name').fill('grafana');
    await form.locator('#token-scope').selectOption('admin-readonly');
    await b.shot('tokens-01-create');
    await form.getByRole('button', { name: 'Create', exact: true }).click();
    const shown = page.getByRole('dialog').filter({ hasText: 'Token created: grafana' });
    await expect.poll(() => shown.isVisible()).toBe(true);
    const token = await shown.getByRole('textbox', { name: 'The new admin API token' }).inputValue();
    expect(token).toMatch(/^lmt_/);
    await b.shot('tokens-02-shown-once');
    await shown.getByRole('button', { name: 'Done' }).click();

    const row = page.getByRole('row').filter({ hasText: 'grafana' });
    await expect.poll(() => row.innerText()).toMatch(/Admin \(read-only\)[\s\S]*active[\s\S]*by root/);
    expect(await page.locator('main').innerText()).not.toContain(token);
    expect(await asToken(token)).toBe(200);
    await page.reload();
    await expect.poll(() => row.innerText()).not.toMatch(/Never\s*$/); // last used now
    await b.shot('tokens-03-list');

    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => row.innerText()).toMatch(/revoked/);
    expect(await asToken(token)).toBe(401);
  });

  it('rotates a key keeping the old secret for an hour, and View key says until when', async () => {
    const rootId = (await sys.admin('GET', '/admin/users')).body.users.find((u: { username: string }) => u.username === 'root').id as string;
    // root's own key, made through the admin API
    await sys.admin('POST', `/admin/users/${rootId}/subscriptions`, { modelId: MODEL });
    const k = await sys.admin('POST', `/admin/users/${rootId}/api-keys`, { name: 'ci-key', models: [MODEL] });
    expect(k.status).toBe(201);
    const { page } = b;
    await page.goto(`${sys.url}/api-keys`);
    const row = page.getByRole('row').filter({ hasText: 'ci-key' });
    await row.getByRole('button', { name: 'Rotate' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('#rotate-grace').selectOption('3600');
    await b.shot('rotate-01-grace');
    await dialog.getByRole('button', { name: 'Rotate key' }).click();
    const secret = page.getByRole('dialog').filter({ hasText: 'Key rotated: ci-key' });
    await expect.poll(() => secret.isVisible()).toBe(true);
    await secret.getByRole('button', { name: 'Done' }).click();
    const call = (key: string) => fetch(`${sys.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);
    expect(await call(k.body.key)).toBe(200); // the old secret, during its grace

    await row.getByRole('button', { name: 'View key' }).click();
    const view = page.getByRole('dialog');
    await expect.poll(() => view.getByText(/valid until/).isVisible()).toBe(true);
    expect(await view.innerText()).toMatch(/Previous secret\s*valid until/);
    await b.shot('rotate-02-view-key');
  });
});
