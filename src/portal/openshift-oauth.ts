/**
 * @module Sign in with OpenShift: the authorization-code flow (with PKCE S256)
 * against the cluster's own OAuth server, which is OAuth 2.0 without OpenID
 * Connect — no ID token, no userinfo. Who signed in is read from the API
 * server (`/apis/user.openshift.io/v1/users/~`) with the access token just
 * issued: `metadata.name` is the username, `metadata.uid` the stable subject,
 * `groups` map to roles as for OIDC. The OAuth server is found from the API
 * server's `/.well-known/oauth-authorization-server`. As for OIDC, the flow's
 * state travels in a short-lived encrypted cookie, so any replica can finish it.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import type { OpenShiftOAuthConfig } from '../config.js';
import type { Cipher } from '../shared/secrets.js';
import type { Role } from '../store/schema.js';
import { rolesForGroups } from './group-roles.js';
import type { OidcIdentity } from './oidc.js';

export const OPENSHIFT_COOKIE = 'litemaas_openshift';
const FLOW_TTL_MS = 10 * 60_000;
/** An OAuth or API answer larger than this is not one we asked for. */
const MAX_BODY = 256 * 1024;

interface Flow { state: string; verifier: string; returnTo: string; redirectUri: string; exp: number }
interface ServerMetadata { issuer: string; authorization_endpoint: string; token_endpoint: string }

/** A sign-in that cannot finish; the message is for the person on the login page (no tokens in it). */
export class OpenShiftSignInError extends Error {}

const b64url = (b: Buffer) => b.toString('base64url');

function tlsOptions(cfg: OpenShiftOAuthConfig): { ca?: string[]; rejectUnauthorized?: boolean } {
  if (cfg.insecureSkipTlsVerify) return { rejectUnauthorized: false };
  if (!cfg.caFile) return {};
  // The cluster's own CA (API server, router) on top of the public roots: the OAuth route may use either.
  let pem: string;
  try { pem = readFileSync(cfg.caFile, 'utf8'); } catch (err) { throw new Error(`OPENSHIFT_CA_FILE: cannot read ${cfg.caFile}: ${(err as Error).message}`); }
  return { ca: [...rootCertificates, pem] };
}

async function readBody(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) { body.destroy(); throw new OpenShiftSignInError('OpenShift sent an answer too large to be a sign-in; ask an administrator.'); }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : null;
  } catch { return null; }
}

const str = (v: unknown) => (typeof v === 'string' && v ? v : null);
const isHttpUrl = (v: unknown) => { try { return ['http:', 'https:'].includes(new URL(String(v)).protocol); } catch { return false; } };

export class OpenShiftSignIn {
  private discovered: Promise<ServerMetadata> | null = null;
  private readonly dispatcher: Agent;

  constructor(readonly cfg: OpenShiftOAuthConfig, private readonly cipher: Cipher) {
    // Sign-ins are rare: short keep-alive, bounded waits, and the cluster's CA when given.
    this.dispatcher = new Agent({ connect: tlsOptions(cfg), keepAliveTimeout: 4_000, headersTimeout: 10_000, bodyTimeout: 10_000 });
  }

  /** Recorded as the accounts' `oidc_issuer`: OpenShift uids are unique within one cluster. */
  get issuer(): string { return this.cfg.apiUrl; }

  private async call(url: string, init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {}) {
    try {
      const res = await request(url, { method: init.method ?? 'GET', headers: { accept: 'application/json', ...init.headers }, body: init.body, dispatcher: this.dispatcher });
      return { status: res.statusCode, body: parseJson(await readBody(res.body)) };
    } catch (err) {
      if (err instanceof OpenShiftSignInError) throw err;
      throw new OpenShiftSignInError(`OpenShift cannot be reached (${new URL(url).host}: ${(err as Error).message}); try again later.`);
    }
  }

  /** Discovery runs on first use and again after a failure (the cluster may come up after us). */
  private metadata(): Promise<ServerMetadata> {
    this.discovered ??= (async () => {
      const { status, body } = await this.call(`${this.cfg.apiUrl}/.well-known/oauth-authorization-server`);
      if (status !== 200 || !body || !isHttpUrl(body.authorization_endpoint) || !isHttpUrl(body.token_endpoint)) {
        throw new OpenShiftSignInError(`OpenShift's OAuth metadata at ${this.cfg.apiUrl}/.well-known/oauth-authorization-server is unusable (HTTP ${status}).`);
      }
      return { issuer: String(body.issuer ?? ''), authorization_endpoint: String(body.authorization_endpoint), token_endpoint: String(body.token_endpoint) };
    })().catch((err) => { this.discovered = null; throw err; });
    return this.discovered;
  }

  async start(redirectUri: string, returnTo: string): Promise<{ url: string; cookie: string }> {
    const meta = await this.metadata();
    const flow: Flow = { state: b64url(randomBytes(24)), verifier: b64url(randomBytes(32)), returnTo, redirectUri, exp: Date.now() + FLOW_TTL_MS };
    const url = new URL(meta.authorization_endpoint);
    url.search = new URLSearchParams({
      client_id: this.cfg.clientId, response_type: 'code', redirect_uri: redirectUri, scope: this.cfg.scopes, state: flow.state,
      code_challenge: b64url(createHash('sha256').update(flow.verifier).digest()), code_challenge_method: 'S256',
    }).toString();
    return { url: url.href, cookie: this.cipher.encrypt(JSON.stringify(flow)) };
  }

  /** Checks the callback against the flow cookie, redeems the code and reads who signed in. */
  async finish(query: Record<string, unknown>, cookie: string | undefined): Promise<{ identity: OidcIdentity; returnTo: string }> {
    if (!cookie) throw new OpenShiftSignInError('The sign-in took too long or cookies are blocked; try again.');
    let flow: Flow;
    try { flow = JSON.parse(this.cipher.decrypt(cookie)) as Flow; } catch { throw new OpenShiftSignInError('The sign-in state is invalid; try again.'); }
    if (flow.exp < Date.now()) throw new OpenShiftSignInError('The sign-in took too long; try again.');
    const state = Buffer.from(str(query.state) ?? ''), expected = Buffer.from(flow.state);
    if (state.length !== expected.length || !timingSafeEqual(state, expected)) {
      throw new OpenShiftSignInError('The sign-in answer does not belong to the sign-in this browser started (state mismatch); try again.');
    }
    const code = str(query.code);
    if (!code) throw new OpenShiftSignInError('OpenShift sent no authorization code; try again.');
    const token = await this.redeem(code, flow);
    return { identity: await this.user(token), returnTo: flow.returnTo };
  }

  private async redeem(code: string, flow: Flow): Promise<string> {
    const meta = await this.metadata();
    // OpenShift's OAuth server (osin, AllowClientSecretInParams) takes the client's secret in the form body.
    const { status, body } = await this.call(meta.token_endpoint, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code, redirect_uri: flow.redirectUri,
        client_id: this.cfg.clientId, client_secret: this.cfg.clientSecret, code_verifier: flow.verifier,
      }).toString(),
    });
    const accessToken = str(body?.access_token);
    if (status === 200 && accessToken) return accessToken;
    const error = str(body?.error);
    if (error === 'invalid_grant') throw new OpenShiftSignInError('OpenShift did not accept the sign-in code (invalid_grant: used already, expired, or not this sign-in\'s); start again.');
    if (error === 'unauthorized_client' || error === 'invalid_client') {
      throw new OpenShiftSignInError(`OpenShift refused LiteMaaS as an OAuth client (${error}); ask an administrator to check OPENSHIFT_OAUTH_CLIENT_ID and OPENSHIFT_OAUTH_CLIENT_SECRET.`);
    }
    throw new OpenShiftSignInError(`OpenShift's token endpoint refused the sign-in (${error ?? `HTTP ${status}`}); try again.`);
  }

  private async user(accessToken: string): Promise<OidcIdentity> {
    const { status, body } = await this.call(`${this.cfg.apiUrl}/apis/user.openshift.io/v1/users/~`, { headers: { authorization: `Bearer ${accessToken}` } });
    if (status === 401) throw new OpenShiftSignInError('OpenShift did not accept the access token it had just issued (401 Unauthorized); try again.');
    if (status === 403) throw new OpenShiftSignInError(`OpenShift would not say who you are (403 Forbidden): the sign-in needs the user:info scope (OPENSHIFT_OAUTH_SCOPES is "${this.cfg.scopes}").`);
    const meta = body?.metadata as Record<string, unknown> | undefined;
    const name = str(meta?.name), uid = str(meta?.uid);
    if (status !== 200 || body?.kind !== 'User' || !name || !uid) {
      throw new OpenShiftSignInError(`OpenShift's answer about your user is not a User with a name and uid (HTTP ${status}); ask an administrator.`);
    }
    const groups = Array.isArray(body.groups) ? body.groups.filter((g): g is string => typeof g === 'string') : [];
    // OpenShift users carry no email (an admin-set one is kept); the name is the cluster's, from its identity provider mapping.
    return { issuer: this.issuer, subject: uid, username: name, email: undefined, displayName: str(body.fullName), groups };
  }

  roles(groups: string[]): Role[] {
    return rolesForGroups(groups, this.cfg);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}
