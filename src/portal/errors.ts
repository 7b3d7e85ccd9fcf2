/**
 * @module Every error the /api surface answers, in one registry, and the one
 * Fastify error handler that renders them: `{error: {code, message, field?}}`
 * with a precise 4xx for a client's mistake and never a stack trace.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { validationProblem } from '../shared/validation.js';
import { PATTERN_PROBLEMS } from './schemas.js';

export const API_ERRORS = {
  validation_error: 400,
  unauthorized: 401,
  forbidden: 403,
  csrf_failed: 403,
  reauth_required: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  upstream_failed: 502,
  internal_error: 500,
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends Error {
  constructor(readonly code: ApiErrorCode, message: string, readonly field?: string) { super(message); }
  get status(): number { return API_ERRORS[this.code]; }
}

export const invalid = (field: string, message: string) => new ApiError('validation_error', `${field}: ${message}`, field);
export const notFound = (what: string) => new ApiError('not_found', `${what} not found`);

/** Paths the UI must never answer: they belong to the API, the gateway or operations. */
export const API_PATH = /^\/(api|v1|docs|metrics|healthz|readyz)(\/|$)/;

export function apiNotFound(req: FastifyRequest, reply: FastifyReply) {
  return reply.code(404).send({ error: { code: 'not_found', message: `No route ${req.method} ${req.url.split('?')[0]}` } });
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (err instanceof ApiError) {
      return reply.code(err.status).send({ error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) } });
    }
    const fe = err as FastifyError;
    const invalidBody = validationProblem(fe, PATTERN_PROBLEMS);
    if (invalidBody) {
      const { field, problem } = invalidBody;
      return reply.code(400).send({ error: { code: 'validation_error', message: `${field} ${problem}`, field } });
    }
    const status = fe.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : status === 429 ? 'rate_limited' : 'validation_error';
      // Fastify's own client errors (bad JSON, wrong content type) carry safe messages.
      return reply.code(status).send({ error: { code, message: fe.message } });
    }
    req.log.error({ err: { message: fe.message, stack: fe.stack } }, 'unhandled error');
    return reply.code(500).send({ error: { code: 'internal_error', message: 'Internal error; it has been logged.' } });
  });
}
