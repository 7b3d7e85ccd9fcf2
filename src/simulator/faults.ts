/**
 * @module Fault injection: which fault (if any) a request gets — from the
 * `x-sim-fault` header, else by `faultRate` — and the faults that need no
 * response body (error statuses, reset before any byte, hang). `reset-mid`
 * is carried out by the writers, which know what "half a response" is.
 */
import type { ServerResponse } from 'node:http';
import type { RequestClock } from './clock.js';
import { sendError } from './http.js';

export const FAULT_KINDS = ['429', '500', '503', 'reset', 'reset-mid', 'hang'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export function isFaultKind(v: unknown): v is FaultKind {
  return typeof v === 'string' && (FAULT_KINDS as readonly string[]).includes(v);
}

/** The header's fault when valid; otherwise `kind` with probability `rate`. */
export function pickFault(header: unknown, rate: number | undefined, kind: FaultKind | undefined, random: () => number = Math.random): FaultKind | null {
  if (isFaultKind(header)) return header;
  if (kind && rate && rate > 0 && random() < rate) return kind;
  return null;
}

const MESSAGES: Record<'429' | '500' | '503', [string, string]> = {
  '429': ['Simulated 429: too many requests', 'rate_limit_exceeded'],
  '500': ['Simulated 500: internal server error', 'internal_error'],
  '503': ['Simulated 503: service unavailable', 'service_unavailable'],
};

/** Writes an error response in the shape of the API that was called. */
export type ErrorSender = (res: ServerResponse, status: number, message: string, code: string) => void;

/** Carries out `fault` if it needs no body; returns true when the request is fully handled. */
export function applyEarlyFault(fault: FaultKind, res: ServerResponse, clock: RequestClock, send: ErrorSender = sendError): boolean {
  switch (fault) {
    case '429': case '500': case '503': {
      const [message, code] = MESSAGES[fault];
      send(res, Number(fault), message, code);
      return true;
    }
    case 'reset':
      clock.reset(res);
      return true;
    case 'hang':
      return true; // never answer; the clock counts the client's departure as an abort
    case 'reset-mid':
      return false;
  }
}
