/**
 * @module Process configuration from the environment, read once at start.
 * The same variables drive `litemaas serve` and `npm start`.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  adminToken?: string;
  secret?: string;
  publicUrl?: string;
  logLevel: string;
  maxBodyBytes: number;
  flushIntervalMs: number;
  reconcileIntervalMs: number;
}

function int(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${v}"`);
  return n;
}

export function loadConfig(env = process.env): Config {
  return {
    port: int('PORT', 8080),
    host: env.HOST || '0.0.0.0',
    dataDir: resolve(env.LITEMAAS_DATA_DIR || './data'),
    databaseUrl: env.DATABASE_URL || undefined,
    adminToken: env.LITEMAAS_ADMIN_TOKEN || undefined,
    secret: env.LITEMAAS_SECRET || undefined,
    publicUrl: env.LITEMAAS_PUBLIC_URL || undefined,
    logLevel: env.LOG_LEVEL || 'info',
    maxBodyBytes: int('LITEMAAS_MAX_BODY_BYTES', 4 * 1024 * 1024),
    flushIntervalMs: int('LITEMAAS_FLUSH_INTERVAL_MS', 100),
    reconcileIntervalMs: int('LITEMAAS_RECONCILE_INTERVAL_MS', 30_000),
  };
}

export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
