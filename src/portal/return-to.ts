/**
 * @module Where to send the browser after sign-in. `returnTo` comes from a
 * link anyone can craft, so it is read the way the browser will read the
 * Location header — with the WHATWG URL parser, against the site's own
 * origin — and kept only when it stays on this origin. A prefix check is
 * not enough: `/\evil.example`, `/<tab>/evil.example` and `/.//evil.example`
 * all start with one slash and all leave the site.
 */

/** A path (with query and fragment) on `site`'s origin: `v` when it stays there, else `/`. */
export function safeReturnTo(v: unknown, site: string): string {
  if (typeof v !== 'string' || v === '') return '/';
  let base: URL, u: URL;
  try {
    base = new URL(site);
    u = new URL(v, base.origin);
  } catch { return '/'; }
  // An opaque origin ('null', e.g. data: or a non-http site) equals every other opaque origin: never trust it.
  if (base.origin === 'null' || u.origin !== base.origin) return '/';
  const path = u.pathname + u.search + u.hash;
  // A path that serializes to `//x` (from `/.//x`) would be read as a new host when sent back as a Location.
  return path.startsWith('/') && !path.startsWith('//') ? path : '/';
}
