/**
 * A protocol-faithful stand-in for an OpenShift cluster's sign-in surfaces, as
 * two servers like the real ones:
 * - the API server: `/.well-known/oauth-authorization-server` (RFC 8414
 *   metadata as OpenShift publishes it) and `/apis/user.openshift.io/v1/users/~`
 *   (the token's User with the request's groups, sorted and deduplicated, as
 *   openshift-apiserver builds it; 401/403 as Kubernetes `Status` objects);
 * - the OAuth server (oauth-openshift): `/oauth/authorize` with a login page
 *   (`/login/htpasswd`) and a grant page (`/oauth/authorize/approve`) as a
 *   ServiceAccount client gets, `/oauth/token` following osin as OpenShift
 *   configures it (client secret in the form body or HTTP Basic; codes single
 *   use and short-lived; redirect_uri validated by osin's prefix rule and equal
 *   to the authorize request's; PKCE plain/S256; errors `{error,
 *   error_description}` with 400), tokens and codes shaped `sha256~…`.
 * Sources: OpenShift docs "OAuth server metadata" and "Using a service account
 * as an OAuth client"; openshift/osin (authorize.go, access.go, urivalidate.go,
 * error.go); openshift/oauth-server osinserver (defaults.go, tokengen.go);
 * openshift/openshift-apiserver user registry (users/~).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ClusterUser { name: string; password: string; uid: string; fullName?: string; groups: string[] }
export interface OAuthClient { id: string; secret: string; redirectURIs: string[] }

interface Code { clientId: string; redirectUri: string; scope: string; user: string; challenge: string; method: string; exp: number }
interface Token { user: string; scope: string; exp: number }

// osin's default error descriptions (error.go).
const DESCRIPTIONS: Record<string, string> = {
  invalid_request: 'The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.',
  unauthorized_client: 'The client is not authorized to request a token using this method.',
  access_denied: 'The resource owner or authorization server denied the request.',
  unsupported_response_type: 'The authorization server does not support obtaining a token using this method.',
  invalid_scope: 'The requested scope is invalid, unknown, or malformed.',
  unsupported_grant_type: 'The authorization grant type is not supported by the authorization server.',
  invalid_grant: 'The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.',
};
const PKCE = /^[a-zA-Z0-9~._-]{43,128}$/;
// What a ServiceAccount client may ask for (docs: "Service accounts as OAuth clients").
const SA_SCOPES = /^(user:info|user:check-access|role:[^:\s]+:[^:\s]+(:!)?)$/;
const rand = () => randomBytes(32).toString('base64url');
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** osin's ValidateUri: same scheme and host, no fragment, path equal or under the registered one. */
export function redirectAllowed(base: string, redirect: string): boolean {
  let b: URL, r: URL;
  try { b = new URL(base); r = new URL(redirect); } catch { return false; }
  if (b.hash || r.hash || b.protocol !== r.protocol || b.host !== r.host) return false;
  return b.pathname === r.pathname || r.pathname.startsWith(b.pathname.replace(/\/+$/, '') + '/');
}

async function body(req: IncomingMessage): Promise<string> {
  let s = '';
  for await (const c of req) s += c;
  return s;
}

function send(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  res.writeHead(status, { 'content-type': typeof value === 'string' ? 'text/html; charset=utf-8' : 'application/json', 'cache-control': 'no-store', ...headers }).end(text);
}

function status(code: 401 | 403, message: string, reason: string, details?: object) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  return (req.headers.cookie ?? '').split(/;\s*/).map((c) => c.split('=')).find(([k]) => k === name)?.[1];
}

export class OpenShiftCluster {
  readonly users = new Map<string, ClusterUser>();
  readonly clients = new Map<string, OAuthClient>();
  /** Every /oauth/token request's client authentication, as the server saw it (tests check which way it came). */
  readonly tokenRequests: Array<{ auth: 'body' | 'basic' | 'none'; grantType: string | null }> = [];
  /** Tokens are revoked as soon as they are issued (as `oc delete oauthaccesstoken` would): users/~ answers 401. */
  revokeIssuedTokens = false;
  private readonly sessions = new Map<string, string>();
  private readonly grants = new Set<string>();
  private readonly codes = new Map<string, Code>();
  private readonly tokens = new Map<string, Token>();
  apiUrl = '';
  oauthUrl = '';
  private constructor(private readonly api: Server, private readonly oauth: Server) {}

  static async start(opts: { users: ClusterUser[]; clients: OAuthClient[] }): Promise<OpenShiftCluster> {
    const c = new OpenShiftCluster(createServer(), createServer());
    for (const u of opts.users) c.users.set(u.name, u);
    for (const cl of opts.clients) c.clients.set(cl.id, cl);
    c.api.on('request', (req, res) => void c.onApi(req, res).catch((e) => send(res, 500, { error: String(e) })));
    c.oauth.on('request', (req, res) => void c.onOAuth(req, res).catch((e) => send(res, 500, { error: String(e) })));
    const listen = (s: Server) => new Promise<string>((r) => s.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)));
    c.apiUrl = await listen(c.api);
    c.oauthUrl = await listen(c.oauth);
    return c;
  }

  async close(): Promise<void> {
    for (const s of [this.api, this.oauth]) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  }

  /** An access token as `oc whoami -t` would show one, for tests that call users/~ directly. */
  issueToken(user: string, scope = 'user:info'): string {
    const t = `sha256~${rand()}`;
    this.tokens.set(t, { user, scope, exp: Date.now() + 86_400_000 });
    return t;
  }

  private metadata() {
    return {
      issuer: this.oauthUrl, authorization_endpoint: `${this.oauthUrl}/oauth/authorize`, token_endpoint: `${this.oauthUrl}/oauth/token`,
      scopes_supported: ['user:full', 'user:info', 'user:check-access', 'user:list-scoped-projects', 'user:list-projects'],
      response_types_supported: ['code', 'token'], grant_types_supported: ['authorization_code', 'implicit'],
      code_challenge_methods_supported: ['plain', 'S256'],
    };
  }

  private async onApi(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url!, this.apiUrl);
    if (url.pathname === '/.well-known/oauth-authorization-server') return send(res, 200, this.metadata());
    if (url.pathname !== '/apis/user.openshift.io/v1/users/~') return send(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const token = bearer ? this.tokens.get(bearer) : undefined;
    if (!token || token.exp < Date.now()) return send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    const user = this.users.get(token.user)!;
    const scopes = token.scope.split(' ');
    if (!scopes.includes('user:info') && !scopes.includes('user:full')) {
      return send(res, 403, status(403, `users.user.openshift.io "~" is forbidden: User "${user.name}" cannot get resource "users" in API group "user.openshift.io" at the cluster scope: scopes [${token.scope}] prevent this action`,
        'Forbidden', { name: '~', group: 'user.openshift.io', kind: 'users' }));
    }
    const groups = [...new Set([...user.groups, 'system:authenticated', 'system:authenticated:oauth'])].sort();
    return send(res, 200, {
      kind: 'User', apiVersion: 'user.openshift.io/v1',
      metadata: { name: user.name, uid: user.uid, resourceVersion: '4242', creationTimestamp: '2026-11-30T09:00:00Z' },
      ...(user.fullName ? { fullName: user.fullName } : {}), identities: [`htpasswd:${user.name}`], groups,
    });
  }

  private async onOAuth(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url!, this.oauthUrl);
    if (url.pathname === '/.well-known/oauth-authorization-server') return send(res, 200, this.metadata());
    if (url.pathname === '/oauth/authorize') return this.authorize(url, req, res);
    if (url.pathname === '/login/htpasswd') return this.login(url, req, res);
    if (url.pathname === '/oauth/authorize/approve') return this.approve(url, req, res);
    if (url.pathname === '/oauth/token') return this.token(req, res);
    return send(res, 404, '<h1>Not found</h1>');
  }

  private async authorize(url: URL, req: IncomingMessage, res: ServerResponse) {
    const q = url.searchParams;
    const state = q.get('state') ?? '';
    const client = this.clients.get(q.get('client_id') ?? '');
    const redirectUri = q.get('redirect_uri') ?? '';
    // Before the redirect_uri is trusted, an error is a page on the OAuth server, never a redirect.
    if (!client) return send(res, 400, '<h1>Error</h1><p>unauthorized_client</p>');
    if (!client.redirectURIs.some((b) => redirectAllowed(b, redirectUri))) return send(res, 400, '<h1>Error</h1><p>invalid_request: redirect_uri does not match the client</p>');
    const back = (params: Record<string, string>) => {
      const to = new URL(redirectUri);
      for (const [k, v] of Object.entries({ ...params, state })) to.searchParams.set(k, v);
      res.writeHead(302, { location: to.href }).end();
    };
    const fail = (error: string, description = DESCRIPTIONS[error]!) => back({ error, error_description: description });
    if (q.get('response_type') !== 'code') return fail('unsupported_response_type');
    const challenge = q.get('code_challenge') ?? '';
    const method = q.get('code_challenge_method') || 'plain';
    if (challenge && method !== 'plain' && method !== 'S256') return fail('invalid_request', 'code_challenge_method transform algorithm not supported (rfc7636)');
    if (challenge && !PKCE.test(challenge)) return fail('invalid_request', 'code_challenge invalid (rfc7636)');
    const scope = q.get('scope') ?? '';
    if (!scope || !scope.split(' ').every((s) => SA_SCOPES.test(s))) return fail('invalid_scope');
    const user = this.sessions.get(cookie(req, 'ssn') ?? '');
    if (!user) return res.writeHead(302, { location: `/login/htpasswd?then=${encodeURIComponent(url.pathname + url.search)}` }).end();
    if (!this.grants.has(`${user} ${client.id} ${scope}`)) {
      const approve = new URLSearchParams({ client_id: client.id, scope, redirect_uri: redirectUri, state, then: url.pathname + url.search });
      return res.writeHead(302, { location: `/oauth/authorize/approve?${approve}` }).end();
    }
    const code = `sha256~${rand()}`;
    // OpenShift's authorize tokens live 5 minutes.
    this.codes.set(code, { clientId: client.id, redirectUri, scope, user, challenge, method, exp: Date.now() + 300_000 });
    return back({ code });
  }

  private async login(url: URL, req: IncomingMessage, res: ServerResponse) {
    const then = url.searchParams.get('then') ?? '/';
    if (req.method === 'GET') {
      return send(res, 200, `<form method="post"><input type="hidden" name="then" value="${esc(then)}"><input name="username"><input name="password" type="password"><button>Log in</button></form>`);
    }
    const f = new URLSearchParams(await body(req));
    const u = this.users.get(f.get('username') ?? '');
    if (!u || u.password !== f.get('password')) return send(res, 401, '<p>Invalid login or password. Please try again.</p>');
    const ssn = rand();
    this.sessions.set(ssn, u.name);
    res.writeHead(302, { location: f.get('then') ?? '/', 'set-cookie': `ssn=${ssn}; Path=/; HttpOnly` }).end();
  }

  /** The grant page a ServiceAccount client gets: "Allow selected permissions" or "Deny". */
  private async approve(url: URL, req: IncomingMessage, res: ServerResponse) {
    const user = this.sessions.get(cookie(req, 'ssn') ?? '');
    if (!user) return send(res, 401, '<p>Not logged in</p>');
    if (req.method === 'GET') {
      const hidden = [...url.searchParams].map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`).join('');
      return send(res, 200, `<form method="post">${hidden}<button name="approve" value="Allow selected permissions">Allow</button><button name="deny" value="Deny">Deny</button></form>`);
    }
    const f = new URLSearchParams(await body(req));
    if (f.has('deny')) {
      const to = new URL(f.get('redirect_uri')!);
      to.searchParams.set('error', 'access_denied');
      to.searchParams.set('error_description', DESCRIPTIONS.access_denied!);
      to.searchParams.set('state', f.get('state') ?? '');
      return res.writeHead(302, { location: to.href }).end();
    }
    this.grants.add(`${user} ${f.get('client_id')} ${f.get('scope')}`);
    res.writeHead(302, { location: f.get('then') ?? '/' }).end();
  }

  private async token(req: IncomingMessage, res: ServerResponse) {
    const err = (error: string) => send(res, 400, { error, error_description: DESCRIPTIONS[error] });
    if (req.method !== 'POST') return err('invalid_request');
    if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return err('invalid_request');
    const f = new URLSearchParams(await body(req));
    // osin's getClientAuth with AllowClientSecretInParams: the form's client_secret first, else HTTP Basic.
    let auth: { id: string; secret: string } | null = null;
    if (f.has('client_secret') && f.get('client_id')) auth = { id: f.get('client_id')!, secret: f.get('client_secret')! };
    else {
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const pair = basic ? Buffer.from(basic, 'base64').toString('utf8') : null;
      if (pair?.includes(':')) auth = { id: pair.slice(0, pair.indexOf(':')), secret: pair.slice(pair.indexOf(':') + 1) };
    }
    this.tokenRequests.push({ auth: f.has('client_secret') ? 'body' : auth ? 'basic' : 'none', grantType: f.get('grant_type') });
    if (!auth) return err('invalid_request');
    if (f.get('grant_type') !== 'authorization_code') return err('unsupported_grant_type');
    const codeValue = f.get('code') ?? '';
    if (!codeValue) return err('invalid_grant');
    const client = this.clients.get(auth.id);
    if (!client || client.secret !== auth.secret) return err('unauthorized_client');
    const code = this.codes.get(codeValue);
    if (!code || code.exp < Date.now() || code.clientId !== client.id) return err('invalid_grant');
    const redirectUri = f.get('redirect_uri') ?? '';
    if (!client.redirectURIs.some((b) => redirectAllowed(b, redirectUri)) || redirectUri !== code.redirectUri) return err('invalid_request');
    if (code.challenge) {
      const verifier = f.get('code_verifier') ?? '';
      if (!PKCE.test(verifier)) return err('invalid_request');
      const derived = code.method === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
      if (derived !== code.challenge) return err('invalid_grant');
    }
    this.codes.delete(codeValue);
    const accessToken = this.issueToken(code.user, code.scope);
    if (this.revokeIssuedTokens) this.tokens.delete(accessToken);
    return send(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: 86400, scope: code.scope });
  }
}
