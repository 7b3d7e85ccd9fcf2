/**
 * @module usage_dead_letters: usage events PostgreSQL refused for a reason of
 * their own (ledger/writer.ts isolates them by bisection), kept with the
 * reason so an operator can look, fix and re-insert, instead of retrying them
 * forever in front of everyone else's. `event` is JSON text, not jsonb: the
 * escaped text of an event is storable when the event's values may not be.
 * `event_id` is unique so a replayed journal does not dead-letter twice.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql.raw(`create table usage_dead_letters (
    id bigserial primary key,
    at timestamptz not null default now(),
    event_id text unique,
    code text,
    reason text not null,
    event text not null
  )`).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql.raw('drop table if exists usage_dead_letters').execute(db);
}
