/**
 * safeReturnTo: the sign-in's return path is read as the browser will read
 * it (WHATWG URL) and kept only when it stays on the site — for the known
 * tricks and for every string fast-check makes up.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { safeReturnTo } from '../src/portal/return-to.js';

const SITE = 'https://portal.example.com';
const origin = new URL(SITE).origin;

/** What the browser does with the Location header we send: it must land on the site, at exactly this path. */
function staysOnSite(r: string): void {
  expect(typeof r).toBe('string');
  expect(r.startsWith('/')).toBe(true);
  expect(r.startsWith('//')).toBe(false);
  // Only printable ASCII goes into the Location header (a backslash may stay in the query, where it is data).
  expect(r).not.toMatch(/[\u0000-\u0020\u007f-\uffff]/);
  const u = new URL(r, SITE);
  expect(u.origin).toBe(origin);
  expect(u.pathname).not.toContain('\\');
  expect(u.pathname + u.search + u.hash).toBe(r);
  expect(safeReturnTo(r, SITE)).toBe(r);
}

describe('safeReturnTo', () => {
  it.each([
    '//evil.example', '//evil.example/x', '/\\evil.example', '\\\\evil.example', '/\t/evil.example', '/\n/evil.example',
    '\t//evil.example', ' //evil.example', '/.//evil.example', '/x/..//evil.example', 'https://evil.example', 'http:evil.example',
    'javascript:alert(1)', 'data:text/html,<script>1</script>', 'https://portal.example.com@evil.example/', '///evil.example',
    'HTTPS://EVIL.EXAMPLE', '/\\/evil.example', 'http://portal.example.com/x',
  ])('sends %j home', (v) => {
    expect(safeReturnTo(v, SITE)).toBe('/');
  });

  it.each([
    ['/api-keys', '/api-keys'],
    ['/usage?from=2026-01-01&to=2026-01-31#top', '/usage?from=2026-01-01&to=2026-01-31#top'],
    ['/%09/evil.example/x', '/%09/evil.example/x'],
    ['/%2F%2Fevil.example', '/%2F%2Fevil.example'],
    ['/a b', '/a%20b'],
    ['https://portal.example.com/models', '/models'],
    ['/models/../usage', '/usage'],
    ['usage', '/usage'],
    // Same scheme as the site and no `//`: the URL parser reads a path on this site, and so will the browser.
    ['https:/evil.example', '/evil.example'],
  ])('keeps %j on the site as %j', (v, want) => {
    expect(safeReturnTo(v, SITE)).toBe(want);
    staysOnSite(want);
  });

  it('answers / for anything that is not a string, and for a site that is not http(s)', () => {
    for (const v of [undefined, null, 1, {}, ['/x'], '']) expect(safeReturnTo(v, SITE)).toBe('/');
    expect(safeReturnTo('/x', 'not a url')).toBe('/');
    expect(safeReturnTo('data:x', 'data:y')).toBe('/');
  });

  it('gives a same-origin path for every string (generated)', () => {
    const tricky = fc.constantFrom('/', '//', '\\', '/\\', '\t', '\n', '\r', ' ', '%2F', '%5C', '%09', '.', '..', '@', ':', '?', '#',
      'evil.example', 'https:', 'http://', 'portal.example.com', '\u0000', '\u3002', '\uff0f', '\ud800');
    const pieces = fc.array(fc.oneof(tricky, fc.string(), fc.string({ unit: 'binary' })), { maxLength: 8 }).map((a) => a.join(''));
    fc.assert(fc.property(fc.oneof(pieces, fc.webUrl(), fc.string({ unit: 'grapheme' })), (v) => {
      staysOnSite(safeReturnTo(v, SITE));
    }), { seed: 20260301, numRuns: 3000 });
  });
});
