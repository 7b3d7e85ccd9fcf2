/**
 * @module What portal routes share: the services, and the caller's identity
 * typed on the request (no string lookups).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Cipher } from '../shared/secrets.js';
import { ApiKeyService } from './services/api-keys.js';
import { ModelService } from './services/models.js';
import { SubscriptionService } from './services/subscriptions.js';
import { UsageService } from './services/usage.js';
import { UserService } from './services/users.js';

export interface Principal { kind: 'admin-token' | 'session'; userId: string | null; username: string; roles: string[] }

declare module 'fastify' {
  interface FastifyRequest { principal: Principal | null }
}

export interface PortalServices {
  db: Kysely<Database>;
  models: ModelService;
  users: UserService;
  subscriptions: SubscriptionService;
  keys: ApiKeyService;
  usage: UsageService;
}

export function createServices(db: Kysely<Database>, cipher: Cipher): PortalServices {
  return {
    db,
    models: new ModelService(db, cipher),
    users: new UserService(db),
    subscriptions: new SubscriptionService(db),
    keys: new ApiKeyService(db, cipher),
    usage: new UsageService(db),
  };
}
