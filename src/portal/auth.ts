/**
 * @module Who is calling /api: `Authorization: Bearer $LITEMAAS_ADMIN_TOKEN`
 * acts as admin for automation (compared in constant time). Sessions for
 * people arrive with the portal's sign-in.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function installAuth(app: FastifyInstance, adminToken: string | undefined): void {
  const expected = adminToken ? digest(adminToken) : null;
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req) => {
    const h = req.headers.authorization;
    if (!h || !expected) return;
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    if (m && timingSafeEqual(digest(m[1]!), expected)) {
      req.principal = { kind: 'admin-token', userId: null, username: 'admin-token', roles: ['admin'] };
    }
  });
}

export async function requireAdmin(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
  if (!req.principal) throw new ApiError('unauthorized', 'Sign in, or send Authorization: Bearer <LITEMAAS_ADMIN_TOKEN>.');
  if (!req.principal.roles.includes('admin')) throw new ApiError('forbidden', 'This needs the admin role.');
}

export async function requireAdminRead(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
  if (!req.principal) throw new ApiError('unauthorized', 'Sign in, or send Authorization: Bearer <LITEMAAS_ADMIN_TOKEN>.');
  if (!req.principal.roles.some((r) => r === 'admin' || r === 'admin-readonly')) throw new ApiError('forbidden', 'This needs the admin or admin-readonly role.');
}
