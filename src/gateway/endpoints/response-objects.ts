/**
 * @module GET and DELETE /v1/responses/{id}, POST /v1/responses/{id}/cancel:
 * a stored response, reached only by the key that created it (any other key
 * gets the same 404 as an unknown id, so ids reveal nothing) and only on the
 * deployment that holds it. Not metered: they generate nothing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sanitize } from '../../shared/sanitize.js';
import { GatewayError } from '../errors.js';
import { renamed, type Upstream } from '../proxy.js';
import type { KeyEntry, Snapshot } from '../snapshot.js';
import { readBody } from '../upstream.js';
import { responses } from './responses.js';
import type { ResponseRoutes } from './response-routes.js';

export interface ObjectRequest {
  req: IncomingMessage; res: ServerResponse; path: string; requestId: string;
  key: KeyEntry; snap: Snapshot; routes: ResponseRoutes; up: Upstream;
}

const PREFIX = '/v1/responses/';

export async function responseObject(o: ObjectRequest): Promise<void> {
  const rest = o.path.slice(PREFIX.length);
  const cancel = rest.endsWith('/cancel');
  const raw = cancel ? rest.slice(0, -'/cancel'.length) : rest;
  const method = o.req.method ?? 'GET';
  const allowed = cancel ? method === 'POST' : method === 'GET' || method === 'DELETE';
  if (!allowed) throw new GatewayError('method_not_allowed', `${method} is not allowed on ${o.path}.`);
  o.req.resume(); // a body, if any, is not read
  let id: string;
  try { id = decodeURIComponent(raw); } catch { id = ''; }
  const notFound = () => new GatewayError('not_found', `Response with id '${sanitize(id || raw)}' not found.`);
  if (!id || id.includes('/')) throw notFound();
  const route = await o.routes.find(id);
  if (!route || route.keyId !== o.key.id) throw notFound();
  const model = o.snap.models.get(route.modelId);
  const d = model?.deployments.find((x) => x.id === route.deploymentId);
  if (!model || !d) throw notFound(); // the deployment that held it is gone, and its stored responses with it

  const x = o.up.clients.send(d, `/responses/${encodeURIComponent(id)}${cancel ? '/cancel' : ''}`, cancel ? '{}' : null, 'application/json',
    { method: cancel ? 'POST' : method as 'GET' | 'DELETE' });
  await x.started;
  if (x.error) throw new GatewayError('upstream_error', 'The model server could not be reached.');
  let body: Buffer;
  try { body = await readBody(x); } catch { throw new GatewayError('upstream_error', 'The model server broke off its answer.'); }
  if (x.status === 404) { if (method === 'DELETE') o.routes.forget(id); throw notFound(); }
  if (x.status >= 400) throw new GatewayError(x.status >= 500 ? 'upstream_error' : 'invalid_request_error', `The model server answered ${x.status}.`);
  if (method === 'DELETE') o.routes.forget(id);
  let text = body.toString('utf8');
  try {
    const obj = JSON.parse(text) as unknown;
    if (obj && typeof obj === 'object' && !Array.isArray(obj)) text = renamed(text, obj as Record<string, unknown>, responses, d.upstreamModel, model.id);
  } catch { /* not JSON: relayed as it is */ }
  o.res.writeHead(x.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-request-id': o.requestId });
  o.res.end(text);
}
