/**
 * @module Change notifications that say what changed, and a version counter
 * to compare against.
 *
 * Every statement that changes what a gateway's snapshot holds bumps
 * `litemaas_snapshot_version` (one row; its lock orders the bumps by commit)
 * and sends one NOTIFY on litemaas_changes whose payload is JSON:
 * `{"v": version, "t": table, "r": refs}` — refs name what to reload:
 * api_keys `[[id, hash], …]` (old and new rows, so a changed hash is removed),
 * users `[user id, …]`, subscriptions `[user id, …]`, models and deployments
 * `[model id, …]`; null when the statement touched more rows than fit (a full
 * reload is due). Versions arrive consecutively: a gap means a notification
 * was missed. An api_keys update that changes nothing a gateway reads (the
 * ledger's last_used_at) neither bumps nor notifies, as before.
 */
import { sql, type Kysely } from 'kysely';

const MAX_REFS = 100; // rows (an update counts old and new)
const TABLES = ['users', 'models', 'deployments', 'subscriptions', 'api_keys'] as const;

/** The refs of one table's changed rows, from the transition table `rows`. */
const REFS: Record<(typeof TABLES)[number], string> = {
  users: `select jsonb_agg(distinct id) from rows`,
  models: `select jsonb_agg(distinct id) from rows`,
  deployments: `select jsonb_agg(distinct model_id) from rows`,
  subscriptions: `select jsonb_agg(distinct user_id) from rows`,
  api_keys: `select jsonb_agg(distinct jsonb_build_array(id, hash)) from rows`,
};

// The columns a gateway reads from api_keys (the old trigger's WHEN clause).
const KEY_COLUMNS = ['name', 'hash', 'models', 'max_budget', 'budget_period', 'soft_budget', 'rpm', 'tpm', 'max_parallel', 'expires_at', 'revoked_at', 'user_id'];

function fn(table: (typeof TABLES)[number]): string {
  const changed = table === 'api_keys'
    ? `select o.* from old_rows o join new_rows n on n.id = o.id
         where row(${KEY_COLUMNS.map((c) => `o.${c}`).join(', ')}) is distinct from row(${KEY_COLUMNS.map((c) => `n.${c}`).join(', ')})
       union all
       select n.* from old_rows o join new_rows n on n.id = o.id
         where row(${KEY_COLUMNS.map((c) => `o.${c}`).join(', ')}) is distinct from row(${KEY_COLUMNS.map((c) => `n.${c}`).join(', ')})`
    : `select * from old_rows union all select * from new_rows`;
  return `create or replace function litemaas_notify_${table}() returns trigger language plpgsql as $$
    declare n bigint; refs jsonb; v bigint;
    begin
      if tg_op = 'INSERT' then
        with rows as (select * from new_rows) select count(*), (${REFS[table]}) into n, refs from rows;
      elsif tg_op = 'DELETE' then
        with rows as (select * from old_rows) select count(*), (${REFS[table]}) into n, refs from rows;
      else
        with rows as (${changed}) select count(*), (${REFS[table]}) into n, refs from rows;
      end if;
      if n = 0 then return null; end if;
      if n > ${MAX_REFS} or octet_length(refs::text) > 7000 then refs := null; end if; -- NOTIFY payloads end at 8000 bytes
      update litemaas_snapshot_version set version = version + 1 returning version into v;
      perform pg_notify('litemaas_changes', jsonb_build_object('v', v, 't', tg_table_name, 'r', refs)::text);
      return null;
    end $$`;
}

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table litemaas_snapshot_version (id integer primary key check (id = 1), version bigint not null)`.execute(db);
  await sql`insert into litemaas_snapshot_version values (1, 0)`.execute(db);
  for (const t of ['users', 'models', 'deployments', 'subscriptions']) await sql.raw(`drop trigger if exists ${t}_changed on ${t}`).execute(db);
  await sql`drop trigger if exists api_keys_changed on api_keys`.execute(db);
  await sql`drop trigger if exists api_keys_updated on api_keys`.execute(db);
  for (const t of TABLES) {
    await sql.raw(fn(t)).execute(db);
    await sql.raw(`create trigger ${t}_inserted after insert on ${t} referencing new table as new_rows for each statement execute function litemaas_notify_${t}()`).execute(db);
    await sql.raw(`create trigger ${t}_updated after update on ${t} referencing old table as old_rows new table as new_rows for each statement execute function litemaas_notify_${t}()`).execute(db);
    await sql.raw(`create trigger ${t}_deleted after delete on ${t} referencing old table as old_rows for each statement execute function litemaas_notify_${t}()`).execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of TABLES) {
    for (const e of ['inserted', 'updated', 'deleted']) await sql.raw(`drop trigger if exists ${t}_${e} on ${t}`).execute(db);
    await sql.raw(`drop function if exists litemaas_notify_${t}()`).execute(db);
  }
  await sql`drop table if exists litemaas_snapshot_version`.execute(db);
  for (const t of ['users', 'models', 'deployments', 'subscriptions']) {
    await sql.raw(`create trigger ${t}_changed after insert or update or delete on ${t} for each statement execute function litemaas_notify_change()`).execute(db);
  }
  await sql`create trigger api_keys_changed after insert or delete on api_keys for each statement execute function litemaas_notify_change()`.execute(db);
  await sql.raw(`create trigger api_keys_updated after update on api_keys for each row
    when (row(${KEY_COLUMNS.map((c) => `old.${c}`).join(', ')}) is distinct from row(${KEY_COLUMNS.map((c) => `new.${c}`).join(', ')}))
    execute function litemaas_notify_change()`).execute(db);
}
