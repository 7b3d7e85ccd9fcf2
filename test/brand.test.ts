/**
 * Branding: an admin sets the product name, colour, logo and favicon; the
 * login page (signed out) reads them from /config and loads the images from
 * their URLs; hostile or oversized images are refused naming the field, and
 * an SVG is served so that nothing in it can run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from './helpers/system.js';
import { checkImage, unsafeSvg } from '../src/portal/services/brand.js';

const svg = (body: string) => `data:image/svg+xml;base64,${Buffer.from(body).toString('base64')}`;
const LOGO = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><defs><linearGradient id="g"><stop offset="0" stop-color="#c00"/></linearGradient></defs><rect width="10" height="10" fill="url(#g)"/><text x="1" y="8">Acme</text></svg>';
// The 8-byte PNG signature and an IHDR chunk start: enough for the magic-number check.
const PNG = 'data:image/png;base64,' + Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]).toString('base64');

describe('SVG logos', () => {
  it('accept drawings and refuse anything that runs, loads or embeds', () => {
    expect(unsafeSvg(LOGO)).toBeNull();
    expect(unsafeSvg('<?xml version="1.0"?>\n<svg><use href="#a"/><path id="a" d="M0 0"/></svg>')).toBeNull();
    const hostile = [
      '<svg><script>alert(1)</script></svg>',
      '<svg onload="alert(1)"></svg>',
      '<svg/onload=alert(1)>',
      '<svg><rect width="1" height="1" ONCLICK="x()"/></svg>',
      '<svg><a href="javascript:alert(1)"><text>x</text></a></svg>',
      '<svg><use xlink:href="https://evil.example/x.svg#a"/></svg>',
      '<svg><image href="https://evil.example/track.png"/></svg>',
      '<svg><foreignObject><iframe src="https://evil.example"></iframe></foreignObject></svg>',
      '<svg><style>@import url(https://evil.example/x.css);</style></svg>',
      '<svg><rect style="fill:url(https://evil.example/p)"/></svg>',
      '<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>',
      '<html><svg></svg></html>',
      '<svg><set attributeName="href" to="javascript:alert(1)"/></svg>',
      '<svg><animate attributeName="onload"/></svg>',
      '<svg><use href="&#106;avascript:alert(1)"/></svg>',
    ];
    for (const h of hostile) expect(unsafeSvg(h), h).not.toBeNull();
  });

  it('check images by their bytes and size, naming the field', () => {
    expect(checkImage('logoDataUrl', PNG).type).toBe('image/png');
    expect(() => checkImage('logoDataUrl', 'data:image/png;base64,' + Buffer.from('<svg onload=x>').toString('base64'))).toThrow(/^brand.logoDataUrl: is labelled image\/png but its bytes are not/);
    expect(() => checkImage('logoDataUrl', 'data:image/gif;base64,R0lGODlh')).toThrow(/^brand.logoDataUrl: must be a base64 data URL/);
    expect(() => checkImage('logoDataUrl', 'https://example.com/logo.png')).toThrow(/^brand.logoDataUrl:/);
    expect(() => checkImage('favicon', svg('<svg><script/></svg>'))).toThrow(/^brand.favicon: SVG must not contain <script>/);
    const big = 'data:image/jpeg;base64,' + Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(201 * 1024)]).toString('base64');
    expect(() => checkImage('logoDataUrl', big)).toThrow(/at most 200 KB/);
  });
});

describe('brand settings', () => {
  let sys: System;
  beforeAll(async () => { sys = await startSystem('postgres'); }, 60_000);
  afterAll(async () => { await sys?.close(); });

  it('show on the signed-out login page, images by URL, served inert', async () => {
    const before = await (await fetch(`${sys.url}/api/v1/config`)).json();
    expect(before.brand).toEqual({ productName: 'LiteMaaS', primaryColor: '#0066cc', logoUrl: null, faviconUrl: null });
    expect((await fetch(`${sys.url}/api/v1/brand/logo`)).status).toBe(404);

    const put = await sys.admin('PUT', '/admin/settings', { brand: { productName: 'Acme AI', primaryColor: '#C0FFEE', logoDataUrl: svg(LOGO), favicon: PNG } });
    expect(put.status).toBe(200);
    expect(put.body.brand).toMatchObject({ productName: 'Acme AI', primaryColor: '#c0ffee', logoDataUrl: svg(LOGO), favicon: PNG });
    const cfg = await (await fetch(`${sys.url}/api/v1/config`)).json();
    expect(cfg.brand).toMatchObject({ productName: 'Acme AI', primaryColor: '#c0ffee' });
    expect(cfg.brand.logoUrl).toMatch(/^\/api\/v1\/brand\/logo\?v=[0-9a-f]{12}$/);
    const logo = await fetch(sys.url + cfg.brand.logoUrl);
    expect(logo.headers.get('content-type')).toBe('image/svg+xml');
    expect(logo.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(logo.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await logo.text()).toBe(LOGO);
    const fav = await fetch(sys.url + cfg.brand.faviconUrl);
    expect(fav.headers.get('content-type')).toBe('image/png');

    // A later PUT of another section keeps the brand; a null clears one image.
    await sys.admin('PUT', '/admin/settings', { currency: 'EUR' });
    const cleared = await sys.admin('PUT', '/admin/settings', { brand: { favicon: null } });
    expect(cleared.body.brand).toMatchObject({ productName: 'Acme AI', logoDataUrl: svg(LOGO), favicon: null });

    // The audit log records the change without the image bytes.
    const log = await sys.admin('GET', '/admin/audit?action=settings.update');
    expect(JSON.stringify(log.body)).toMatch(/"logoDataUrl":"image\/svg\+xml, 1 KB"/);
    expect(JSON.stringify(log.body)).not.toContain(svg(LOGO).slice(30, 80));
  });

  it('refuses bad brands with a 400 naming the field, storing nothing', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ primaryColor: 'red' }, 'brand.primaryColor'],
      [{ primaryColor: '#12345g' }, 'brand.primaryColor'],
      [{ productName: '' }, 'productName'],
      [{ productName: 'x'.repeat(61) }, 'productName'],
      [{ logoDataUrl: svg('<svg onload="alert(1)"/>') }, 'brand.logoDataUrl'],
      [{ favicon: 'data:text/html;base64,PHNjcmlwdD4=' }, 'brand.favicon'],
      [{ logoDataUrl: 'data:image/png;base64,%%%' }, 'brand.logoDataUrl'],
    ];
    for (const [brand, field] of cases) {
      const r = await sys.admin('PUT', '/admin/settings', { brand });
      expect(r.status, JSON.stringify(brand)).toBe(400);
      expect(r.body.error.field ?? r.body.error.message, JSON.stringify(brand)).toContain(field);
    }
    const cfg = await (await fetch(`${sys.url}/api/v1/config`)).json();
    expect(cfg.brand.productName).toBe('Acme AI');
  });
});
