/**
 * @module The brand's images for anyone (the login page, the favicon): the
 * logo and favicon an admin set, decoded from their data URLs and served
 * with a CSP that forbids everything (an SVG opened on its own runs and
 * fetches nothing) and `nosniff`. /config links them with a version, so they
 * are cached for good.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { PortalServices } from '../context.js';
import { notFound } from '../errors.js';
import { DEFAULT_BRAND } from '../services/brand.js';
import { Line } from '../schemas.js';

export const brandRoutes: FastifyPluginAsyncTypebox<{ s: PortalServices }> = async (app, { s }) => {
  const schema = { tags: ['branding'], querystring: Type.Object({ v: Type.Optional(Line({ maxLength: 64 })) }, { additionalProperties: false }) };
  for (const [path, field] of [['/brand/logo', 'logoDataUrl'], ['/brand/favicon', 'favicon']] as const) {
    app.get(path, { schema }, async (req, reply) => {
      const url = ((await s.settings.get()).brand ?? DEFAULT_BRAND)[field];
      if (!url) throw notFound(field === 'favicon' ? 'Favicon' : 'Logo');
      const comma = url.indexOf(',');
      reply.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox")
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', (req.query as { v?: string }).v ? 'public, max-age=31536000, immutable' : 'no-cache');
      return reply.type(url.slice(5, url.indexOf(';'))).send(Buffer.from(url.slice(comma + 1), 'base64'));
    });
  }
};
