/**
 * @module OpenID Connect sign-in (authorization code + PKCE, issuer
 * discovery) with openid-client. The state, nonce, PKCE verifier and return
 * path travel in a short-lived AES-GCM-encrypted cookie, so any replica can
 * finish a flow another one started. Groups map to roles at every sign-in.
 */
import * as oidc from 'openid-client';
import type { OidcConfig } from '../config.js';
import type { Cipher } from '../shared/secrets.js';
import type { Role } from '../store/schema.js';
import { rolesForGroups } from './group-roles.js';

export const OIDC_COOKIE = 'litemaas_oidc';
const FLOW_TTL_MS = 10 * 60_000;

interface Flow { state: string; nonce: string; verifier: string; returnTo: string; redirectUri: string; exp: number }

/**
 * `email` is set only when the issuer says it verified it (`email_verified: true`); `undefined` when the provider
 * has no email at all (OpenShift), so that an address an admin gave the account is kept.
 */
export interface OidcIdentity { issuer: string; subject: string; username: string; email: string | null | undefined; displayName: string | null; groups: string[] }

/**
 * The names under which an OIDC sign-in may match LITEMAAS_INITIAL_ADMINS: the verified email, and the
 * username unless it looks like an email that is not that verified one (a `preferred_username` is the
 * person's to choose at many issuers, so `boss@example.com` there proves nothing).
 */
export function oidcAdminNames(identity: OidcIdentity, username: string): string[] {
  const names = identity.email ? [identity.email] : [];
  if (!username.includes('@') || username === identity.email) names.push(username);
  return names;
}

export class OidcSignIn {
  private discovered: Promise<oidc.Configuration> | null = null;

  constructor(readonly cfg: OidcConfig, private readonly cipher: Cipher) {}

  /** Discovery runs on first use and again after a failure (the issuer may start after us). */
  private configuration(): Promise<oidc.Configuration> {
    this.discovered ??= oidc.discovery(new URL(this.cfg.issuer), this.cfg.clientId, this.cfg.clientSecret, undefined,
      this.cfg.issuer.startsWith('http://') ? { execute: [oidc.allowInsecureRequests] } : undefined)
      .catch((err) => { this.discovered = null; throw err; });
    return this.discovered;
  }

  async start(redirectUri: string, returnTo: string): Promise<{ url: string; cookie: string }> {
    const config = await this.configuration();
    const flow: Flow = {
      state: oidc.randomState(), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier(),
      returnTo, redirectUri, exp: Date.now() + FLOW_TTL_MS,
    };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri, scope: this.cfg.scopes, state: flow.state, nonce: flow.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(flow.verifier), code_challenge_method: 'S256',
    });
    return { url: url.href, cookie: this.cipher.encrypt(JSON.stringify(flow)) };
  }

  /** Verifies the callback against the flow cookie and returns who signed in. */
  async finish(callbackUrl: URL, cookie: string | undefined): Promise<{ identity: OidcIdentity; returnTo: string }> {
    if (!cookie) throw new Error('the sign-in took too long or cookies are blocked; try again');
    let flow: Flow;
    try { flow = JSON.parse(this.cipher.decrypt(cookie)) as Flow; } catch { throw new Error('the sign-in state is invalid; try again'); }
    if (flow.exp < Date.now()) throw new Error('the sign-in took too long; try again');
    const config = await this.configuration();
    // The issuer redirected the browser to redirectUri; rebuild that URL with the query it received.
    const current = new URL(flow.redirectUri);
    current.search = callbackUrl.search;
    const tokens = await oidc.authorizationCodeGrant(config, current, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true });
    let claims: Record<string, unknown> = { ...(tokens.claims() ?? {}) };
    if (tokens.access_token && config.serverMetadata().userinfo_endpoint) {
      const info = await oidc.fetchUserInfo(config, tokens.access_token, String(claims.sub)).catch(() => null);
      if (info) claims = { ...info, ...claims, [this.cfg.groupsClaim]: claims[this.cfg.groupsClaim] ?? info[this.cfg.groupsClaim] };
    }
    const str = (v: unknown) => (typeof v === 'string' && v ? v : null);
    const raw = claims[this.cfg.groupsClaim];
    const groups = Array.isArray(raw) ? raw.filter((g): g is string => typeof g === 'string') : typeof raw === 'string' ? [raw] : [];
    const subject = String(claims.sub);
    // Anyone can type any address into an issuer's profile; only one the issuer verified says who this is.
    // Some issuers send the claim as the string "true".
    const email = claims.email_verified === true || claims.email_verified === 'true' ? str(claims.email) : null;
    return {
      identity: {
        issuer: config.serverMetadata().issuer, subject,
        username: str(claims.preferred_username) ?? email ?? subject,
        email, displayName: str(claims.name), groups,
      },
      returnTo: flow.returnTo,
    };
  }

  roles(groups: string[]): Role[] {
    return rolesForGroups(groups, this.cfg);
  }
}
