/**
 * The portal and Canopy in other languages, in a real browser: Japanese chosen with `?lang=ja`
 * (and remembered without it), Spanish from the browser's own locale (es-ES, what Accept-Language
 * carries), a switch from the user menu that survives a reload, money and dates in the language's
 * conventions, and Canopy in Japanese then Spanish from its selector.
 * Screenshots: test-results/screenshots/i18n-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { MODEL, PRICES, settle, startSystem, type System } from '../helpers/system.js';
import { Session } from '../helpers/session.js';
import { freePort } from '../helpers/net.js';
import { CHROMIUM, SHOTS, browserAvailable } from '../helpers/browser.js';
import { stackConfig } from '../../src/stack/config.js';
import { startStack, type RunningStack } from '../../src/stack/server.js';
import { canopyConfig } from '../../src/canopy/config.js';
import { startCanopy, type RunningCanopy } from '../../src/canopy/server.js';
import { CANOPY_DEMO_CONFIG } from '../../src/commands/start.js';

const PW = 'workshop password 1';
const run = browserAvailable();

let sys: System;
let stack: RunningStack;
let canopy: RunningCanopy;
const dirs: string[] = [];

interface Localized { context: BrowserContext; page: Page; shot(name: string): Promise<void>; close(): Promise<void> }

/** test/helpers/browser.ts's launch, with the browser's locale (navigator.languages and Accept-Language) set. */
async function openLocalized(locale: string, viewport = { width: 1280, height: 800 }): Promise<Localized> {
  const profile = mkdtempSync(join(tmpdir(), 'litemaas-i18n-'));
  dirs.push(profile);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    locale,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(10_000);
  mkdirSync(SHOTS, { recursive: true });
  return {
    context,
    page,
    shot: async (name) => void (await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })),
    close: () => context.close(),
  };
}

/** Lazy pages and a busy machine: a second is not always enough. */
const eventually = <T>(check: () => T | Promise<T>, options: { timeout?: number } = {}) => expect.poll(check, { timeout: 10_000, ...options });
const htmlLang = (page: Page) => page.evaluate(() => document.documentElement.lang);
const visible = (page: Page, text: string | RegExp) => page.getByText(text).first().isVisible();

async function signIn(page: Page, username: string, password: string, submit: string) {
  await page.locator('#login-username').fill(username);
  await page.locator('#login-password').fill(password);
  await page.getByRole('button', { name: submit, exact: true }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
}

/** Nothing on the page wider than its box: the usual sign of a translation that does not fit. */
async function overflowing(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('button, .pf-v6-c-menu-toggle, .pf-v6-c-label, th, .pf-v6-c-card__title, .pf-v6-c-nav__link')]
      .filter((el) => el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible')
      .map((el) => (el.textContent ?? '').trim().slice(0, 60)),
  );
}

describe.skipIf(!run)('the portal and Canopy in other languages', () => {
  beforeAll(async () => {
    sys = await startSystem('postgres', { itlMs: 2 });
    await sys.admin('POST', '/admin/models', { id: MODEL, ...PRICES, contextLength: 8192, features: ['chat', 'streaming'], description: 'Llama 3.2 3B Instruct, FP8', deployments: [{ url: `${sys.sim.url}/v1`, upstreamModel: 'llama32-fp8' }] });
    await sys.admin('POST', '/admin/users', { username: 'hanako', password: PW, displayName: 'Hanako Yamada' });
    await sys.admin('POST', '/admin/users', { username: 'lucia', password: PW, displayName: 'Lucía García' });
    for (const name of ['hanako', 'lucia']) {
      const session = await Session.signIn(sys.url, name, PW);
      expect((await session.call('POST', '/subscriptions', { modelId: MODEL })).status).toBe(201);
      const key = (await session.call('POST', '/api-keys', { name: `${name}-notes-app`, models: [MODEL], maxBudget: 12.5, budgetPeriod: 'monthly', expiresAt: new Date(Date.now() + 90 * 86_400_000).toISOString() })).body;
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${sys.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: `Resume mis notas, parte ${i}` }], max_tokens: 40 }) });
        expect(res.status).toBe(200);
      }
      if (name === 'hanako') {
        stack = await startStack(stackConfig({ port: await freePort(), host: '127.0.0.1', models: [{ name: MODEL, url: `${sys.url}/v1` }] }, { API_TOKEN: key.key }));
      }
    }
    await settle(sys);
    const dataDir = mkdtempSync(join(tmpdir(), 'canopy-i18n-'));
    dirs.push(dataDir);
    canopy = await startCanopy(canopyConfig(CANOPY_DEMO_CONFIG(stack.url), {}), { port: 0, host: '127.0.0.1', dataDir, logLevel: 'silent' });
  });
  afterAll(async () => {
    await canopy?.close();
    await stack?.close();
    await sys?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('speaks Japanese with ?lang=ja, keeps it without the parameter, and switches from the user menu for good', async () => {
    const browser = await openLocalized('en-US');
    try {
      const { page } = browser;
      await page.goto(`${sys.url}/login?lang=ja`);
      await eventually(() => visible(page, 'LiteMaaS にサインイン')).toBe(true);
      expect(await htmlLang(page)).toBe('ja');
      expect(await page.getByLabel('ユーザー名').isVisible()).toBe(true);
      await browser.shot('i18n-ja-login');
      await signIn(page, 'hanako', PW, 'サインイン');

      // The parameter is gone from the address; the choice stays.
      await page.goto(`${sys.url}/models`);
      await eventually(() => page.getByRole('heading', { name: 'モデル', exact: true }).isVisible()).toBe(true);
      const card = page.locator('.lm-card-clickable').first();
      expect(await card.innerText()).toMatch(/100 万トークンあたり/);
      expect(await card.innerText()).toMatch(/有効/); // the subscription status label
      expect(await overflowing(page)).toEqual([]);
      await browser.shot('i18n-ja-models');

      await page.goto(`${sys.url}/api-keys`);
      const row = page.getByRole('row').filter({ hasText: 'hanako-notes-app' });
      await eventually(() => row.getByRole('button', { name: 'キーを表示' }).isVisible()).toBe(true);
      // Dates read the Japanese way (2026年12月2日), the budget as "$12.50 中 $0.0000xx（1 か月あたり）".
      expect(await row.innerText()).toMatch(/\d{4}年\d{1,2}月\d{1,2}日/);
      expect(await row.innerText()).toMatch(/\$12\.50 中 \$[\d.]+（1 か月あたり）/);
      expect(await overflowing(page)).toEqual([]);
      await browser.shot('i18n-ja-api-keys');
      await row.getByRole('button', { name: 'キーを表示' }).click();
      const view = page.getByRole('dialog');
      await eventually(() => view.getByText('キーを表示: hanako-notes-app').isVisible()).toBe(true);
      await eventually(() => view.getByRole('button', { name: 'キーを表示' }).first().isVisible()).toBe(true);
      await browser.shot('i18n-ja-view-key');
      await view.getByRole('button', { name: '完了' }).click();

      await page.goto(`${sys.url}/usage`);
      await eventually(() => page.getByRole('heading', { name: '使用状況', exact: true }).isVisible()).toBe(true);
      await eventually(() => page.getByTestId('usage-requests').innerText(), { timeout: 15_000 }).toBe('2');
      expect(await page.getByText('成功率').first().isVisible()).toBe(true);
      expect(await page.getByText('2 件中 2 件').isVisible()).toBe(true);
      await browser.shot('i18n-ja-usage');

      // The user menu lists the languages by their own names; German replaces Japanese at once and after a reload.
      await page.getByRole('button', { name: 'Hanako Yamada' }).click();
      await eventually(() => page.getByRole('menuitem', { name: 'Deutsch' }).isVisible()).toBe(true);
      await page.waitForTimeout(400); // the menu fades in
      await browser.shot('i18n-ja-user-menu');
      await page.getByRole('menuitem', { name: 'Deutsch' }).click();
      await eventually(() => page.getByRole('heading', { name: 'Nutzung', exact: true }).isVisible()).toBe(true);
      expect(await htmlLang(page)).toBe('de');
      await page.reload();
      await eventually(() => page.getByRole('heading', { name: 'Nutzung', exact: true }).isVisible()).toBe(true);
      await page.goto(`${sys.url}/api-keys`);
      await eventually(() => page.getByRole('button', { name: 'Schlüssel anzeigen' }).isVisible()).toBe(true);
      expect(await page.getByRole('row').filter({ hasText: 'hanako-notes-app' }).innerText()).toMatch(/Läuft ab am \d{1,2}\. \p{L}+\.? \d{4}/u);
      expect(await overflowing(page)).toEqual([]);
      await browser.shot('i18n-de-api-keys');
      await page.getByRole('button', { name: 'API-Schlüssel erstellen' }).click();
      await eventually(() => page.getByRole('dialog').getByLabel('Tokens pro Minute (TPM)').isVisible()).toBe(true);
      await browser.shot('i18n-de-create-key');
      await page.getByRole('dialog').getByRole('button', { name: 'Abbrechen' }).click();
    } finally {
      await browser.close();
    }
  });

  it('follows the browser in Spanish: sign-in, models, API keys and usage with Spanish money and dates', async () => {
    const browser = await openLocalized('es-ES');
    try {
      const { page } = browser;
      await page.goto(`${sys.url}/models`);
      await page.waitForURL(/\/login/);
      await eventually(() => visible(page, 'Inicia sesión en LiteMaaS')).toBe(true);
      expect(await htmlLang(page)).toBe('es');
      await page.locator('#login-username').fill('lucia');
      await page.locator('#login-password').fill('not my password');
      await page.getByRole('button', { name: 'Iniciar sesión', exact: true }).click();
      await eventually(() => visible(page, 'Usuario o contraseña incorrectos.')).toBe(true);
      await browser.shot('i18n-es-login');
      await signIn(page, 'lucia', PW, 'Iniciar sesión');

      await eventually(() => page.getByRole('heading', { name: 'Modelos', exact: true }).isVisible()).toBe(true);
      // Spanish money: decimal comma, the currency after the amount ("0,15 US$").
      expect(await page.getByTestId('model-prices').first().innerText()).toMatch(/0,15\sUS\$ entrada · 0,60\sUS\$ salida\s+por 1 M de tokens/);
      await browser.shot('i18n-es-models');

      await page.goto(`${sys.url}/api-keys`);
      const row = page.getByRole('row').filter({ hasText: 'lucia-notes-app' });
      await eventually(() => row.getByRole('button', { name: 'Ver clave' }).isVisible()).toBe(true);
      const text = await row.innerText();
      expect(text).toMatch(/12,50\sUS\$ al mes/);
      expect(text).toMatch(/Caduca el \d{1,2} \p{L}+\.? \d{4}/u);
      expect(await overflowing(page)).toEqual([]);
      await browser.shot('i18n-es-api-keys');

      await page.goto(`${sys.url}/usage`);
      await eventually(() => page.getByRole('heading', { name: 'Uso', exact: true }).isVisible()).toBe(true);
      await eventually(() => page.getByTestId('usage-requests').innerText(), { timeout: 15_000 }).toBe('2');
      expect(await page.getByTestId('usage-cost').innerText()).toMatch(/^0,0\d+\sUS\$$/);
      expect(await page.getByTestId('usage-success-rate').innerText()).toMatch(/^100\s%$/);
      expect(await page.getByText('2 de 2 solicitudes').isVisible()).toBe(true);
      await browser.shot('i18n-es-usage');
    } finally {
      await browser.close();
    }
  });

  it('runs Canopy in Japanese, then in Spanish from its selector, remembered on reload', async () => {
    const browser = await openLocalized('en-US');
    try {
      const { page } = browser;
      await page.goto(`${canopy.url}/?lang=ja`);
      await eventually(() => page.getByRole('navigation', { name: '機能' }).getByText('要約').isVisible()).toBe(true);
      expect(await htmlLang(page)).toBe('ja');
      await page.getByLabel('要約するテキスト').fill('LiteMaaS はアプリケーションごとに API キーを発行します。Canopy はそのキーで Llama Stack を通してリクエストを送ります。');
      expect(await page.getByTestId('token-estimate').innerText()).toMatch(/^約 \d+ トークン/);
      await page.getByRole('button', { name: '要約する' }).click();
      await eventually(async () => (await page.getByTestId('assistant-message').last().innerText()).length, { timeout: 15_000 }).toBeGreaterThan(20);
      await eventually(() => page.getByRole('button', { name: '良い回答' }).first().isVisible(), { timeout: 15_000 }).toBe(true);
      expect(await overflowing(page)).toEqual([]);
      await browser.shot('i18n-ja-canopy');

      await page.getByLabel('言語').selectOption('es');
      await eventually(() => page.getByRole('button', { name: 'Nuevo resumen' }).isVisible()).toBe(true);
      expect(await htmlLang(page)).toBe('es');
      await page.goto(canopy.url);
      await eventually(() => page.getByLabel('Texto que resumir').isVisible()).toBe(true);
      await page.goto(`${canopy.url}/search`);
      await eventually(() => page.getByText('Próximamente').first().isVisible()).toBe(true);
      await browser.shot('i18n-es-canopy');
    } finally {
      await browser.close();
    }
  });
});
