/**
 * @module Per-model limits on a key: `{ "<model id>": { rpm, tpm, maxBudget, budgetPeriod } }`,
 * each checked — across replicas — besides the key's own limits (src/gateway/model-limits.ts).
 * The change triggers of migration 007 do not watch this column; the portal announces a change
 * of it itself (src/store/changes.ts), as it does an admin's spend reset.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table api_keys add column model_limits jsonb not null default '{}'::jsonb`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table api_keys drop column if exists model_limits`.execute(db);
}
