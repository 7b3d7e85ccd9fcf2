/**
 * OpenID Connect sign-in against a real issuer (oidc-provider) running in
 * the test: discovery, authorization code + PKCE, state and nonce checks,
 * group → role mapping at every sign-in, the initial-admin list (never by
 * an unverified email), no takeover of a local account by an issuer's
 * username, and a returnTo that never leaves the site.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Provider from 'oidc-provider';
import { startSystem, type System } from './helpers/system.js';
import { freePort } from './helpers/net.js';
import { keepCookies } from './helpers/session.js';

const CLIENT = { id: 'litemaas', secret: 'litemaas-test-secret' };
// The issuer's directory; tests change groups between sign-ins. An address counts only with email_verified: true.
type Account = { preferred_username?: string; email: string; email_verified: boolean; name: string; groups: string[] };
const accounts: Record<string, Account> = {
  'sub-olivia': { preferred_username: 'olivia', email: 'olivia@example.com', email_verified: true, name: 'Olivia Admin', groups: ['litemaas-admins', 'staff'] },
  'sub-oscar': { preferred_username: 'oscar', email: 'oscar@example.com', email_verified: true, name: 'Oscar', groups: ['staff'] },
  'sub-ivy': { preferred_username: 'ivy', email: 'ivy@example.com', email_verified: true, name: 'Ivy', groups: [] },
  'sub-alice': { preferred_username: 'alice', email: 'alice@evil.example', email_verified: true, name: 'Not Alice', groups: ['litemaas-admins'] },
  // Hostile tenants: each claims an initial admin's address in a way the issuer never verified.
  'sub-mallory': { preferred_username: 'mallory', email: 'ivy@example.com', email_verified: false, name: 'Mallory', groups: [] },
  'sub-nameless': { email: 'boss@example.com', email_verified: false, name: 'No Name', groups: [] },
  'sub-spoof': { preferred_username: 'boss@example.com', email: 'spoof@example.com', email_verified: true, name: 'Spoof', groups: [] },
};

let sys: System;
let issuer: string;
let idp: Server;

/** A browser's cookie jar and redirect following, enough to walk the flow. */
class Browser {
  private jar = new Map<string, Map<string, string>>();
  async go(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const u = new URL(url);
    const cookies = this.jar.get(u.host) ?? new Map<string, string>();
    const headers: Record<string, string> = {};
    if (cookies.size) headers.cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(u, { method: init.method ?? 'GET', headers, body: init.form ? new URLSearchParams(init.form).toString() : undefined, redirect: 'manual' });
    keepCookies(res, cookies);
    this.jar.set(u.host, cookies);
    return res;
  }
  /** Follows redirects; on the issuer's login and consent pages, submits them as `login`. Returns the first LiteMaaS answer that is not a redirect into the issuer. */
  async signIn(start: string, login: string): Promise<{ final: URL; trail: string[] }> {
    let url = start;
    const trail: string[] = [];
    for (let hop = 0; hop < 20; hop++) {
      trail.push(url);
      const res = await this.go(url);
      if (res.status >= 300 && res.status < 400) {
        const next = new URL(res.headers.get('location')!, url);
        if (next.origin === new URL(sys.url).origin && !next.pathname.startsWith('/api/auth/oidc/')) return { final: next, trail };
        url = next.href;
        continue;
      }
      const html = await res.text();
      expect(res.status, html.slice(0, 300)).toBe(200);
      const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
      const form = prompt === 'login' ? { prompt, login, password: 'any' } : { prompt: 'consent' };
      const sub = await this.go(url, { method: 'POST', form });
      url = new URL(sub.headers.get('location')!, url).href;
    }
    throw new Error('too many redirects');
  }
  cookie(host: string, name: string) { return this.jar.get(host)?.get(name); }
}

async function me(b: Browser) {
  const host = new URL(sys.url).host;
  const r = await fetch(`${sys.url}/api/v1/auth/me`, { headers: { cookie: `litemaas_session=${b.cookie(host, 'litemaas_session')}` } });
  return { status: r.status, body: await r.json() as any };
}

beforeAll(async () => {
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  sys = await startSystem('postgres', {}, {
    initialAdmins: ['ivy@example.com', 'boss@example.com'],
    oidc: { issuer, clientId: CLIENT.id, clientSecret: CLIENT.secret, label: 'Keycloak', scopes: 'openid profile email groups', groupsClaim: 'groups', adminGroups: ['litemaas-admins'], readonlyGroups: ['litemaas-auditors'] },
  });
  const provider = new Provider(issuer, {
    clients: [{ client_id: CLIENT.id, client_secret: CLIENT.secret, redirect_uris: [`${sys.url}/api/auth/oidc/callback`], token_endpoint_auth_method: 'client_secret_post' }],
    findAccount: async (_ctx, sub) => accounts[sub] ? { accountId: sub, claims: async () => ({ sub, ...accounts[sub]! }) } : undefined,
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email', 'email_verified'], groups: ['groups'] },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['oidc-test-cookie-key'] },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
  });
  idp = createServer(provider.callback());
  await new Promise<void>((r) => idp.listen(port, '127.0.0.1', r));
  const alice = await sys.admin('POST', '/admin/users', { username: 'alice', password: 'local password 1' });
  expect(alice.status).toBe(201);
});
afterAll(async () => {
  await sys?.close();
  await new Promise((r) => idp?.close(r));
});

describe('OIDC sign-in', () => {
  it('says in /config that OIDC is on, with its label', async () => {
    const c = await (await fetch(`${sys.url}/api/v1/config`)).json() as any;
    expect(c.oidc).toEqual({ enabled: true, label: 'Keycloak' });
  });

  it('signs in with code + PKCE, maps the admin group to the admin role, and returns to the page asked for', async () => {
    const b = new Browser();
    const first = await b.go(`${sys.url}/api/auth/oidc/login?returnTo=/api-keys`);
    expect(first.status).toBe(302);
    const auth = new URL(first.headers.get('location')!);
    expect(auth.origin).toBe(issuer);
    expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
    expect(auth.searchParams.get('state')).toBeTruthy();
    expect(auth.searchParams.get('nonce')).toBeTruthy();
    const { final } = await b.signIn(`${sys.url}/api/auth/oidc/login?returnTo=/api-keys`, 'sub-olivia');
    expect(final.pathname).toBe('/api-keys');
    const m = await me(b);
    expect(m.status).toBe(200);
    expect(m.body).toMatchObject({ username: 'olivia', email: 'olivia@example.com', displayName: 'Olivia Admin', authMethod: 'oidc' });
    expect(m.body.roles).toEqual(['admin', 'user']);
  });

  it('re-reads the groups at every sign-in: same account, new roles', async () => {
    const b1 = new Browser();
    await b1.signIn(`${sys.url}/api/auth/oidc/login`, 'sub-oscar');
    const before = await me(b1);
    expect(before.body.roles).toEqual(['user']);
    accounts['sub-oscar']!.groups = ['litemaas-auditors'];
    const b2 = new Browser();
    await b2.signIn(`${sys.url}/api/auth/oidc/login`, 'sub-oscar');
    const after = await me(b2);
    expect(after.body.id).toBe(before.body.id);
    expect(after.body.roles).toEqual(['admin-readonly', 'user']);
  });

  it('makes a listed initial admin an admin without any group', async () => {
    const b = new Browser();
    await b.signIn(`${sys.url}/api/auth/oidc/login`, 'sub-ivy');
    expect((await me(b)).body.roles).toContain('admin');
  });

  it('never matches the initial-admin list with an email the issuer did not verify, nor stores that email', async () => {
    const mallory = new Browser();
    await mallory.signIn(`${sys.url}/api/auth/oidc/login`, 'sub-mallory');
    const m = await me(mallory);
    expect(m.body).toMatchObject({ username: 'mallory', email: null, roles: ['user'] });
    // Without a preferred_username the unverified address is not the username either (it would match the list by name).
    const nameless = new Browser();
    await nameless.signIn(`${sys.url}/api/auth/oidc/login`, 'sub-nameless');
    const n = await me(nameless);
    expect(n.body).toMatchObject({ username: 'sub-nameless', email: null, roles: ['user'] });
    // An email-shaped preferred_username is no verified address either.
    const spoof = new Browser();
    await spoof.signIn(`${sys.url}/api/auth/oidc/login`, 'sub-spoof');
    const p = await me(spoof);
    expect(p.body).toMatchObject({ username: 'boss@example.com', email: 'spoof@example.com', roles: ['user'] });
    // The same account once the issuer verifies the address: now it is the listed admin's.
    accounts['sub-nameless']!.email_verified = true;
    const verified = new Browser();
    await verified.signIn(`${sys.url}/api/auth/oidc/login`, 'sub-nameless');
    const v = await me(verified);
    expect(v.body.id).toBe(n.body.id);
    expect(v.body).toMatchObject({ email: 'boss@example.com' });
    expect(v.body.roles).toContain('admin');
  });

  it('sends the browser back only to a path on this site, whatever returnTo says', async () => {
    const b = new Browser();
    const site = new URL(sys.url).origin;
    const hostile = ['//evil.example/', '/\\evil.example', '/%09/evil.example/x', '/\t/evil.example', '/%2F%2Fevil.example', 'https://evil.example',
      '/.//evil.example', 'javascript:alert(1)', '\\evil.example', ' //evil.example', `${site}@evil.example/`];
    for (const returnTo of hostile) {
      const { final } = await b.signIn(`${sys.url}/api/auth/oidc/login?returnTo=${encodeURIComponent(returnTo)}`, 'sub-oscar');
      expect(final.origin, returnTo).toBe(site);
      expect(final.host, returnTo).toBe(new URL(sys.url).host);
    }
    const kept = await b.signIn(`${sys.url}/api/auth/oidc/login?returnTo=${encodeURIComponent('/usage?from=2026-01-01#top')}`, 'sub-oscar');
    expect(kept.final.href).toBe(`${site}/usage?from=2026-01-01#top`);
  });

  it('does not let an issuer identity take over a local account of the same name', async () => {
    const b = new Browser();
    await b.signIn(`${sys.url}/api/auth/oidc/login`, 'sub-alice');
    const m = await me(b);
    expect(m.body.username).toBe(`alice@${new URL(issuer).host}`);
    const local = (await sys.admin('GET', '/admin/users')).body.users.find((u: any) => u.username === 'alice');
    expect(local.roles).toEqual(['user']);
    expect(m.body.id).not.toBe(local.id);
  });

  it('refuses a callback whose state does not match the flow, and never redirects off-site', async () => {
    const b = new Browser();
    const start = await b.go(`${sys.url}/api/auth/oidc/login?returnTo=//evil.example/`);
    const auth = new URL(start.headers.get('location')!);
    const forged = await b.go(`${sys.url}/api/auth/oidc/callback?code=abc&state=not-the-state&iss=${encodeURIComponent(issuer)}`);
    expect(forged.status).toBe(302);
    expect(forged.headers.get('location')).toMatch(/^\/login\?error=/);
    expect((await me(b)).status).toBe(401);
    const failures = (await sys.admin('GET', '/admin/audit?action=auth.login_failed')).body.entries;
    expect(failures[0]).toMatchObject({ actor: 'anonymous', details: { method: 'oidc' } });
    // The flow cookie is single use: the forged callback cleared it, so the real flow must start again.
    expect(auth.searchParams.get('state')).toBeTruthy();
    const again = await b.signIn(`${sys.url}/api/auth/oidc/login?returnTo=//evil.example/`, 'sub-olivia');
    expect(again.final.origin).toBe(new URL(sys.url).origin);
    expect(again.final.pathname).toBe('/');
  });

  it('reports an error the issuer sends back as a readable message on the login page', async () => {
    const r = await fetch(`${sys.url}/api/auth/oidc/callback?error=access_denied&error_description=User%20cancelled`, { redirect: 'manual' });
    expect(r.status).toBe(302);
    expect(decodeURIComponent(r.headers.get('location')!)).toBe('/login?error=The sign-in provider said: User cancelled');
    // A broken UTF-16 half or a control character in what the issuer "said" is cleaned, not a 500.
    const odd = await fetch(`${sys.url}/api/auth/oidc/callback?error=x&error_description=%ED%A0%80%00bad%0d%0aSet-Cookie:%20x=1`, { redirect: 'manual' });
    expect(odd.status).toBe(302);
    expect(odd.headers.get('location')).toMatch(/^\/login\?error=/);
    expect(odd.headers.get('set-cookie') ?? '').not.toMatch(/x=1/);
  });
});
