/**
 * @module Every error the /v1 surface can answer, in one registry: stable
 * codes, statuses, OpenAI `type`s and Anthropic `type`s. Bodies are
 * OpenAI-format JSON, or Anthropic's on the Messages API's paths; nothing
 * else in the gateway builds an error body.
 */
import type { ServerResponse } from 'node:http';

export const GATEWAY_ERRORS = {
  invalid_api_key: { status: 401, type: 'invalid_request_error', anthropic: 'authentication_error' },
  model_not_allowed: { status: 403, type: 'permission_error', anthropic: 'permission_error' },
  user_disabled: { status: 403, type: 'permission_error', anthropic: 'permission_error' },
  not_found: { status: 404, type: 'invalid_request_error', anthropic: 'not_found_error' },
  model_not_found: { status: 404, type: 'invalid_request_error', anthropic: 'not_found_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error', anthropic: 'invalid_request_error' },
  invalid_request_error: { status: 400, type: 'invalid_request_error', anthropic: 'invalid_request_error' },
  request_too_large: { status: 413, type: 'invalid_request_error', anthropic: 'request_too_large' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error', anthropic: 'invalid_request_error' },
  rate_limit_exceeded: { status: 429, type: 'rate_limit_error', anthropic: 'rate_limit_error' },
  budget_exceeded: { status: 429, type: 'insufficient_quota', anthropic: 'rate_limit_error' },
  quota_exceeded: { status: 429, type: 'insufficient_quota', anthropic: 'rate_limit_error' },
  upstream_error: { status: 502, type: 'api_error', anthropic: 'api_error' },
  no_deployment_available: { status: 503, type: 'api_error', anthropic: 'overloaded_error' },
  budgets_unavailable: { status: 503, type: 'api_error', anthropic: 'api_error' },
  upstream_timeout: { status: 504, type: 'api_error', anthropic: 'timeout_error' },
  internal_error: { status: 500, type: 'api_error', anthropic: 'api_error' },
} as const;

/** Which clients read the error: OpenAI's (most paths) or Anthropic's (the Messages API). */
export type ErrorFormat = 'openai' | 'anthropic';

export type GatewayErrorCode = keyof typeof GATEWAY_ERRORS;

export class GatewayError extends Error {
  /** Set once the error comes from forwarding (the model server's answer, no deployment available): not a refusal of the gateway's own. */
  fromUpstream = false;
  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    readonly param: string | null = null,
    readonly retryAfter: number | null = null,
    /** Finer than the code, for litemaas_refusals_total: a rate limit that is the key's max-parallel slots. */
    readonly reason: 'max_parallel' | null = null,
  ) {
    super(message);
  }
  get status(): number { return GATEWAY_ERRORS[this.code].status; }
}

export function errorBody(code: GatewayErrorCode, message: string, param: string | null = null, format: ErrorFormat = 'openai', requestId?: string): string {
  if (format === 'anthropic') {
    return JSON.stringify({ type: 'error', error: { type: GATEWAY_ERRORS[code].anthropic, message }, ...(requestId ? { request_id: requestId } : null) });
  }
  return JSON.stringify({ error: { message, type: GATEWAY_ERRORS[code].type, param, code } });
}

/** Also used by the stack router, which has no request ids. */
export function sendError(res: ServerResponse, err: GatewayError, requestId?: string, format: ErrorFormat = 'openai'): void {
  if (res.headersSent) { res.destroy(); return; }
  const body = errorBody(err.code, err.message, err.param, format, requestId);
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (requestId) headers['x-request-id'] = requestId;
  if (err.retryAfter !== null) headers['retry-after'] = err.retryAfter;
  res.writeHead(err.status, headers);
  res.end(body);
}
