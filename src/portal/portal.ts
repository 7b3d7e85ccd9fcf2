/**
 * @module The portal: sign-in under /api/auth, the JSON API under /api/v1
 * (OpenAPI at /docs), and the web UI at `/`. It is never on the /v1 request
 * path: the gateway gets /v1 before Fastify sees it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { PortalServices } from './context.js';
import { installAuth } from './auth.js';
import { API_PATH, apiNotFound, installErrorHandler } from './errors.js';
import { serveUi } from '../shared/web-ui.js';
import { authRoutes, meRoutes } from './routes/auth.js';
import { brandRoutes } from './routes/brand.js';
import { bannerRoutes } from './routes/banners.js';
import { catalogRoutes } from './routes/catalog.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { usageRoutes, adminUsageReportRoutes } from './routes/usage.js';
import { adminModelRoutes } from './routes/admin-models.js';
import { adminUserRoutes } from './routes/admin-users.js';
import { adminKeyRoutes } from './routes/admin-api-keys.js';
import { adminAuditRoutes } from './routes/admin-audit.js';
import { adminSettingsRoutes } from './routes/admin-settings.js';
import { teamRoutes, teamUsageRoutes } from './routes/teams.js';
import { adminTokenRoutes } from './routes/admin-tokens.js';
import { adminSpendResetRoutes } from './routes/admin-spend-reset.js';
import { notificationRoutes, adminNotificationRoutes } from './routes/notifications.js';

export interface PortalOptions {
  services: PortalServices; adminToken?: string; publicUrl?: string; webDir?: string;
  /** Several replicas: per-address request limits (sign-in) are counted on this Redis, shared by all. */
  redis?: Redis;
}

export async function registerPortal(app: FastifyInstance, o: PortalOptions): Promise<void> {
  installErrorHandler(app);
  await app.register(cookie);
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'], fontSrc: ["'self'", 'data:'], connectSrc: ["'self'"], frameAncestors: ["'none'"],
        formAction: ["'self'"], objectSrc: ["'none'"], baseUri: ["'self'"],
        // Behind plain http (npm start) upgrading would break the page.
        upgradeInsecureRequests: null,
      },
    },
    // The OIDC flow and the UI live on one origin; the default would block the issuer's redirect back.
    crossOriginOpenerPolicy: false,
  });
  // With Redis the per-address limits hold across replicas; if it fails they are skipped (sign-in never fails
  // because of Redis, and the per-name throttle still counts in this replica's memory).
  await app.register(rateLimit, { global: false, ...(o.redis ? { redis: o.redis, nameSpace: 'litemaas:ratelimit:', skipOnError: true } : {}) });
  await app.register(swagger, {
    openapi: {
      info: { title: 'LiteMaaS portal API', version: '1', description: 'Models, subscriptions, API keys, usage and administration. The OpenAI-compatible gateway is at /v1.' },
      components: {
        securitySchemes: {
          adminToken: { type: 'http', scheme: 'bearer', description: 'LITEMAAS_ADMIN_TOKEN (automation, acts as admin), or an admin API token (lmt_…) with its scope' },
          session: { type: 'apiKey', in: 'cookie', name: 'litemaas_session', description: 'Portal sign-in; state-changing calls also need x-csrf-token' },
        },
      },
      security: [{ adminToken: [] }, { session: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  installAuth(app, o.adminToken, o.services);

  await app.register(authRoutes(o.services, o.publicUrl));
  await app.register(async (api) => {
    const opts = { s: o.services, publicUrl: o.publicUrl };
    await api.register(meRoutes, opts);
    await api.register(brandRoutes, opts);
    await api.register(bannerRoutes, opts);
    await api.register(catalogRoutes, opts);
    await api.register(apiKeyRoutes, opts);
    await api.register(usageRoutes, opts);
    await api.register(adminUsageReportRoutes, opts);
    await api.register(adminModelRoutes, opts);
    await api.register(adminUserRoutes, opts);
    await api.register(adminKeyRoutes, opts);
    await api.register(adminAuditRoutes, opts);
    await api.register(adminSettingsRoutes, opts);
    await api.register(teamRoutes, opts);
    await api.register(teamUsageRoutes, opts);
    await api.register(adminTokenRoutes, opts);
    await api.register(adminSpendResetRoutes, opts);
    await api.register(notificationRoutes, opts);
    await api.register(adminNotificationRoutes, opts);
  }, { prefix: '/api/v1' });

  if (o.webDir && existsSync(join(o.webDir, 'index.html'))) await serveUi(app, { dir: o.webDir, isApi: (p) => API_PATH.test(p), notFound: apiNotFound });
  else app.setNotFoundHandler(apiNotFound);
}
