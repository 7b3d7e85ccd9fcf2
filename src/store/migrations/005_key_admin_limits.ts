/**
 * @module Which limits on a key an administrator set (`admin_limits`), so
 * that its owner may only tighten them (src/portal/services/key-policy.ts).
 *
 * Keys that exist already get theirs from the audit log: every
 * `api_key.create` / `api_key.update` by someone other than the key's owner
 * was an administrator's (owners reach only their own keys), and its details
 * are the body that was sent. Folded in order — a value sets a limit, null
 * lifts it — that is what the admins set. Written out here rather than
 * imported, so this migration keeps meaning what it meant when it ran.
 */
import { sql, type Kysely } from 'kysely';

// Set by a value, lifted by null; the budget's period goes with the budget (below).
const PLAIN = ['rpm', 'tpm', 'maxParallel', 'expiresAt'] as const;

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table api_keys add column admin_limits jsonb not null default '{}'::jsonb`.execute(db);

  const keys = await sql<{ id: string; budget_period: string; owner: string }>`
    select k.id, k.budget_period, u.username as owner from api_keys k join users u on u.id = k.user_id`.execute(db);
  if (keys.rows.length === 0) return;
  const byId = new Map(keys.rows.map((k) => [k.id, k]));
  const acts = await sql<{ target: string; actor: string; details: unknown }>`
    select target, actor, details from audit_log
    where action in ('api_key.create', 'api_key.update') and target is not null order by id`.execute(db);

  const limits = new Map<string, Record<string, unknown>>();
  for (const a of acts.rows) {
    const key = byId.get(a.target);
    if (!key || a.actor === key.owner) continue;
    const d = (typeof a.details === 'string' ? JSON.parse(a.details) : a.details) as Record<string, unknown> | null;
    if (!d || typeof d !== 'object') continue;
    const l = limits.get(key.id) ?? {};
    if (d.maxBudget === null) { delete l.maxBudget; delete l.budgetPeriod; }
    else if (d.maxBudget !== undefined) l.maxBudget = d.maxBudget;
    if (l.maxBudget !== undefined && (d.maxBudget !== undefined || d.budgetPeriod !== undefined)) {
      l.budgetPeriod = typeof d.budgetPeriod === 'string' ? d.budgetPeriod : key.budget_period;
    }
    for (const f of PLAIN) {
      if (d[f] === null) delete l[f]; else if (d[f] !== undefined) l[f] = d[f];
    }
    limits.set(key.id, l);
  }
  for (const [id, l] of limits) {
    if (Object.keys(l).length > 0) await sql`update api_keys set admin_limits = ${JSON.stringify(l)}::jsonb where id = ${id}`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table api_keys drop column if exists admin_limits`.execute(db);
}
