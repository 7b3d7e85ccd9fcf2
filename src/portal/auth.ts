/**
 * @module Who is calling /api. Two ways in:
 * - a session cookie from the portal's sign-in (people), whose state-changing
 *   requests must echo the CSRF cookie in `x-csrf-token` (double submit);
 * - `Authorization: Bearer $LITEMAAS_ADMIN_TOKEN` (automation), compared in
 *   constant time, acting as admin, needing no CSRF token (no ambient cookie);
 *   any other bearer is looked up as an admin API token (services/admin-tokens.ts):
 *   scope `admin` or `admin-readonly` gives that role, scope team gives no role
 *   and the team's id. Its name is the actor the audit log records.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';
import type { PortalServices } from './context.js';
import { audit } from './services/audit.js';
import { sanitize } from '../shared/sanitize.js';

export const SESSION_COOKIE = 'litemaas_session';
export const CSRF_COOKIE = 'litemaas_csrf';

const digest = (s: string) => createHash('sha256').update(s).digest();
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
// Sign-in itself runs before a session exists; the OIDC callback is a top-level GET.
const CSRF_EXEMPT = new Set(['/api/auth/login']);

export function installAuth(app: FastifyInstance, adminToken: string | undefined, { sessions, db, tokens }: Pick<PortalServices, 'sessions' | 'db' | 'tokens'>): void {
  const expected = adminToken ? digest(adminToken) : null;
  app.decorateRequest('principal', null);
  app.decorateRequest('bearerRefused', null);
  app.addHook('onRequest', async (req) => {
    const h = req.headers.authorization;
    if (h) {
      const m = /^Bearer\s+(\S+)$/i.exec(h);
      if (!m) return;
      if (expected && timingSafeEqual(digest(m[1]!), expected)) {
        req.principal = { kind: 'admin-token', userId: null, username: 'admin-token', roles: ['admin'] };
        return;
      }
      const found = await tokens.authenticate(m[1]!);
      if (!found.ok) { if (found.why !== 'unknown') req.bearerRefused = found.why; return; }
      const t = found.token;
      req.principal = { kind: 'admin-token', userId: null, username: `token:${t.name}`, roles: t.scope === 'team' ? [] : [t.scope], ...(t.team_id ? { teamId: t.team_id } : {}) };
      return;
    }
    const token = req.cookies[SESSION_COOKIE];
    if (!token) return;
    const s = await sessions.lookup(token);
    if (!s) return;
    req.principal = { kind: 'session', userId: s.userId, username: s.username, roles: s.roles, csrf: s.csrf, authMethod: s.authMethod, authenticatedAt: s.authenticatedAt };
    if (UNSAFE.has(req.method) && !CSRF_EXEMPT.has(req.url.split('?')[0]!)) {
      const sent = req.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !safeEqual(sent, s.csrf)) {
        // A real session sending a forged or missing token: a cross-site request, or a broken client. Worth a trace.
        await audit(db, s.username, 'auth.csrf_failed', s.userId, { method: req.method, path: sanitize(req.url.split('?')[0]!, 300), address: req.ip });
        throw new ApiError('csrf_failed', 'Missing or wrong x-csrf-token header: send the value of the litemaas_csrf cookie.');
      }
    }
  });
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a), y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const SIGN_IN = 'Sign in, or send Authorization: Bearer <LITEMAAS_ADMIN_TOKEN> (or an admin API token).';
const signIn = (req: FastifyRequest) => new ApiError('unauthorized', req.bearerRefused ? `This admin API token is ${req.bearerRefused}.` : SIGN_IN);
const teamScoped = (p: { teamId?: string }) => new ApiError('forbidden', `This admin API token is scoped to team '${p.teamId}': it cannot use the admin routes.`);
// Guards run as onRequest hooks, before the body is read: who may call comes before what they sent, so a
// stranger learns nothing from 400s and cannot make the server buffer a megabyte it will refuse anyway.

/** A signed-in person (routes that act on "my" keys, subscriptions and usage). */
export async function requireUser(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
  if (!req.principal) throw req.bearerRefused ? signIn(req) : new ApiError('unauthorized', 'Sign in to use this.');
  if (!req.principal.userId) throw new ApiError('forbidden', 'The admin token acts for no user: use the /api/v1/admin/users/:id/… routes.');
}

export async function requireAdmin(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
  if (!req.principal) throw signIn(req);
  if (req.principal.teamId) throw teamScoped(req.principal);
  if (!req.principal.roles.includes('admin')) throw new ApiError('forbidden', 'This needs the admin role.');
}

export async function requireAdminRead(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
  if (!req.principal) throw signIn(req);
  if (req.principal.teamId) throw teamScoped(req.principal);
  if (!req.principal.roles.some((r) => r === 'admin' || r === 'admin-readonly')) throw new ApiError('forbidden', 'This needs the admin or admin-readonly role.');
}

/** The signed-in user's id (after requireUser). */
export const me = (req: FastifyRequest): string => req.principal!.userId!;
