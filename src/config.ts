/**
 * @module Process configuration from the environment, read once at start.
 * The same variables drive `litemaas serve` and `npm start`.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

export interface Config {
  port: number;
  host: string;
  /**
   * Serve /metrics on this port (same host) instead of the main one, so a Route or Ingress to the
   * main port does not publish it. Unset: /metrics on the main port (0: any free port).
   */
  metricsPort?: number;
  dataDir: string;
  databaseUrl?: string;
  adminToken?: string;
  secret?: string;
  publicUrl?: string;
  logLevel: string;
  maxBodyBytes: number;
  /** The largest audio upload (multipart) on the audio endpoints. */
  maxAudioBytes: number;
  /** A client must send its request headers within this time. */
  headersTimeoutMs: number;
  /** A client must send its whole request (headers and body) within this time; the answer may take as long as it takes. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this (longer than a load balancer's idle timeout). */
  keepAliveTimeoutMs: number;
  /** A streaming client that reads nothing for this long is cut, so it cannot hold an upstream connection. */
  stalledClientMs: number;
  flushIntervalMs: number;
  reconcileIntervalMs: number;
  /** Password of the `admin` account created on a fresh start (generated and printed once when unset). */
  adminPassword?: string;
  sessionTtlHours: number;
  /** Revealing a key needs a sign-in at most this old. */
  revealMaxAgeMinutes: number;
  /** Behind a router or ingress: trust X-Forwarded-* for protocol (Secure cookies) and client address (login limits). */
  trustProxy: boolean;
  /** Usernames or emails that are always admin, whichever way they sign in. */
  initialAdmins: string[];
  oidc?: OidcConfig;
  /** Sign in with the cluster's own OAuth server (OpenShift), when OPENSHIFT_API_URL is set. */
  openshift?: OpenShiftOAuthConfig;
  /** The built web UI (default: dist/web of this install). */
  webDir?: string;
  /** Several replicas: limits, budgets and quotas shared on this Redis (unset: kept in this process). */
  redisUrl?: string;
  /** Redis unreachable: refuse with 503 (`closed`) or admit with each replica's share of every limit and budget (`open`). */
  redisFailureMode: 'closed' | 'open';
  /** How many replicas share the limits (the `open` failure mode divides every limit and budget by it). */
  replicas: number;
  /** A Redis command that has not answered within this many ms counts as Redis unreachable. */
  redisTimeoutMs: number;
  /** How long a request's holds, slot and reservations outlive a replica that died holding them (longer than any request). */
  admissionLeaseMs: number;
  /** Replicas lease slices of each shared limit and spend them without a round trip (LITEMAAS_REDIS_LEASES=off: every request asks Redis). */
  redisLeases: boolean;
  /** Budget alerts' delivery (src/notify): retry delays, outbox poll, send timeout; defaults when unset (tests shorten them). */
  notify?: { retryDelaysMs?: number[]; pollMs?: number; timeoutMs?: number; expirySweepMs?: number };
}

export interface OidcConfig {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  /** Where the issuer sends the browser back; defaults to <public URL>/api/auth/oidc/callback. */
  redirectUrl?: string;
  label: string;
  scopes: string;
  groupsClaim: string;
  adminGroups: string[];
  readonlyGroups: string[];
}

export interface OpenShiftOAuthConfig {
  /** The API server (e.g. https://api.cluster.example.com:6443, or https://openshift.default.svc in the cluster): discovery and users/~. */
  apiUrl: string;
  /** Usually the pod's ServiceAccount: system:serviceaccount:<namespace>:<name>. */
  clientId: string;
  /** For a ServiceAccount client: one of its API tokens. */
  clientSecret: string;
  /** Where the OAuth server sends the browser back; defaults to <public URL>/api/auth/openshift/callback. */
  redirectUrl?: string;
  scopes: string;
  /** PEM bundle trusted for the API and OAuth servers, in addition to the system's roots. */
  caFile?: string;
  /** Development only: accept any TLS certificate from the cluster. */
  insecureSkipTlsVerify: boolean;
  adminGroups: string[];
  readonlyGroups: string[];
}

const list = (v: string | undefined) => (v ?? '').split(',').map((x) => x.trim()).filter(Boolean);

function oidcConfig(env: NodeJS.ProcessEnv): OidcConfig | undefined {
  const issuer = env.LITEMAAS_OIDC_ISSUER;
  if (!issuer) return undefined;
  const clientId = env.LITEMAAS_OIDC_CLIENT_ID;
  if (!clientId) throw new Error('LITEMAAS_OIDC_CLIENT_ID is required when LITEMAAS_OIDC_ISSUER is set');
  return {
    issuer,
    clientId,
    clientSecret: env.LITEMAAS_OIDC_CLIENT_SECRET || undefined,
    redirectUrl: env.LITEMAAS_OIDC_REDIRECT_URL || undefined,
    label: env.LITEMAAS_OIDC_LABEL || 'single sign-on',
    scopes: env.LITEMAAS_OIDC_SCOPES || 'openid profile email',
    groupsClaim: env.LITEMAAS_OIDC_GROUPS_CLAIM || 'groups',
    adminGroups: list(env.LITEMAAS_OIDC_ADMIN_GROUPS ?? 'litemaas-admins'),
    readonlyGroups: list(env.LITEMAAS_OIDC_READONLY_GROUPS ?? 'litemaas-readonly'),
  };
}

function openshiftConfig(env: NodeJS.ProcessEnv): OpenShiftOAuthConfig | undefined {
  const apiUrl = env.OPENSHIFT_API_URL;
  if (!apiUrl) return undefined;
  const clientId = env.OPENSHIFT_OAUTH_CLIENT_ID;
  const clientSecret = env.OPENSHIFT_OAUTH_CLIENT_SECRET;
  if (!clientId) throw new Error('OPENSHIFT_OAUTH_CLIENT_ID is required when OPENSHIFT_API_URL is set (a ServiceAccount client: system:serviceaccount:<namespace>:<name>)');
  if (!clientSecret) throw new Error('OPENSHIFT_OAUTH_CLIENT_SECRET is required when OPENSHIFT_API_URL is set (for a ServiceAccount client, one of its tokens)');
  try { new URL(apiUrl); } catch { throw new Error(`OPENSHIFT_API_URL must be a URL, got "${apiUrl}"`); }
  return {
    apiUrl: apiUrl.replace(/\/+$/, ''),
    clientId,
    clientSecret,
    redirectUrl: env.OPENSHIFT_OAUTH_REDIRECT_URL || undefined,
    // A ServiceAccount client may ask only for user:info, user:check-access and role scopes; users/~ needs user:info.
    scopes: env.OPENSHIFT_OAUTH_SCOPES || 'user:info',
    caFile: env.OPENSHIFT_CA_FILE || undefined,
    insecureSkipTlsVerify: env.OPENSHIFT_INSECURE_SKIP_TLS_VERIFY === 'true' || env.OPENSHIFT_INSECURE_SKIP_TLS_VERIFY === '1',
    // The same defaults as OIDC: one set of groups means the same roles whichever way people sign in.
    adminGroups: list(env.OPENSHIFT_ADMIN_GROUPS ?? env.LITEMAAS_OIDC_ADMIN_GROUPS ?? 'litemaas-admins'),
    readonlyGroups: list(env.OPENSHIFT_READONLY_GROUPS ?? env.LITEMAAS_OIDC_READONLY_GROUPS ?? 'litemaas-readonly'),
  };
}

function int(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${v}"`);
  return n;
}

/** A TCP port (0: any free one), or undefined when unset. */
function optionalPort(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number (0-65535), got "${v}"`);
  return n;
}

export function loadConfig(env = process.env): Config {
  return {
    port: int('PORT', 8080),
    host: env.HOST || '0.0.0.0',
    metricsPort: optionalPort('LITEMAAS_METRICS_PORT', env.LITEMAAS_METRICS_PORT),
    dataDir: resolve(env.LITEMAAS_DATA_DIR || './data'),
    databaseUrl: env.DATABASE_URL || undefined,
    adminToken: env.LITEMAAS_ADMIN_TOKEN || undefined,
    secret: env.LITEMAAS_SECRET || undefined,
    publicUrl: env.LITEMAAS_PUBLIC_URL || undefined,
    logLevel: env.LOG_LEVEL || 'info',
    maxBodyBytes: int('LITEMAAS_MAX_BODY_BYTES', 4 * 1024 * 1024),
    // vLLM's own default (VLLM_MAX_AUDIO_CLIP_FILESIZE_MB) and OpenAI's limit.
    maxAudioBytes: int('LITEMAAS_MAX_AUDIO_BYTES', 25 * 1024 * 1024),
    headersTimeoutMs: int('LITEMAAS_HEADERS_TIMEOUT_MS', 10_000),
    requestTimeoutMs: int('LITEMAAS_REQUEST_TIMEOUT_MS', 60_000),
    keepAliveTimeoutMs: int('LITEMAAS_KEEPALIVE_TIMEOUT_MS', 65_000),
    stalledClientMs: int('LITEMAAS_STALLED_CLIENT_MS', 60_000),
    flushIntervalMs: int('LITEMAAS_FLUSH_INTERVAL_MS', 100),
    reconcileIntervalMs: int('LITEMAAS_RECONCILE_INTERVAL_MS', 30_000),
    adminPassword: env.LITEMAAS_ADMIN_PASSWORD || undefined,
    sessionTtlHours: int('LITEMAAS_SESSION_TTL_HOURS', 12),
    revealMaxAgeMinutes: int('LITEMAAS_REVEAL_MAX_AGE_MINUTES', 15),
    trustProxy: env.LITEMAAS_TRUST_PROXY === 'true' || env.LITEMAAS_TRUST_PROXY === '1',
    initialAdmins: list(env.LITEMAAS_INITIAL_ADMINS),
    oidc: oidcConfig(env),
    openshift: openshiftConfig(env),
    redisUrl: env.REDIS_URL || undefined,
    redisFailureMode: failureMode(env.LITEMAAS_REDIS_FAILURE_MODE),
    replicas: Math.max(1, int('LITEMAAS_REPLICAS', 2)),
    // A busy replica (or Redis) may answer a script late without being down: an outage is a closed connection or a second of silence.
    redisTimeoutMs: Math.max(1, int('LITEMAAS_REDIS_TIMEOUT_MS', 1000)),
    admissionLeaseMs: Math.max(1_000, int('LITEMAAS_ADMISSION_LEASE_MS', 150_000)),
    redisLeases: !['0', 'false', 'off'].includes((env.LITEMAAS_REDIS_LEASES ?? '').toLowerCase()),
  };
}

function failureMode(v: string | undefined): 'closed' | 'open' {
  if (v === undefined || v === '' || v === 'closed') return 'closed';
  if (v === 'open') return 'open';
  throw new Error(`LITEMAAS_REDIS_FAILURE_MODE must be "closed" or "open", got "${v}"`);
}

export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
