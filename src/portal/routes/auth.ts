/**
 * @module Sign-in and who am I: local accounts (scrypt), OIDC, OpenShift
 * OAuth, logout, the signed-in user with their budget, and the public client
 * config.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { CSRF_COOKIE, SESSION_COOKIE, requireUser, me } from '../auth.js';
import type { PortalServices } from '../context.js';
import { ApiError } from '../errors.js';
import { OIDC_COOKIE, oidcAdminNames, type OidcIdentity } from '../oidc.js';
import { OPENSHIFT_COOKIE } from '../openshift-oauth.js';
import { safeReturnTo } from '../return-to.js';
import { LoginBody } from '../schemas.js';
import { sanitize } from '../../shared/sanitize.js';
import { audit } from '../services/audit.js';
import { userView } from '../services/users.js';
import { DEFAULT_BRAND, publicBrand } from '../services/brand.js';
import { periodStart } from '../../ledger/budgets.js';
import type { Role, UserRow } from '../../store/schema.js';
import type { AuthMethod, Config, Me } from '../../shared/api-types.js';

const text = (v: unknown) => (typeof v === 'string' ? v : '');

/** Where this site is, as the browser sees it (behind a proxy: LITEMAAS_PUBLIC_URL or X-Forwarded-* with trustProxy). */
export function siteOrigin(req: FastifyRequest, publicUrl: string | undefined): string {
  return publicUrl ? publicUrl.replace(/\/+$/, '') : `${req.protocol}://${req.host}`;
}

async function signIn(s: PortalServices, reply: FastifyReply, user: UserRow, method: AuthMethod): Promise<void> {
  const { token, csrf, expiresAt } = await s.sessions.create(user.id, method);
  const base = { path: '/', sameSite: 'lax' as const, secure: 'auto' as const, expires: expiresAt };
  reply.setCookie(SESSION_COOKIE, token, { ...base, httpOnly: true });
  // Readable by the UI's script, which echoes it in x-csrf-token (double submit).
  reply.setCookie(CSRF_COOKIE, csrf, { ...base, httpOnly: false });
  await audit(s.db, user.username, 'auth.login', user.id, { method });
}

export async function meView(s: PortalServices, userId: string, authMethod: AuthMethod | undefined): Promise<Me> {
  const u = await s.users.row(userId);
  const since = periodStart(u.budget_period, new Date());
  const spend = await s.usage.userSpend(u.id, since);
  return {
    ...userView(u), authMethod: authMethod ?? null,
    budget: { maxBudget: u.max_budget === null ? null : Number(u.max_budget), budgetPeriod: u.budget_period, spend: Number(spend), spendExact: spend },
  };
}

/** A sign-in provider's callback could not finish: audited, and the browser goes to the login page with the reason. */
async function failSignIn(s: PortalServices, req: FastifyRequest, reply: FastifyReply, method: AuthMethod, message: string) {
  // The message may quote the provider or the query: clean and bounded before it is stored or sent back.
  const m = sanitize(message, 300);
  await audit(s.db, 'anonymous', 'auth.login_failed', null, { method, address: req.ip, reason: m });
  return reply.redirect(`/login?error=${encodeURIComponent(m)}`, 302);
}

/**
 * An identity a provider vouched for (OIDC issuer, OpenShift) becomes a session: the account found or created
 * by (issuer, subject), its roles from the groups, LITEMAAS_INITIAL_ADMINS applied, then back to returnTo.
 */
async function externalSignIn(s: PortalServices, req: FastifyRequest, reply: FastifyReply, publicUrl: string | undefined,
  method: 'oidc' | 'openshift', identity: OidcIdentity, roles: Role[], returnTo: string) {
  let user = await s.users.fromOidc(identity, roles);
  if (user.disabled_at) return failSignIn(s, req, reply, method, 'This account is disabled; ask an administrator.');
  user = await s.users.promoteIfInitialAdmin(user, s.initialAdmins, oidcAdminNames(identity, user.username));
  await signIn(s, reply, user, method);
  // Checked again on the way out: a flow started before an upgrade carries an older check's result.
  return reply.redirect(safeReturnTo(returnTo, siteOrigin(req, publicUrl)), 302);
}

/** /api/auth/* — outside /api/v1 because browsers navigate to the OIDC and OpenShift paths. */
export function authRoutes(s: PortalServices, publicUrl: string | undefined): (app: FastifyInstance) => Promise<void> {
  return async (root) => {
    const app = root.withTypeProvider<import('@fastify/type-provider-typebox').TypeBoxTypeProvider>();
    app.post('/api/auth/login', {
      schema: { body: LoginBody, tags: ['auth'] },
      config: { rateLimit: { max: 20, timeWindow: 60_000 } },
    }, async (req, reply) => {
      // Failures are audited with the name tried and the address, never the password.
      const { username, password } = req.body;
      const failed = (action: string, details: Record<string, unknown>) => audit(s.db, username, action, null, { method: 'password', address: req.ip, ...details });
      const wait = await s.throttle.retryAfter(username);
      if (wait > 0) {
        await failed('auth.login_locked', { retryAfterSeconds: wait });
        reply.header('retry-after', String(wait));
        throw new ApiError('rate_limited', `Too many failed sign-ins for '${username}'; try again in ${Math.ceil(wait / 60)} min.`);
      }
      let user = await s.users.verifyLogin(username, password);
      if (!user) {
        const locked = await s.throttle.fail(username);
        await failed('auth.login_failed', { reason: 'bad_credentials' });
        if (locked > 0) await failed('auth.lockout', { retryAfterSeconds: locked });
        throw new ApiError('unauthorized', 'Wrong username or password.');
      }
      if (user.disabled_at) {
        await failed('auth.login_failed', { reason: 'disabled' });
        throw new ApiError('forbidden', 'This account is disabled; ask an administrator.');
      }
      await s.throttle.succeed(username);
      user = await s.users.promoteIfInitialAdmin(user, s.initialAdmins, [user.username, user.email]);
      await signIn(s, reply, user, 'password');
      return { user: await meView(s, user.id, 'password') };
    });

    app.post('/api/auth/logout', { schema: { tags: ['auth'] } }, async (req, reply) => {
      const token = req.cookies[SESSION_COOKIE];
      if (token) await s.sessions.destroy(token);
      if (req.principal?.kind === 'session') await audit(s.db, req.principal.username, 'auth.logout', req.principal.userId);
      reply.clearCookie(SESSION_COOKIE, { path: '/' }).clearCookie(CSRF_COOKIE, { path: '/' });
      return reply.code(204).send();
    });

    app.get('/api/auth/oidc/login', {
      schema: { querystring: Type.Object({ returnTo: Type.Optional(Type.String({ maxLength: 2000 })) }), tags: ['auth'] },
    }, async (req, reply) => {
      if (!s.oidc) throw new ApiError('not_found', 'OIDC sign-in is not configured (LITEMAAS_OIDC_ISSUER).');
      const redirectUri = s.oidc.cfg.redirectUrl ?? `${siteOrigin(req, publicUrl)}/api/auth/oidc/callback`;
      let started;
      try { started = await s.oidc.start(redirectUri, safeReturnTo(req.query.returnTo, siteOrigin(req, publicUrl))); } catch (err) {
        req.log.warn({ err: (err as Error).message }, 'OIDC discovery failed');
        throw new ApiError('upstream_failed', 'The sign-in provider cannot be reached; try again later or sign in with a password.');
      }
      reply.setCookie(OIDC_COOKIE, started.cookie, { path: '/api/auth/oidc', httpOnly: true, sameSite: 'lax', secure: 'auto', maxAge: 600 });
      return reply.redirect(started.url, 302);
    });

    // Each callback may write an audit row and costs the issuer a token request: bounded per address like sign-in.
    app.get('/api/auth/oidc/callback', { schema: { tags: ['auth'] }, config: { rateLimit: { max: 60, timeWindow: 60_000 } } }, async (req, reply) => {
      if (!s.oidc) throw new ApiError('not_found', 'OIDC sign-in is not configured (LITEMAAS_OIDC_ISSUER).');
      reply.clearCookie(OIDC_COOKIE, { path: '/api/auth/oidc' });
      const q = req.query as Record<string, unknown>;
      if (q.error) return failSignIn(s, req, reply, 'oidc', `The sign-in provider said: ${text(q.error_description) || text(q.error) || 'error'}`);
      try {
        const { identity, returnTo } = await s.oidc.finish(new URL(req.url, 'http://callback'), req.cookies[OIDC_COOKIE]);
        return await externalSignIn(s, req, reply, publicUrl, 'oidc', identity, s.oidc.roles(identity.groups), returnTo);
      } catch (err) {
        req.log.warn({ err: (err as Error).message }, 'OIDC sign-in failed');
        return failSignIn(s, req, reply, 'oidc', `Sign-in failed: ${(err as Error).message}`);
      }
    });

    app.get('/api/auth/openshift/login', {
      schema: { querystring: Type.Object({ returnTo: Type.Optional(Type.String({ maxLength: 2000 })) }), tags: ['auth'] },
    }, async (req, reply) => {
      if (!s.openshift) throw new ApiError('not_found', 'OpenShift sign-in is not configured (OPENSHIFT_API_URL).');
      const redirectUri = s.openshift.cfg.redirectUrl ?? `${siteOrigin(req, publicUrl)}/api/auth/openshift/callback`;
      let started;
      try { started = await s.openshift.start(redirectUri, safeReturnTo(req.query.returnTo, siteOrigin(req, publicUrl))); } catch (err) {
        // A person clicked a button: the login page with the reason, not a JSON error.
        req.log.warn({ err: (err as Error).message }, 'OpenShift OAuth discovery failed');
        return failSignIn(s, req, reply, 'openshift', `OpenShift sign-in is unavailable: ${(err as Error).message}`);
      }
      reply.setCookie(OPENSHIFT_COOKIE, started.cookie, { path: '/api/auth/openshift', httpOnly: true, sameSite: 'lax', secure: 'auto', maxAge: 600 });
      return reply.redirect(started.url, 302);
    });

    // Like the OIDC callback: bounded per address (each one may cost the cluster a token request and us an audit row).
    app.get('/api/auth/openshift/callback', { schema: { tags: ['auth'] }, config: { rateLimit: { max: 60, timeWindow: 60_000 } } }, async (req, reply) => {
      if (!s.openshift) throw new ApiError('not_found', 'OpenShift sign-in is not configured (OPENSHIFT_API_URL).');
      // Single use: whatever happens next, this flow is over.
      reply.clearCookie(OPENSHIFT_COOKIE, { path: '/api/auth/openshift' });
      const q = req.query as Record<string, unknown>;
      if (q.error === 'access_denied') return failSignIn(s, req, reply, 'openshift', 'You did not allow LiteMaaS to see your OpenShift account (access denied); sign in again and choose "Allow selected permissions".');
      if (q.error) return failSignIn(s, req, reply, 'openshift', `OpenShift said: ${text(q.error_description) || text(q.error) || 'error'}`);
      try {
        const { identity, returnTo } = await s.openshift.finish(q, req.cookies[OPENSHIFT_COOKIE]);
        return await externalSignIn(s, req, reply, publicUrl, 'openshift', identity, s.openshift.roles(identity.groups), returnTo);
      } catch (err) {
        req.log.warn({ err: (err as Error).message }, 'OpenShift sign-in failed');
        return failSignIn(s, req, reply, 'openshift', `Sign-in with OpenShift failed: ${(err as Error).message}`);
      }
    });
  };
}

/** /api/v1/config and /api/v1/auth/me. */
export const meRoutes: FastifyPluginAsyncTypebox<{ s: PortalServices; publicUrl?: string }> = async (app, { s, publicUrl }) => {
  app.get('/config', { schema: { tags: ['auth'] } }, async (req): Promise<Config> => {
    const settings = await s.settings.get();
    return {
      gatewayUrl: `${siteOrigin(req, publicUrl)}/v1`, currency: settings.currency,
      oidc: { enabled: !!s.oidc, label: s.oidc?.cfg.label ?? null }, openshift: { enabled: !!s.openshift }, passwordLogin: true,
      // Not secret, and the key form shows them as hints before the server would refuse a value.
      keyDefaults: settings.keyDefaults, keyMaximums: settings.keyMaximums,
      // The login page shows the brand before anyone signs in; images by URL (served by routes/brand.ts).
      brand: publicBrand(settings.brand ?? DEFAULT_BRAND),
    };
  });
  app.get('/auth/me', { onRequest: requireUser, schema: { tags: ['auth'] } }, async (req) => meView(s, me(req), req.principal!.authMethod));
};
