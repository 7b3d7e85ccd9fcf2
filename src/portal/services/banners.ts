/**
 * @module Banners: admin announcements (markdown, severity, optional
 * schedule, dismissible) and each person's dismissals. People read the ones
 * active now that they have not dismissed, with the HTML rendered here
 * (banner-markdown.ts), so the UI never renders markdown itself.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { BannerRow, Database } from '../../store/schema.js';
import type { Banner, BannerInput } from '../../shared/api-types.js';
import { ApiError, invalid, notFound } from '../errors.js';
import { renderBannerMarkdown } from './banner-markdown.js';

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

export function bannerView(b: BannerRow, now = Date.now()): Banner {
  const starts = b.starts_at ? new Date(b.starts_at).getTime() : null, ends = b.ends_at ? new Date(b.ends_at).getTime() : null;
  const status = starts !== null && starts > now ? 'scheduled' : ends !== null && ends <= now ? 'ended' : 'active';
  return {
    id: b.id, markdown: b.markdown, html: renderBannerMarkdown(b.markdown), severity: b.severity,
    startsAt: iso(b.starts_at), endsAt: iso(b.ends_at), dismissible: b.dismissible, status,
    createdBy: b.created_by, createdAt: iso(b.created_at)!, updatedAt: iso(b.updated_at)!,
  };
}

/** An instant the schedule can hold, or null; a 400 naming the field otherwise. */
function instant(field: 'startsAt' | 'endsAt', v: string | null | undefined): Date | null | undefined {
  if (v === undefined || v === null) return v;
  const t = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(v) || Number.isNaN(t) || t < Date.parse('2000-01-01T00:00:00Z') || t > Date.parse('9999-01-01T00:00:00Z')) {
    throw invalid(field, 'must be an ISO 8601 date or instant with a time zone, e.g. 2026-12-24T18:00:00Z');
  }
  return new Date(t);
}

export class BannerService {
  constructor(private readonly db: Kysely<Database>) {}

  async list(): Promise<Banner[]> {
    const rows = await this.db.selectFrom('banners').selectAll().orderBy('created_at', 'desc').orderBy('id').execute();
    return rows.map((r) => bannerView(r));
  }

  async get(id: string): Promise<BannerRow> {
    const b = await this.db.selectFrom('banners').selectAll().where('id', '=', id).executeTakeFirst();
    if (!b) throw notFound(`Banner '${id}'`);
    return b;
  }

  async create(input: BannerInput, by: string): Promise<Banner> {
    const starts = instant('startsAt', input.startsAt), ends = instant('endsAt', input.endsAt);
    if (starts && ends && ends <= starts) throw invalid('endsAt', 'must be after startsAt');
    const row = await this.db.insertInto('banners').values({
      id: randomUUID(), markdown: input.markdown, severity: input.severity ?? 'info', starts_at: starts ?? null, ends_at: ends ?? null,
      dismissible: input.dismissible ?? true, created_by: by,
    }).returningAll().executeTakeFirstOrThrow();
    return bannerView(row);
  }

  async update(id: string, p: Partial<BannerInput>): Promise<Banner> {
    const starts = instant('startsAt', p.startsAt), ends = instant('endsAt', p.endsAt);
    const cur = await this.get(id);
    const s = starts === undefined ? cur.starts_at : starts, e = ends === undefined ? cur.ends_at : ends;
    if (s && e && new Date(e) <= new Date(s)) throw invalid(ends !== undefined ? 'endsAt' : 'startsAt', 'endsAt must be after startsAt');
    const row = await this.db.updateTable('banners').set({
      ...(p.markdown !== undefined ? { markdown: p.markdown } : {}), ...(p.severity !== undefined ? { severity: p.severity } : {}),
      ...(starts !== undefined ? { starts_at: starts } : {}), ...(ends !== undefined ? { ends_at: ends } : {}),
      ...(p.dismissible !== undefined ? { dismissible: p.dismissible } : {}), updated_at: sql<Date>`now()`,
    }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
    return bannerView(row);
  }

  async remove(id: string): Promise<void> {
    const r = await this.db.deleteFrom('banners').where('id', '=', id).executeTakeFirst();
    if (r.numDeletedRows === 0n) throw notFound(`Banner '${id}'`);
  }

  /** The banners active now that `userId` has not dismissed, most severe first, then newest. */
  async activeFor(userId: string): Promise<Banner[]> {
    const rows = await this.db.selectFrom('banners as b').selectAll('b')
      .where((eb) => eb.or([eb('b.starts_at', 'is', null), eb('b.starts_at', '<=', sql<Date>`now()`)]))
      .where((eb) => eb.or([eb('b.ends_at', 'is', null), eb('b.ends_at', '>', sql<Date>`now()`)]))
      .where((eb) => eb.not(eb.exists(eb.selectFrom('banner_dismissals as d').select('d.banner_id').whereRef('d.banner_id', '=', 'b.id').where('d.user_id', '=', userId))))
      .orderBy(sql`case b.severity when 'danger' then 0 when 'warning' then 1 else 2 end`).orderBy('b.created_at', 'desc').orderBy('b.id').execute();
    return rows.map((r) => bannerView(r));
  }

  /** Remembers that `userId` dismissed the banner (again is harmless); a banner that is not dismissible refuses. */
  async dismiss(id: string, userId: string): Promise<void> {
    const b = await this.get(id);
    if (!b.dismissible) throw new ApiError('conflict', 'This banner cannot be dismissed.');
    await this.db.insertInto('banner_dismissals').values({ banner_id: id, user_id: userId })
      .onConflict((oc) => oc.columns(['user_id', 'banner_id']).doNothing()).execute();
  }
}
