/**
 * @module Branding: the product name, primary colour, logo and favicon an
 * admin sets (settings row `brand`). Images arrive as data URLs and are
 * checked by their bytes, not their label: PNG, JPEG, ICO (favicon) by magic
 * number; SVG by an allowlist of drawing elements with no script, event
 * handler, foreign object, entity or external reference (an href or url()
 * must point inside the document, `#id`). They are served back from
 * `/api/v1/brand/logo|favicon` under a CSP that forbids everything, so even an
 * SVG opened on its own runs nothing; /config carries only their URLs.
 */
import { createHash } from 'node:crypto';
import type { Brand, BrandInput, PublicBrand } from '../../shared/api-types.js';
import { invalid } from '../errors.js';

export const MAX_IMAGE_BYTES = 200 * 1024;
export const DEFAULT_BRAND: Brand = { productName: 'LiteMaaS', primaryColor: '#0066cc', logoDataUrl: null, favicon: null };

const TYPES = { logoDataUrl: ['image/png', 'image/jpeg', 'image/svg+xml'], favicon: ['image/png', 'image/svg+xml', 'image/x-icon', 'image/jpeg'] } as const;
const DATA_URL = /^data:(image\/(?:png|jpeg|svg\+xml|x-icon));base64,([A-Za-z0-9+/]*={0,2})$/;

/** Elements an SVG logo may use: shapes, text, gradients, clipping, filters. Nothing that fetches, embeds or runs. */
const SVG_ELEMENTS = new Set([
  'svg', 'g', 'path', 'rect', 'circle', 'ellipse', 'line', 'polyline', 'polygon', 'text', 'tspan', 'textpath', 'defs', 'title', 'desc',
  'lineargradient', 'radialgradient', 'stop', 'clippath', 'mask', 'pattern', 'symbol', 'use', 'marker', 'metadata', 'filter',
  'fegaussianblur', 'feoffset', 'feblend', 'fecolormatrix', 'fecomposite', 'feflood', 'femerge', 'femergenode', 'fedropshadow', 'style',
]);

/** Why an SVG document is refused, or null. */
export function unsafeSvg(text: string): string | null {
  if (!/^\s*(<\?xml[^>]*\?>\s*)?(<!--[\s\S]*?-->\s*)*<svg[\s>]/i.test(text)) return 'is not an SVG document (it must start with <svg)';
  if (/<!(DOCTYPE|ENTITY)/i.test(text)) return 'must not declare a DOCTYPE or entities';
  if (/<!\[CDATA\[/i.test(text)) return 'must not contain CDATA sections';
  for (const m of text.matchAll(/<\s*([A-Za-z][\w:.-]*)/g)) {
    const name = m[1]!.toLowerCase().replace(/^svg:/, '');
    if (!SVG_ELEMENTS.has(name)) return `must not contain <${m[1]}> (allowed: shapes, text, gradients, clipping, filters)`;
  }
  // Attribute names as they appear inside tags: on* event handlers.
  for (const tag of text.matchAll(/<[^>]*>/g)) {
    if (/[\s/"']on[a-z]+\s*=/i.test(tag[0])) return 'must not have event handler attributes (on…)';
  }
  if (/javascript:|vbscript:|data:/i.test(text)) return 'must not contain javascript:, vbscript: or data: URLs';
  for (const m of text.matchAll(/(?:^|[\s"'])(?:xlink:)?href\s*=\s*(["'])(.*?)\1/gis)) if (!m[2]!.trim().startsWith('#')) return 'may link only inside itself (href="#id")';
  for (const m of text.matchAll(/url\(\s*(["']?)(.*?)\1\s*\)/gis)) if (!m[2]!.trim().startsWith('#')) return 'may use url() only inside itself (url(#id))';
  if (/@import/i.test(text)) return 'must not @import style sheets';
  return null;
}

const MAGIC: Record<string, (b: Buffer) => boolean> = {
  'image/png': (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  'image/jpeg': (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  'image/x-icon': (b) => b[0] === 0 && b[1] === 0 && b[2] === 1 && b[3] === 0,
};

/** Checks an image data URL for `field`; throws a 400 naming it. */
export function checkImage(field: 'logoDataUrl' | 'favicon', url: string): { type: string; bytes: Buffer } {
  const m = DATA_URL.exec(url);
  const allowed = TYPES[field];
  if (!m || !(allowed as readonly string[]).includes(m[1]!)) throw invalid(`brand.${field}`, `must be a base64 data URL of ${allowed.join(', ')}`);
  if (m[2]!.length % 4 !== 0) throw invalid(`brand.${field}`, 'is not valid base64');
  const bytes = Buffer.from(m[2]!, 'base64');
  if (bytes.length === 0) throw invalid(`brand.${field}`, 'is empty');
  if (bytes.length > MAX_IMAGE_BYTES) throw invalid(`brand.${field}`, `must be at most ${MAX_IMAGE_BYTES / 1024} KB (it is ${Math.ceil(bytes.length / 1024)} KB)`);
  const type = m[1]!;
  if (type === 'image/svg+xml') {
    const why = unsafeSvg(bytes.toString('utf8'));
    if (why) throw invalid(`brand.${field}`, `SVG ${why}`);
  } else if (!MAGIC[type]!(bytes)) throw invalid(`brand.${field}`, `is labelled ${type} but its bytes are not`);
  return { type, bytes };
}

/** The stored brand after `input` (fields left out keep their value; null clears an image). */
export function mergeBrand(cur: Brand, input: BrandInput): Brand {
  const next: Brand = { ...cur };
  if (input.productName !== undefined) {
    const name = input.productName.trim();
    if (name.length < 1 || name.length > 60) throw invalid('brand.productName', 'must be 1 to 60 characters');
    next.productName = name;
  }
  if (input.primaryColor !== undefined) {
    if (!/^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(input.primaryColor)) throw invalid('brand.primaryColor', 'must be a hex colour #rgb or #rrggbb');
    next.primaryColor = input.primaryColor.toLowerCase();
  }
  for (const f of ['logoDataUrl', 'favicon'] as const) {
    const v = input[f];
    if (v === undefined) continue;
    if (v !== null) checkImage(f, v);
    next[f] = v;
  }
  return next;
}

/** The stored value, defensively: a row written by hand or an older version falls back field by field. */
export function readBrand(v: unknown): Brand {
  const b = (v && typeof v === 'object' ? v : {}) as Partial<Brand>;
  return {
    productName: typeof b.productName === 'string' && b.productName ? b.productName : DEFAULT_BRAND.productName,
    primaryColor: typeof b.primaryColor === 'string' ? b.primaryColor : DEFAULT_BRAND.primaryColor,
    logoDataUrl: typeof b.logoDataUrl === 'string' ? b.logoDataUrl : null,
    favicon: typeof b.favicon === 'string' ? b.favicon : null,
  };
}

const version = (url: string) => createHash('sha256').update(url).digest('hex').slice(0, 12);

/** What /config shows anyone, signed in or not: the images as URLs (versioned, so they can be cached for good). */
export function publicBrand(b: Brand): PublicBrand {
  return {
    productName: b.productName, primaryColor: b.primaryColor,
    logoUrl: b.logoDataUrl ? `/api/v1/brand/logo?v=${version(b.logoDataUrl)}` : null,
    faviconUrl: b.favicon ? `/api/v1/brand/favicon?v=${version(b.favicon)}` : null,
  };
}

/** The audit's view of a brand change: images as their type and size, not their bytes. */
export function auditBrand(b: BrandInput): Record<string, unknown> {
  const img = (v: string | null | undefined) => (v === undefined ? undefined : v === null ? null : `${v.slice(5, v.indexOf(';'))}, ${Math.ceil((v.length * 3) / 4 / 1024)} KB`);
  return { ...b, logoDataUrl: img(b.logoDataUrl), favicon: img(b.favicon) };
}
