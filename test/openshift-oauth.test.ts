/**
 * Sign in with OpenShift against a protocol-faithful cluster (test/helpers/
 * openshift-oauth.ts: API server + OAuth server), driven like a browser by
 * following redirects with a cookie jar and submitting the cluster's login and
 * grant pages: groups → roles at every sign-in, the session on /api/v1, the
 * initial-admin list, no takeover of a local account, and every way the flow
 * can fail (denied consent, forged state, replayed code, a rotated client
 * secret, a revoked token) ending on the login page with a clear reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from './helpers/system.js';
import { keepCookies } from './helpers/session.js';
import { OpenShiftCluster, redirectAllowed, type ClusterUser } from './helpers/openshift-oauth.js';
import { OpenShiftSignIn } from '../src/portal/openshift-oauth.js';
import { Cipher } from '../src/shared/secrets.js';

const CLIENT_ID = 'system:serviceaccount:litemaas:litemaas';
const SA_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.service-account-token.sig';
const user = (name: string, groups: string[], fullName?: string): ClusterUser => ({ name, password: `${name}-pw`, uid: crypto.randomUUID(), fullName, groups });
const olivia = user('olivia', ['litemaas-admins', 'developers'], 'Olivia Admin');
const oscar = user('oscar', ['developers']);
const ivy = user('ivy', []);
const alice = user('alice', ['litemaas-admins'], 'Cluster Alice');
const hank = user('hank', []);
const dora = user('dora', []);
const paula = user('paula', [], 'Paula P.');

let cluster: OpenShiftCluster;
let sys: System;
let host: string;

const unesc = (s: string) => s.replace(/&#(\d+);/g, (_, c) => String.fromCharCode(Number(c)));

/** A browser's cookie jar and redirect following, enough to walk the flow and the cluster's pages. */
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
  /**
   * Follows redirects, logging in as `as` on the cluster's login page and answering its grant page; stops at the
   * first URL `stop` accepts (not fetched) — by default the first LiteMaaS page outside the sign-in paths.
   */
  async walk(start: string, as: ClusterUser, o: { consent?: 'allow' | 'deny'; stop?: (u: URL) => boolean } = {}): Promise<URL> {
    const stop = o.stop ?? ((u: URL) => u.host === host && !u.pathname.startsWith('/api/auth/openshift/'));
    let url = start;
    for (let hop = 0; hop < 20; hop++) {
      if (stop(new URL(url))) return new URL(url);
      const res = await this.go(url);
      if (res.status >= 300 && res.status < 400) { url = new URL(res.headers.get('location')!, url).href; continue; }
      const html = await res.text();
      expect(res.status, html.slice(0, 300)).toBe(200);
      const form: Record<string, string> = {};
      for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) form[unesc(m[1]!)] = unesc(m[2]!);
      if (html.includes('name="password"')) Object.assign(form, { username: as.name, password: as.password });
      else if (o.consent === 'deny') form.deny = 'Deny';
      else form.approve = 'Allow selected permissions';
      const sub = await this.go(url, { method: 'POST', form });
      expect(sub.status, await sub.clone().text()).toBe(302);
      url = new URL(sub.headers.get('location')!, url).href;
    }
    throw new Error('too many redirects');
  }
  cookie(name: string) { return this.jar.get(host)?.get(name); }
  setCookie(name: string, value: string) { this.jar.get(host)!.set(name, value); }
  async me() {
    const r = await fetch(`${sys.url}/api/v1/auth/me`, { headers: { cookie: `litemaas_session=${this.cookie('litemaas_session')}` } });
    return { status: r.status, body: await r.json() as any };
  }
}

const login = (returnTo?: string) => `${sys.url}/api/auth/openshift/login${returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : ''}`;
const atCallback = (u: URL) => u.pathname === '/api/auth/openshift/callback';
const loginError = (u: URL) => (u.pathname === '/login' ? u.searchParams.get('error') : null);
const lastFailure = async () => (await sys.admin('GET', '/admin/audit?action=auth.login_failed')).body.entries[0];

beforeAll(async () => {
  cluster = await OpenShiftCluster.start({ users: [olivia, oscar, ivy, alice, hank, dora, paula], clients: [] });
  sys = await startSystem('postgres', {}, {
    initialAdmins: ['ivy'],
    openshift: { apiUrl: cluster.apiUrl, clientId: CLIENT_ID, clientSecret: SA_TOKEN, scopes: 'user:info', insecureSkipTlsVerify: false, adminGroups: ['litemaas-admins'], readonlyGroups: ['litemaas-auditors'] },
  });
  host = new URL(sys.url).host;
  // The ServiceAccount as OAuth client, its redirect from `oauth-redirectreference` to the Route: the site's origin.
  cluster.clients.set(CLIENT_ID, { id: CLIENT_ID, secret: SA_TOKEN, redirectURIs: [sys.url] });
  expect((await sys.admin('POST', '/admin/users', { username: 'alice', password: 'local password 1' })).status).toBe(201);
});
afterAll(async () => {
  await sys?.close();
  await cluster?.close();
});

describe('Sign in with OpenShift', () => {
  it('is announced in /config for the login page', async () => {
    const c = await (await fetch(`${sys.url}/api/v1/config`)).json() as any;
    expect(c.openshift).toEqual({ enabled: true });
  });

  it('sends the browser to the cluster OAuth server with the ServiceAccount client, user:info, state and PKCE S256', async () => {
    const r = await new Browser().go(login('/usage'));
    expect(r.status).toBe(302);
    const auth = new URL(r.headers.get('location')!);
    expect(auth.origin + auth.pathname).toBe(`${cluster.oauthUrl}/oauth/authorize`);
    expect(Object.fromEntries(auth.searchParams)).toMatchObject({
      client_id: CLIENT_ID, response_type: 'code', redirect_uri: `${sys.url}/api/auth/openshift/callback`, scope: 'user:info', code_challenge_method: 'S256',
    });
    expect(auth.searchParams.get('state')!.length).toBeGreaterThanOrEqual(32);
    expect(auth.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The Route's origin, registered through the annotation, covers the callback (osin's prefix rule).
    expect(redirectAllowed(sys.url, auth.searchParams.get('redirect_uri')!)).toBe(true);
  });

  it('signs a member of the admin group in as admin, with a working session, and returns to the page asked for', async () => {
    const b = new Browser();
    const final = await b.walk(login('/api-keys?tab=mine'), olivia);
    expect(final.pathname + final.search).toBe('/api-keys?tab=mine');
    const m = await b.me();
    expect(m.status).toBe(200);
    expect(m.body).toMatchObject({ username: 'olivia', displayName: 'Olivia Admin', email: null, authMethod: 'openshift', roles: ['admin', 'user'] });
    // The session is an ordinary portal session: the admin API answers it.
    const users = await fetch(`${sys.url}/api/v1/admin/users`, { headers: { cookie: `litemaas_session=${b.cookie('litemaas_session')}` } });
    expect(users.status).toBe(200);
    // The client secret (the ServiceAccount token) went in the form body, as OpenShift's osin allows.
    expect(cluster.tokenRequests.at(-1)).toEqual({ auth: 'body', grantType: 'authorization_code' });
    const logins = (await sys.admin('GET', '/admin/audit?action=auth.login')).body.entries;
    expect(logins[0]).toMatchObject({ actor: 'olivia', details: { method: 'openshift' } });
    expect(JSON.stringify(logins)).not.toContain(SA_TOKEN);
  });

  it('gives a plain user the user role, and re-reads the groups at every sign-in', async () => {
    const b1 = new Browser();
    await b1.walk(login(), oscar);
    const before = await b1.me();
    expect(before.body.roles).toEqual(['user']);
    cluster.users.get('oscar')!.groups = ['developers', 'litemaas-admins'];
    // Same browser: the cluster remembers the login and the grant, the sign-in is redirects only.
    await b1.walk(login(), oscar);
    const promoted = await b1.me();
    expect(promoted.body.id).toBe(before.body.id);
    expect(promoted.body.roles).toEqual(['admin', 'user']);
    cluster.users.get('oscar')!.groups = ['litemaas-auditors'];
    const b2 = new Browser();
    await b2.walk(login(), oscar);
    expect((await b2.me()).body).toMatchObject({ id: before.body.id, roles: ['admin-readonly', 'user'] });
  });

  it('makes a listed initial admin an admin without any group', async () => {
    const b = new Browser();
    await b.walk(login(), ivy);
    expect((await b.me()).body.roles).toEqual(['admin', 'user']);
  });

  it('does not let a cluster user take over the local account of the same name', async () => {
    const b = new Browser();
    await b.walk(login(), alice);
    const m = await b.me();
    expect(m.body.username).toBe(`alice@${new URL(cluster.apiUrl).host}`);
    expect(m.body.roles).toEqual(['admin', 'user']);
    const local = (await sys.admin('GET', '/admin/users')).body.users.find((u: any) => u.username === 'alice');
    expect(local.id).not.toBe(m.body.id);
    expect(local.roles).toEqual(['user']);
    // The local alice still signs in with her password, and is still not an admin.
    const pw = await fetch(`${sys.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: 'local password 1' }) });
    expect(pw.status).toBe(200);
    expect(((await pw.json()) as any).user).toMatchObject({ id: local.id, roles: ['user'] });
  });

  it('signs into an account an admin provisioned ahead (no password), keeping its email and budget', async () => {
    const made = await sys.admin('POST', '/admin/users', { username: 'paula', email: 'paula@example.com', maxBudget: 5, budgetPeriod: 'monthly' });
    expect(made.status).toBe(201);
    for (let i = 0; i < 2; i++) {
      const b = new Browser();
      await b.walk(login(), paula);
      expect((await b.me()).body).toMatchObject({ id: made.body.id, username: 'paula', email: 'paula@example.com', displayName: 'Paula P.', maxBudget: 5, authMethod: 'openshift' });
    }
  });

  it('refuses a callback whose state was tampered with, and the flow cannot be finished afterwards', async () => {
    const b = new Browser();
    const cb = await b.walk(login(), hank, { stop: atCallback });
    const forged = new URL(cb);
    forged.searchParams.set('state', `${cb.searchParams.get('state')}x`);
    const r = await b.go(forged.href);
    expect(r.status).toBe(302);
    expect(loginError(new URL(r.headers.get('location')!, sys.url))).toMatch(/does not belong to the sign-in this browser started \(state mismatch\)/);
    expect((await b.me()).status).toBe(401);
    expect(await lastFailure()).toMatchObject({ actor: 'anonymous', details: { method: 'openshift', reason: expect.stringMatching(/state mismatch/) } });
    // The flow cookie is single use: the genuine callback now fails too, and says why.
    const genuine = await b.go(cb.href);
    expect(loginError(new URL(genuine.headers.get('location')!, sys.url))).toMatch(/took too long or cookies are blocked/);
    expect((await b.me()).status).toBe(401);
  });

  it('refuses a replayed authorization code (the cluster redeems a code once)', async () => {
    const b = new Browser();
    const cb = await b.walk(login(), hank, { stop: atCallback });
    const flow = b.cookie('litemaas_openshift')!;
    const first = await b.go(cb.href);
    expect(first.headers.get('location')).toBe('/');
    expect(b.cookie('litemaas_openshift')).toBeUndefined();
    // Someone who captured both the callback URL and the flow cookie tries again.
    const thief = new Browser();
    await thief.go(`${sys.url}/api/v1/config`);
    thief.setCookie('litemaas_openshift', flow);
    const replay = await thief.go(cb.href);
    expect(replay.status).toBe(302);
    expect(loginError(new URL(replay.headers.get('location')!, sys.url))).toMatch(/did not accept the sign-in code \(invalid_grant/);
    expect((await thief.me()).status).toBe(401);
  });

  it('says so on the login page when the person denies the grant', async () => {
    const b = new Browser();
    const final = await b.walk(login('/usage'), dora, { consent: 'deny' });
    expect(loginError(final)).toMatch(/did not allow LiteMaaS to see your OpenShift account \(access denied\)/);
    expect((await b.me()).status).toBe(401);
    expect(await lastFailure()).toMatchObject({ details: { method: 'openshift', reason: expect.stringMatching(/access denied/) } });
  });

  it('names the client secret when the cluster refuses LiteMaaS as a client (e.g. a rotated ServiceAccount token)', async () => {
    cluster.clients.get(CLIENT_ID)!.secret = 'rotated-token';
    try {
      const b = new Browser();
      const final = await b.walk(login(), olivia);
      expect(loginError(final)).toMatch(/refused LiteMaaS as an OAuth client \(unauthorized_client\).*OPENSHIFT_OAUTH_CLIENT_SECRET/);
      expect((await b.me()).status).toBe(401);
      expect(JSON.stringify(await lastFailure())).not.toContain(SA_TOKEN);
    } finally {
      cluster.clients.get(CLIENT_ID)!.secret = SA_TOKEN;
    }
  });

  it('says so when the API server does not accept the token it was given (users/~ answers 401)', async () => {
    cluster.revokeIssuedTokens = true;
    try {
      const b = new Browser();
      const final = await b.walk(login(), olivia);
      expect(loginError(final)).toMatch(/did not accept the access token .*401 Unauthorized/);
      expect((await b.me()).status).toBe(401);
    } finally {
      cluster.revokeIssuedTokens = false;
    }
  });

  it('answers a callback with nothing in it, or an unknown error, with the login page and a reason, never a 5xx', async () => {
    for (const q of ['', '?code=x', '?state=x&code=y', '?error=server_error&error_description=The%20authorization%20server%20encountered%20an%20unexpected%20condition', '?error=a&error=b']) {
      const r = await fetch(`${sys.url}/api/auth/openshift/callback${q}`, { redirect: 'manual' });
      expect(r.status, q).toBe(302);
      expect(loginError(new URL(r.headers.get('location')!, sys.url)), q).toBeTruthy();
    }
  });
});

describe('OpenShiftSignIn against a cluster it cannot use', () => {
  const cipher = new Cipher('0'.repeat(64));
  const cfg = { clientId: CLIENT_ID, clientSecret: SA_TOKEN, scopes: 'user:info', insecureSkipTlsVerify: false, adminGroups: [], readonlyGroups: [] };

  it('says the cluster cannot be reached when discovery fails, and tries again on the next sign-in', async () => {
    const down = new OpenShiftSignIn({ ...cfg, apiUrl: 'http://127.0.0.1:9' }, cipher);
    await expect(down.start('http://x/cb', '/')).rejects.toThrow(/OpenShift cannot be reached \(127\.0\.0\.1:9/);
    await expect(down.start('http://x/cb', '/')).rejects.toThrow(/cannot be reached/);
    await down.close();
  });

  it('names the missing user:info scope when users/~ is forbidden', async () => {
    const scoped = new OpenShiftSignIn({ ...cfg, apiUrl: cluster.apiUrl, scopes: 'user:check-access', redirectUrl: undefined }, cipher);
    const started = await scoped.start(`${sys.url}/api/auth/openshift/callback`, '/');
    const b = new Browser();
    const cb = await b.walk(started.url, olivia, { stop: atCallback });
    await expect(scoped.finish(Object.fromEntries(cb.searchParams), started.cookie)).rejects.toThrow(/403 Forbidden.*user:info scope/);
    await scoped.close();
  });
});

describe('OpenShift sign-in configuration', () => {
  it('is off without OPENSHIFT_API_URL, and says which setting is missing when it is half set', async () => {
    const { loadConfig } = await import('../src/config.js');
    expect(loadConfig({}).openshift).toBeUndefined();
    expect(() => loadConfig({ OPENSHIFT_API_URL: 'https://api.c.example:6443' })).toThrow(/OPENSHIFT_OAUTH_CLIENT_ID is required.*system:serviceaccount/);
    expect(() => loadConfig({ OPENSHIFT_API_URL: 'https://api.c.example:6443', OPENSHIFT_OAUTH_CLIENT_ID: CLIENT_ID })).toThrow(/OPENSHIFT_OAUTH_CLIENT_SECRET is required/);
    expect(() => loadConfig({ OPENSHIFT_API_URL: 'api.c.example', OPENSHIFT_OAUTH_CLIENT_ID: CLIENT_ID, OPENSHIFT_OAUTH_CLIENT_SECRET: 'x' })).toThrow(/OPENSHIFT_API_URL must be a URL/);
  });

  it('reads the ServiceAccount client, user:info by default, and the OIDC group lists unless told otherwise', async () => {
    const { loadConfig } = await import('../src/config.js');
    const base = { OPENSHIFT_API_URL: 'https://openshift.default.svc/', OPENSHIFT_OAUTH_CLIENT_ID: CLIENT_ID, OPENSHIFT_OAUTH_CLIENT_SECRET: SA_TOKEN };
    expect(loadConfig({ ...base, LITEMAAS_OIDC_ADMIN_GROUPS: 'ops, platform' }).openshift).toEqual({
      apiUrl: 'https://openshift.default.svc', clientId: CLIENT_ID, clientSecret: SA_TOKEN, redirectUrl: undefined, scopes: 'user:info',
      caFile: undefined, insecureSkipTlsVerify: false, adminGroups: ['ops', 'platform'], readonlyGroups: ['litemaas-readonly'],
    });
    expect(loadConfig({ ...base, OPENSHIFT_ADMIN_GROUPS: 'cluster-admins', OPENSHIFT_INSECURE_SKIP_TLS_VERIFY: 'true' }).openshift)
      .toMatchObject({ adminGroups: ['cluster-admins'], insecureSkipTlsVerify: true });
  });

  it('refuses to start with a CA file it cannot read', () => {
    expect(() => new OpenShiftSignIn({ apiUrl: 'https://x', clientId: CLIENT_ID, clientSecret: 'x', scopes: 'user:info', caFile: '/nonexistent/ca.crt', insecureSkipTlsVerify: false, adminGroups: [], readonlyGroups: [] }, new Cipher('k')))
      .toThrow(/OPENSHIFT_CA_FILE: cannot read \/nonexistent\/ca\.crt/);
  });
});
