/**
 * @module Usage reports: summary, daily time series and CSV/JSON export,
 * for a person (always their own usage) and for admins (everyone, or one
 * user). The reports read only the daily rollups; /usage/requests exports the
 * usage events themselves, one line per request.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { me, requireAdminRead, requireUser } from '../auth.js';
import type { PortalServices } from '../context.js';
import { Line, UsageQuerystring } from '../schemas.js';
import { toCsv, type UsageQuery } from '../services/usage.js';
import { exportRequests } from '../services/usage-requests.js';
import { usageRefusals } from '../services/usage-refusals.js';
import { invalid } from '../errors.js';

const list = (v: string | undefined) => (v ? v.split(',').map((x) => x.trim()).filter(Boolean) : undefined);
type Q = { from?: string; to?: string; groupBy?: UsageQuery['groupBy']; models?: string; keys?: string; userId?: string };

const ExportQuerystring = Type.Composite([UsageQuerystring, Type.Object({ format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('json')])) })], { additionalProperties: false });

const TimeseriesQuerystring = Type.Composite([
  Type.Omit(UsageQuerystring, ['groupBy', 'from', 'to']),
  Type.Object({
    from: Type.Optional(Line({ maxLength: 24, description: 'YYYY-MM-DD, or with resolution=hour also a UTC instant YYYY-MM-DDTHH:MM:SSZ (its hour)' })),
    to: Type.Optional(Line({ maxLength: 24, description: 'YYYY-MM-DD (inclusive), or with resolution=hour a UTC instant (its hour, inclusive); default today / this hour' })),
    split: Type.Optional(Type.Union([Type.Literal('key'), Type.Literal('model')], { description: 'one series per key (with its owner) or per model' })),
    resolution: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('hour')], { description: 'hour: at most 168 hours, default the last 24' })),
    top: Type.Optional(Line({ maxLength: 3, description: 'series kept (1 to 50, default 10); the rest are summed as "other"' })),
  }),
], { additionalProperties: false });

const RequestsQuerystring = Type.Composite([
  Type.Omit(UsageQuerystring, ['groupBy']),
  Type.Object({
    format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('json')])),
    limit: Type.Optional(Line({ maxLength: 10, description: 'at most this many requests, newest first (1 to 100000, default 10000)' })),
  }),
], { additionalProperties: false });

type Guard = typeof requireUser;

/**
 * `scope` decides whose usage a caller may see; a person's own routes ignore any userId they send, a team's
 * routes (prefix `/teams/:id`) show the team's keys' usage. `guard` may need the services (a team's owners).
 */
export function reports(prefix: '' | '/admin' | '/teams/:id', guard: (s: PortalServices) => Guard, scope: (req: FastifyRequest, q: Q) => string | undefined): FastifyPluginAsyncTypebox<{ s: PortalServices }> {
  return async (app, { s }) => {
    const tags = [prefix === '/admin' ? 'admin' : prefix ? 'teams' : 'usage'];
    const onRequest = guard(s);
    const query = (req: FastifyRequest, q: Q): UsageQuery => {
      if (prefix !== '/admin' && (q.groupBy === 'user' || q.groupBy === 'team')) throw invalid('groupBy', `must be day, model or key ('${q.groupBy}' is for admins)`);
      return { from: q.from, to: q.to, groupBy: q.groupBy, userId: scope(req, q), models: list(q.models), keys: list(q.keys) };
    };
    app.get(`${prefix}/usage/summary`, { onRequest, schema: { querystring: UsageQuerystring, tags } }, async (req) => s.usage.summary(query(req, req.query)));
    app.get(`${prefix}/usage/timeseries`, { onRequest, schema: { querystring: TimeseriesQuerystring, tags } }, async (req) => {
      const { split, resolution, top, ...q } = req.query as Q & { split?: 'key' | 'model'; resolution?: 'day' | 'hour'; top?: string };
      const { groupBy: _, ...rq } = query(req, q);
      if (resolution !== 'hour' && q.from && q.from.length > 10) throw invalid('from', 'must be a date YYYY-MM-DD (instants are for resolution=hour)');
      if (resolution !== 'hour' && q.to && q.to.length > 10) throw invalid('to', 'must be a date YYYY-MM-DD (instants are for resolution=hour)');
      return s.usage.timeseries({ ...rq, split, resolution, top });
    });
    app.get(`${prefix}/usage/export`, { onRequest, schema: { querystring: ExportQuerystring, tags } }, async (req, reply) => {
      const { format = 'csv', ...q } = req.query as Q & { format?: 'csv' | 'json' };
      const r = await s.usage.summary(query(req, q));
      const name = `litemaas-usage-${r.groupBy}-${r.from}-to-${r.to}.${format}`;
      reply.header('content-disposition', `attachment; filename="${name}"`).header('cache-control', 'no-store');
      if (format === 'json') return reply.type('application/json').send(JSON.stringify(r, null, 2));
      return reply.type('text/csv; charset=utf-8').send(toCsv(r.groupBy, r.rows));
    });
    // Refused and failed requests by reason and by key (usage_events' failed rows only).
    app.get(`${prefix}/usage/refusals`, { onRequest, schema: { querystring: Type.Omit(UsageQuerystring, ['groupBy']), tags } }, async (req) => {
      const { groupBy: _, ...rq } = query(req, req.query);
      return usageRefusals(s.db, rq);
    });
    // One line per request (usage_events), newest first, at most `limit` of them.
    app.get(`${prefix}/usage/requests`, { onRequest, schema: { querystring: RequestsQuerystring, tags } }, async (req, reply) => {
      const { format = 'csv', limit, ...q } = req.query as Omit<Q, 'groupBy'> & { format?: 'csv' | 'json'; limit?: string };
      const { groupBy: _, ...rq } = query(req, q);
      const r = await exportRequests(s.db, { ...rq, limit }, format);
      reply.header('content-disposition', `attachment; filename="litemaas-requests-${r.from}-to-${r.to}.${format}"`)
        .header('cache-control', 'no-store').header('x-litemaas-truncated', String(r.truncated)).header('x-litemaas-rows', String(r.rows));
      return reply.type(format === 'json' ? 'application/json' : 'text/csv; charset=utf-8').send(r.body);
    });
  };
}

export const usageRoutes = reports('', () => requireUser, (req) => me(req));
export const adminUsageReportRoutes = reports('/admin', () => requireAdminRead, (_req, q) => q.userId);
