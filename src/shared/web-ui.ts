/**
 * @module A built single-page UI (the portal's, Canopy's) served by the
 * server that owns it: hashed assets cached for good, index.html always
 * revalidated, and every page-like GET that no route answers given
 * index.html, so client-side routes survive a reload. Other misses go to
 * the owner's own 404.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';

/** `dist/<name>` with its index.html, from the build (dist/src/shared) or from the sources (tests); undefined when not built. */
export function builtUi(name: string): string | undefined {
  return [new URL(`../../${name}`, import.meta.url), new URL(`../../dist/${name}`, import.meta.url)]
    .map((u) => fileURLToPath(u)).find((d) => existsSync(join(d, 'index.html')));
}

export interface UiOptions {
  dir: string;
  /** Paths that belong to an API and must never be answered with the page. */
  isApi?: (path: string) => boolean;
  notFound: (req: FastifyRequest, reply: FastifyReply) => unknown;
}

/** Serves the UI and installs the server's not-found handler (so call it once, after the routes). */
export async function serveUi(app: FastifyInstance, o: UiOptions): Promise<void> {
  const page = (reply: FastifyReply) => reply.header('cache-control', 'no-cache').sendFile('index.html', o.dir);
  await app.register(fastifyStatic, {
    root: o.dir, wildcard: true, index: false,
    setHeaders: (res, path) => res.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'),
  });
  // The static plugin refuses directories (no listing); `/` is the app.
  app.get('/', { schema: { hide: true } }, (_req, reply) => page(reply));
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    const pageLike = (req.method === 'GET' || req.method === 'HEAD') && !/\.[a-z0-9]+$/i.test(path);
    return pageLike && !o.isApi?.(path) ? page(reply) : o.notFound(req, reply);
  });
}
