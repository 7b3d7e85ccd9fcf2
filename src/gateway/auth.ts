/**
 * @module Authenticate: `Authorization: Bearer sk-…` (or `x-api-key:` as
 * Anthropic's clients send it, or Azure-style `api-key:`) → sha256 → the
 * in-memory key map. No database round trip.
 */
import type { IncomingMessage } from 'node:http';
import { sha256 } from '../shared/secrets.js';
import { GatewayError } from './errors.js';
import { isTeam, type KeyEntry, type Snapshot } from './snapshot.js';

export function presentedKey(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  if (h) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    return m ? m[1]! : null;
  }
  const k = req.headers['x-api-key'] ?? req.headers['api-key'];
  return typeof k === 'string' && k ? k.trim() : null;
}

export function authenticate(req: IncomingMessage, snap: Snapshot, now = Date.now()): KeyEntry {
  const key = presentedKey(req);
  if (!key) throw new GatewayError('invalid_api_key', "Missing API key: send it as 'Authorization: Bearer sk-…' (or 'x-api-key: sk-…').");
  const entry = snap.keys.get(sha256(key));
  if (!entry) throw new GatewayError('invalid_api_key', 'Invalid API key: it does not exist or has been revoked.');
  if (entry.expiresAt !== null && entry.expiresAt <= now) {
    throw new GatewayError('invalid_api_key', `API key expired at ${new Date(entry.expiresAt).toISOString()}.`);
  }
  if (entry.user.disabled) throw new GatewayError('user_disabled', isTeam(entry.user) ? "The key's team is disabled." : "The key's owner is disabled.");
  return entry;
}
