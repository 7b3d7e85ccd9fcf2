/**
 * @module The portal as one Fastify plugin tree under /api/v1, plus health,
 * readiness and metrics. It is never on the /v1 request path.
 */
import type { FastifyInstance } from 'fastify';
import type { PortalServices } from './context.js';
import { installAuth } from './auth.js';
import { installErrorHandler } from './errors.js';
import { adminModelRoutes } from './routes/admin-models.js';
import { adminUserRoutes } from './routes/admin-users.js';
import { adminKeyRoutes } from './routes/admin-api-keys.js';
import { adminUsageRoutes } from './routes/admin-usage.js';

export interface PortalOptions { services: PortalServices; adminToken?: string }

export async function registerPortal(app: FastifyInstance, o: PortalOptions): Promise<void> {
  installErrorHandler(app);
  installAuth(app, o.adminToken);
  await app.register(async (api) => {
    const opts = { s: o.services };
    await api.register(adminModelRoutes, opts);
    await api.register(adminUserRoutes, opts);
    await api.register(adminKeyRoutes, opts);
    await api.register(adminUsageRoutes, opts);
  }, { prefix: '/api/v1' });
}
