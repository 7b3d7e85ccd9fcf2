/**
 * Banners: an admin's announcement reaches every signed-in person while its
 * schedule says so, rendered from markdown so that nothing hostile in it can
 * run or load; a person who dismisses one stops seeing it, others still do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provision, startSystem, type System } from './helpers/system.js';
import { Session } from './helpers/session.js';
import { renderBannerMarkdown } from '../src/portal/services/banner-markdown.js';

describe('banner markdown', () => {
  it('renders formatting and safe links, and leaves hostile input inert', () => {
    expect(renderBannerMarkdown('**Maintenance** tonight: see [status](https://status.example.com).'))
      .toBe('<p><strong>Maintenance</strong> tonight: see <a href="https://status.example.com" rel="noopener noreferrer" target="_blank">status</a>.</p>\n');
    expect(renderBannerMarkdown('[mail us](mailto:ops@example.com)')).toContain('<a href="mailto:ops@example.com" rel="noopener noreferrer" target="_blank">');
    const hostile = [
      '<script>alert(1)</script>',
      '<img src=x onerror=alert(1)>',
      '![x](https://example.com/x.png" onerror="alert(1))',
      '![tracker](https://evil.example/pixel.png)',
      '[click](javascript:alert(1))',
      '[click](JaVaScRiPt:alert(1))',
      '[click](  javascript:alert(1))',
      '[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
      '[click](vbscript:msgbox)',
      '<a href="https://example.com" onclick="alert(1)">x</a>',
      '<iframe src="https://evil.example"></iframe>',
      '[x](https://example.com "a\\" onmouseover=\\"alert(1)")',
      '<svg onload=alert(1)>',
      '<style>body{display:none}</style>',
    ];
    for (const h of hostile) {
      const html = renderBannerMarkdown(h);
      // No element but p/a/strong/em/code, no event handler attribute, no script URL, no image.
      const tags = [...html.matchAll(/<\s*([a-z0-9]+)/gi)].map((m) => m[1]!.toLowerCase());
      expect(tags.every((t) => ['p', 'a', 'strong', 'em', 'code'].includes(t)), `${h} → ${html}`).toBe(true);
      // Attribute values are quoted with every inner quote escaped, so the names read off reliably: no handler among them.
      for (const tag of html.matchAll(/<[a-z][^>]*>/gi)) {
        const names = [...tag[0].matchAll(/\s([\w-]+)="[^"]*"/g)].map((m) => m[1]);
        expect(names.every((n) => ['href', 'rel', 'target', 'title'].includes(n!)), `${h} → ${tag[0]}`).toBe(true);
        expect(tag[0].replace(/\s[\w-]+="[^"]*"/g, ''), `${h} → ${tag[0]}`).toMatch(/^<[a-z]+\s*>$/);
      }
      expect(html, h).not.toMatch(/href="(?!https?:|mailto:)/i);
      expect(html, h).not.toMatch(/<img|<script|<iframe|<svg|<style/i);
    }
  });
});

describe('banners', () => {
  let sys: System;
  let ann: Session, bob: Session;
  beforeAll(async () => {
    sys = await startSystem('postgres');
    for (const u of ['ann', 'bob']) expect((await sys.admin('POST', '/admin/users', { username: u, password: 'correct horse battery' })).status).toBe(201);
    ann = await Session.signIn(sys.url, 'ann', 'correct horse battery');
    bob = await Session.signIn(sys.url, 'bob', 'correct horse battery');
  }, 60_000);
  afterAll(async () => { await sys?.close(); });

  const hour = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString();

  it('shows what is active now, most severe first, rendered safely', async () => {
    const info = await sys.admin('POST', '/admin/banners', { markdown: 'New model: **Granite**. <script>alert(1)</script> [docs](javascript:alert(1))' });
    expect(info.status).toBe(201);
    expect(info.body).toMatchObject({ severity: 'info', dismissible: true, status: 'active', startsAt: null, endsAt: null });
    const danger = await sys.admin('POST', '/admin/banners', { markdown: 'Outage until [further notice](https://status.example.com)', severity: 'danger', dismissible: false, endsAt: hour(2) });
    const later = await sys.admin('POST', '/admin/banners', { markdown: 'Maintenance tomorrow', severity: 'warning', startsAt: hour(20), endsAt: hour(22) });
    const over = await sys.admin('POST', '/admin/banners', { markdown: 'Yesterday', startsAt: hour(-30), endsAt: hour(-1) });
    expect(later.body.status).toBe('scheduled');
    expect(over.body.status).toBe('ended');

    const r = await ann.call('GET', '/banners');
    expect(r.status).toBe(200);
    expect(r.body.banners.map((b: { id: string }) => b.id)).toEqual([danger.body.id, info.body.id]);
    const shown = r.body.banners[1];
    expect(shown.html).toBe('<p>New model: <strong>Granite</strong>. &lt;script&gt;alert(1)&lt;/script&gt; [docs](javascript:alert(1))</p>\n');
    expect(r.body.banners[0].html).toContain('rel="noopener noreferrer"');

    // Admins see every banner with its state; the schedule moves it in.
    const all = await sys.admin('GET', '/admin/banners');
    expect(all.body.banners.map((b: { status: string }) => b.status).sort()).toEqual(['active', 'active', 'ended', 'scheduled']);
    expect((await sys.admin('PATCH', `/admin/banners/${later.body.id}`, { startsAt: hour(-1) })).body.status).toBe('active');
    expect((await ann.call('GET', '/banners')).body.banners.map((b: { id: string }) => b.id)).toEqual([danger.body.id, later.body.id, info.body.id]);
  });

  it('forgets a dismissed banner for that person only, and refuses to dismiss what must stay', async () => {
    const b = (await ann.call('GET', '/banners')).body.banners as Array<{ id: string; dismissible: boolean }>;
    const dismissible = b.find((x) => x.dismissible)!, fixed = b.find((x) => !x.dismissible)!;
    expect((await ann.call('POST', `/banners/${dismissible.id}/dismiss`)).status).toBe(204);
    expect((await ann.call('POST', `/banners/${dismissible.id}/dismiss`)).status).toBe(204); // again: harmless
    expect((await ann.call('GET', '/banners')).body.banners.map((x: { id: string }) => x.id)).not.toContain(dismissible.id);
    expect((await bob.call('GET', '/banners')).body.banners.map((x: { id: string }) => x.id)).toContain(dismissible.id);
    // Remembered across sign-ins.
    const again = await Session.signIn(sys.url, 'ann', 'correct horse battery');
    expect((await again.call('GET', '/banners')).body.banners.map((x: { id: string }) => x.id)).not.toContain(dismissible.id);
    expect((await ann.call('POST', `/banners/${fixed.id}/dismiss`)).status).toBe(409);
    expect((await ann.call('POST', '/banners/no-such-banner/dismiss')).status).toBe(404);
    // The admin token acts for no person: it has no banners of its own.
    expect((await sys.admin('GET', '/banners')).status).toBe(403);
  });

  it('lets only admins change banners, audits it, and names the field of a bad one', async () => {
    expect((await ann.call('POST', '/admin/banners', { markdown: 'hi' })).status).toBe(403);
    const b = await sys.admin('POST', '/admin/banners', { markdown: 'temp', severity: 'warning' });
    expect((await sys.admin('PATCH', `/admin/banners/${b.body.id}`, { markdown: 'edited', severity: 'info' })).body).toMatchObject({ markdown: 'edited', html: '<p>edited</p>\n', severity: 'info' });
    expect((await sys.admin('DELETE', `/admin/banners/${b.body.id}`)).status).toBe(204);
    expect((await sys.admin('DELETE', `/admin/banners/${b.body.id}`)).status).toBe(404);
    const log = JSON.stringify((await sys.admin('GET', '/admin/audit')).body);
    for (const a of ['banner.create', 'banner.update', 'banner.delete']) expect(log).toContain(a);
    const cases: Array<[unknown, string]> = [
      [{ markdown: '' }, 'markdown'],
      [{ markdown: 'x', severity: 'critical' }, 'severity'],
      [{ markdown: 'x', startsAt: 'tomorrow' }, 'startsAt'],
      [{ markdown: 'x', startsAt: hour(2), endsAt: hour(1) }, 'endsAt'],
      [{ markdown: 'x', dismissible: 'yes' }, 'dismissible'],
      [{ markdown: 'x'.repeat(5001) }, 'markdown'],
    ];
    for (const [body, field] of cases) {
      const r = await sys.admin('POST', '/admin/banners', body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(r.body.error.field, JSON.stringify(body).slice(0, 80)).toBe(field);
    }
    expect((await sys.admin('PATCH', `/admin/banners/none`, { endsAt: 'soon' })).body.error.field).toBe('endsAt');
  });

  it('shows a person the budget card of their own key only', async () => {
    const p = await provision(sys, { username: 'carl', key: { name: 'mine', maxBudget: 5 } });
    const own = await sys.admin('GET', `/admin/api-keys/${p.keyId}/budget`);
    expect(own.body).toMatchObject({ remaining: '5.000000000000', limitedBy: 'key', cannotCoverTypical: false, advice: null });
    expect((await ann.call('GET', `/api-keys/${p.keyId}/budget`)).status).toBe(404);
  });
});
