/**
 * @module Keeps the alert tables from growing forever: read notifications
 * after 90 days (unread ones after a year), finished deliveries and their
 * attempts after 30 days, and crossings once their period is long over
 * (never those of budgets that do not reset: they must not warn again).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

export async function pruneAlerts(db: Kysely<Database>): Promise<void> {
  await sql`delete from notifications where (read_at is not null and created_at < now() - interval '90 days') or created_at < now() - interval '365 days'`.execute(db);
  await sql`delete from notification_deliveries where status <> 'pending' and created_at < now() - interval '30 days'`.execute(db);
  await sql`delete from alert_crossings where period_start > date '1970-01-01' and period_start < current_date - 400`.execute(db);
}
