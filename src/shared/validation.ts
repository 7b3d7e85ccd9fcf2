/**
 * @module What a failed schema validation is about, for the servers that
 * render it in their own error shape (the portal, Canopy): the field as a
 * dotted path (`messages.0.content`) and the problem in words.
 */
import type { FastifyError } from 'fastify';

export interface ValidationProblem { field: string; problem: string }

/** Null when `err` is not a validation failure. */
export function validationProblem(err: FastifyError): ValidationProblem | null {
  const v = err.validation?.[0];
  if (!v) return null;
  const missing = (v.params as { missingProperty?: string } | undefined)?.missingProperty;
  const path = (v.instancePath || '').replace(/^\//, '').replace(/\//g, '.');
  const field = missing ? (path ? `${path}.${missing}` : missing) : path || err.validationContext || 'body';
  return { field, problem: missing ? 'is required' : v.message ?? 'is invalid' };
}
