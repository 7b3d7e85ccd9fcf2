/**
 * @module What a failed schema validation is about, for the servers that
 * render it in their own error shape (the portal, Canopy): the field as a
 * dotted path (`messages.0.content`) and the problem in words.
 */
import type { FastifyError } from 'fastify';

export interface ValidationProblem { field: string; problem: string }

/**
 * Null when `err` is not a validation failure. `patterns` maps a schema's
 * regex to what it means, so a person reads "must not contain control
 * characters" rather than the regex.
 */
export function validationProblem(err: FastifyError, patterns: Record<string, string> = {}): ValidationProblem | null {
  const v = err.validation?.[0];
  if (!v) return null;
  const params = (v.params ?? {}) as { missingProperty?: string; additionalProperty?: string; pattern?: string };
  const path = (v.instancePath || '').replace(/^\//, '').replace(/\//g, '.');
  // An unknown property is named itself: "body" would not tell which one.
  const child = params.missingProperty ?? params.additionalProperty;
  const field = child !== undefined ? (path ? `${path}.${child}` : child) : path || err.validationContext || 'body';
  const problem = params.missingProperty !== undefined ? 'is required'
    : params.additionalProperty !== undefined ? 'is not a known field'
      : (params.pattern !== undefined && patterns[params.pattern]) || v.message || 'is invalid';
  return { field, problem };
}
