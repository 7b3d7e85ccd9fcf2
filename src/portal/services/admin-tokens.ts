/**
 * @module Admin API tokens: named, scoped (`admin`, `admin-readonly`, or one
 * team), expiring, revocable bearer tokens for automation, beside the single
 * LITEMAAS_ADMIN_TOKEN. The token (`lmt_` + 256 random bits) is returned once;
 * the store keeps its sha256, looked up on every request (one indexed query,
 * no cache: a revoked token stops at once on every replica).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AdminTokenRow, Database } from '../../store/schema.js';
import { sha256 } from '../../shared/secrets.js';
import type { AdminToken, AdminTokenScope, AdminTokenWithSecret } from '../../shared/api-types.js';
import { invalid, notFound } from '../errors.js';

export const TOKEN_PREFIX = 'lmt_';
/** How often last_used_at is stamped at most: a token used in a loop is not a write per request. */
const STAMP_MS = 60_000;

export interface TokenInput { name: string; scope: AdminTokenScope; teamId?: string | null; expiresAt?: string | null }

const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);

export function tokenView(t: AdminTokenRow, now = Date.now()): AdminToken {
  return {
    id: t.id, name: t.name, prefix: t.prefix, scope: t.scope, teamId: t.team_id, createdBy: t.created_by,
    createdAt: iso(t.created_at)!, expiresAt: iso(t.expires_at), revokedAt: iso(t.revoked_at), lastUsedAt: iso(t.last_used_at),
    status: t.revoked_at ? 'revoked' : t.expires_at && new Date(t.expires_at).getTime() <= now ? 'expired' : 'active',
  };
}

/** Why a presented token does not authenticate, in words for the 401. */
export type TokenRefusal = 'unknown' | 'expired' | 'revoked';

export class AdminTokenService {
  constructor(private readonly db: Kysely<Database>) {}

  async create(input: TokenInput, createdBy: string): Promise<AdminTokenWithSecret> {
    const name = input.name.trim();
    if (!name) throw invalid('name', 'must not be empty');
    if (input.scope === 'team' && !input.teamId) throw invalid('teamId', 'is required for scope team');
    if (input.scope !== 'team' && input.teamId) throw invalid('teamId', 'is only for scope team');
    if (input.teamId && !(await this.db.selectFrom('teams').select('id').where('id', '=', input.teamId).executeTakeFirst())) throw invalid('teamId', `no team '${input.teamId}'`);
    let expires: Date | null = null;
    if (input.expiresAt != null) {
      expires = new Date(input.expiresAt);
      if (Number.isNaN(expires.getTime())) throw invalid('expiresAt', 'must be an ISO-8601 date-time');
      if (expires.getTime() <= Date.now()) throw invalid('expiresAt', 'must be in the future');
    }
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const row = await this.db.insertInto('admin_tokens').values({
      id: randomUUID(), name, prefix: `${token.slice(0, 8)}…${token.slice(-4)}`, hash: sha256(token), scope: input.scope,
      team_id: input.scope === 'team' ? input.teamId! : null, created_by: createdBy, expires_at: expires,
      revoked_at: null, last_used_at: null,
    }).returningAll().executeTakeFirstOrThrow();
    return { ...tokenView(row), token };
  }

  async list(): Promise<AdminToken[]> {
    const rows = await this.db.selectFrom('admin_tokens').selectAll().orderBy('created_at', 'desc').execute();
    const now = Date.now();
    return rows.map((r) => tokenView(r, now));
  }

  async revoke(id: string): Promise<AdminToken> {
    const row = await this.db.updateTable('admin_tokens').set({ revoked_at: new Date() })
      .where('id', '=', id).where('revoked_at', 'is', null).returningAll().executeTakeFirst()
      ?? await this.db.selectFrom('admin_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`Admin token '${id}'`);
    return tokenView(row);
  }

  /** The token a bearer value names, if it is one of ours and usable now; stamps last_used_at (at most once a minute). */
  async authenticate(bearer: string): Promise<{ ok: true; token: AdminTokenRow } | { ok: false; why: TokenRefusal }> {
    if (!bearer.startsWith(TOKEN_PREFIX)) return { ok: false, why: 'unknown' };
    const t = await this.db.selectFrom('admin_tokens').selectAll().where('hash', '=', sha256(bearer)).executeTakeFirst();
    if (!t) return { ok: false, why: 'unknown' };
    if (t.revoked_at) return { ok: false, why: 'revoked' };
    const now = Date.now();
    if (t.expires_at && new Date(t.expires_at).getTime() <= now) return { ok: false, why: 'expired' };
    if (!t.last_used_at || now - new Date(t.last_used_at).getTime() >= STAMP_MS) {
      await this.db.updateTable('admin_tokens').set({ last_used_at: new Date(now) }).where('id', '=', t.id).execute();
    }
    return { ok: true, token: t };
  }
}
