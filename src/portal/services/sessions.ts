/**
 * @module Portal sign-in sessions. The browser holds a random token in an
 * httpOnly cookie; the database holds sha256(token), the user and the CSRF
 * value the browser must echo. Lookups join the user so that disabling an
 * account or changing its roles takes effect on the next request.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import type { AuthMethod } from '../../shared/api-types.js';
import { sha256 } from '../../shared/secrets.js';

export interface SessionInfo {
  userId: string;
  username: string;
  roles: string[];
  csrf: string;
  authMethod: AuthMethod;
  authenticatedAt: Date;
}

export class SessionService {
  constructor(private readonly db: Kysely<Database>, private readonly ttlHours: number) {}

  async create(userId: string, authMethod: AuthMethod): Promise<{ token: string; csrf: string; expiresAt: Date }> {
    const token = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    const expiresAt = new Date(Date.now() + this.ttlHours * 3_600_000);
    await this.db.insertInto('sessions').values({
      id: sha256(token), user_id: userId, csrf, auth_method: authMethod, authenticated_at: new Date(), expires_at: expiresAt,
    }).execute();
    await this.db.updateTable('users').set({ last_login_at: new Date() }).where('id', '=', userId).execute();
    // Expired sessions are swept at sign-in time: no timer, and the table stays small.
    await this.db.deleteFrom('sessions').where('expires_at', '<', new Date()).execute();
    return { token, csrf, expiresAt };
  }

  async lookup(token: string): Promise<SessionInfo | null> {
    const r = await this.db.selectFrom('sessions as s').innerJoin('users as u', 'u.id', 's.user_id')
      .select(['s.user_id', 'u.username', 'u.roles', 'u.disabled_at', 's.csrf', 's.auth_method', 's.authenticated_at', 's.expires_at'])
      .where('s.id', '=', sha256(token)).executeTakeFirst();
    if (!r || r.disabled_at || new Date(r.expires_at).getTime() <= Date.now()) return null;
    return { userId: r.user_id, username: r.username, roles: r.roles, csrf: r.csrf, authMethod: r.auth_method, authenticatedAt: new Date(r.authenticated_at) };
  }

  async destroy(token: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id', '=', sha256(token)).execute();
  }

  /** Signs a user out everywhere (account disabled, password changed). */
  async destroyForUser(userId: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('user_id', '=', userId).execute();
  }
}
