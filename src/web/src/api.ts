/**
 * @module The one way the UI talks to the portal API: JSON over fetch with the session cookie,
 * the CSRF double-submit header on writes, and `{error: {code, message, field}}` turned into ApiError.
 */

import i18n from './i18n';
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly field?: string,
    /** Seconds, from Retry-After on 429. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

const CSRF_COOKIE = 'litemaas_csrf';

export function readCookie(name: string): string | undefined {
  for (const part of document.cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/** `/models` means `/api/v1/models`; paths already under `/api/` (the auth routes) are used as they are. */
export function apiUrl(path: string): string {
  return path.startsWith('/api/') ? path : `/api/v1${path}`;
}

export function loginUrl(returnTo = currentPath()): string {
  return `/login?returnTo=${encodeURIComponent(returnTo)}`;
}

function currentPath(): string {
  return window.location.pathname + window.location.search;
}

/** A 401 means the session is gone; the sign-in page and the "who am I" probe handle it themselves. */
function shouldRedirectOn401(path: string): boolean {
  return path !== '/auth/me' && !path.startsWith('/api/auth/') && window.location.pathname !== '/login';
}

export async function api<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') {
    const csrf = readCookie(CSRF_COOKIE);
    if (csrf) headers['x-csrf-token'] = csrf;
  }
  let res: Response;
  try {
    res = await fetch(apiUrl(path), {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(i18n.t('errors.network'), 0, 'network_error');
  }
  if (res.status === 401 && shouldRedirectOn401(path)) {
    window.location.assign(loginUrl());
  }
  if (!res.ok) throw await toApiError(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export async function toApiError(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = `The server answered ${res.status} ${res.statusText}`.trim();
  let field: string | undefined;
  try {
    const parsed = (await res.json()) as { error?: { code?: string; message?: string; field?: string } };
    if (parsed.error?.message) message = parsed.error.message;
    if (parsed.error?.code) code = parsed.error.code;
    field = parsed.error?.field;
  } catch {
    // Not JSON (a proxy's error page, say): keep the status line.
  }
  const retry = Number(res.headers.get('retry-after'));
  return new ApiError(message, res.status, code, field, Number.isFinite(retry) && retry > 0 ? retry : undefined);
}

export function isApiError(error: unknown, code?: string): error is ApiError {
  return error instanceof ApiError && (code === undefined || error.code === code);
}

/** Query string from the defined, non-empty values; arrays become comma-separated lists. */
export function query(params: Record<string, string | number | string[] | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) {
      if (value.length > 0) search.set(name, value.join(','));
    } else {
      search.set(name, String(value));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
