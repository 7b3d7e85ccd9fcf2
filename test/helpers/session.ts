/**
 * A signed-in browser, minus the browser: keeps the portal's cookies and
 * echoes the CSRF cookie on state-changing calls, as the UI does.
 */
export interface Reply { status: number; body: any; headers: Headers }

/** Applies a response's Set-Cookie headers to a jar, as a browser would (an expired or emptied cookie is removed). */
export function keepCookies(res: Response, jar: Map<string, string>): void {
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const i = pair!.indexOf('=');
    const name = pair!.slice(0, i), value = pair!.slice(i + 1);
    if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) jar.delete(name); else jar.set(name, value);
  }
}

export class Session {
  private cookies = new Map<string, string>();

  constructor(readonly base: string) {}

  static async signIn(base: string, username: string, password: string): Promise<Session> {
    const s = new Session(base);
    const r = await s.call('POST', '/api/auth/login', { username, password });
    if (r.status !== 200) throw new Error(`sign-in of ${username}: ${r.status} ${JSON.stringify(r.body)}`);
    return s;
  }

  cookie(name: string): string | undefined { return this.cookies.get(name); }

  /** `path` under /api/v1 unless it starts with /api/ or /docs. */
  async call(method: string, path: string, body?: unknown, opts: { csrf?: string | null } = {}): Promise<Reply> {
    const url = this.base + (path.startsWith('/api/') || path.startsWith('/docs') ? path : '/api/v1' + path);
    const headers: Record<string, string> = {};
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const csrf = opts.csrf === undefined ? this.cookies.get('litemaas_csrf') : opts.csrf;
    if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), redirect: 'manual' });
    keepCookies(res, this.cookies);
    const text = await res.text();
    let parsed: unknown = text;
    try { parsed = text ? JSON.parse(text) : null; } catch { /* CSV, HTML */ }
    return { status: res.status, body: parsed, headers: res.headers };
  }
}

export const anonymous = (base: string) => new Session(base);
