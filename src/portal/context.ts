/**
 * @module What portal routes share: the services, and the caller's identity
 * typed on the request (no string lookups).
 */
import type { Kysely } from 'kysely';
import type { Redis } from 'ioredis';
import type { Database } from '../store/schema.js';
import type { Cipher } from '../shared/secrets.js';
import type { OidcConfig, OpenShiftOAuthConfig } from '../config.js';
import type { AuthMethod } from '../shared/api-types.js';
import { ApiKeyService } from './services/api-keys.js';
import { ModelService } from './services/models.js';
import { SubscriptionService } from './services/subscriptions.js';
import { UsageService } from './services/usage.js';
import { UserService } from './services/users.js';
import { SessionService } from './services/sessions.js';
import { SettingsService } from './services/settings.js';
import { TeamService } from './services/teams.js';
import { LoginThrottle } from './services/login-throttle.js';
import { MemoryThrottleStore, RedisThrottleStore, type ThrottleLog, type ThrottleStore } from './services/throttle-store.js';
import { OidcSignIn } from './oidc.js';
import { OpenShiftSignIn } from './openshift-oauth.js';
import { AdminTokenService } from './services/admin-tokens.js';

export interface Principal {
  kind: 'admin-token' | 'session';
  userId: string | null;
  username: string;
  roles: string[];
  /** Session only: the CSRF value, how and when the person signed in (revealing a key needs a recent sign-in). */
  csrf?: string;
  authMethod?: AuthMethod;
  authenticatedAt?: Date;
  /** An admin API token scoped to one team (roles empty): only that team's routes accept it. */
  teamId?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /** Why the bearer (an admin API token) was refused: said in the 401 instead of "sign in". */
    bearerRefused: 'expired' | 'revoked' | null;
  }
}

export interface PortalServices {
  db: Kysely<Database>;
  models: ModelService;
  users: UserService;
  subscriptions: SubscriptionService;
  keys: ApiKeyService;
  usage: UsageService;
  sessions: SessionService;
  settings: SettingsService;
  teams: TeamService;
  throttle: LoginThrottle;
  oidc: OidcSignIn | null;
  openshift: OpenShiftSignIn | null;
  initialAdmins: string[];
  /** Admin API tokens (besides LITEMAAS_ADMIN_TOKEN). */
  tokens: AdminTokenService;
  /** Revealing a key needs a sign-in at most this old: the session's authenticated_at, in PostgreSQL, so every replica applies the same window. */
  revealMaxAgeMs: number;
}

export interface ServiceOptions {
  sessionTtlHours?: number; revealMaxAgeMinutes?: number; initialAdmins?: string[]; oidc?: OidcConfig; openshift?: OpenShiftOAuthConfig;
  /** Several replicas (REDIS_URL): sign-in throttles counted on this Redis, shared by all of them; unset, in this process. */
  redis?: Redis | null;
  /** Where "Redis unreachable / back" is said, once per outage. */
  log?: ThrottleLog;
  /** The sign-in counters, when neither of the above fits (tests). */
  throttleStore?: ThrottleStore;
}

export function createServices(db: Kysely<Database>, cipher: Cipher, o: ServiceOptions = {}): PortalServices {
  return {
    db,
    models: new ModelService(db, cipher),
    users: new UserService(db),
    subscriptions: new SubscriptionService(db),
    keys: new ApiKeyService(db, cipher),
    usage: new UsageService(db),
    sessions: new SessionService(db, o.sessionTtlHours ?? 12),
    settings: new SettingsService(db, cipher),
    teams: new TeamService(db),
    throttle: new LoginThrottle(o.throttleStore ?? (o.redis ? new RedisThrottleStore(o.redis, { log: o.log }) : new MemoryThrottleStore())),
    oidc: o.oidc ? new OidcSignIn(o.oidc, cipher) : null,
    openshift: o.openshift ? new OpenShiftSignIn(o.openshift, cipher) : null,
    initialAdmins: o.initialAdmins ?? [],
    revealMaxAgeMs: (o.revealMaxAgeMinutes ?? 15) * 60_000,
    tokens: new AdminTokenService(db),
  };
}
