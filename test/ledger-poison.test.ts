/**
 * One bad request must never stop metering for every tenant. A client-chosen
 * string PostgreSQL cannot store (NUL, a lone surrogate, controls, 10 kB) is
 * cleaned before it is journaled; an event the database still refuses for a
 * reason of its own is isolated by bisection and dead-lettered (table, then
 * an owner-only file), also when a restarted process replays it from the
 * journal; only an unreachable database makes events wait. On real PostgreSQL
 * and on PGlite; generated inputs with fast-check (fixed seed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Kysely, PostgresDialect, sql, type KyselyPlugin, type RootOperationNode } from 'kysely';
import pg from 'pg';
import { sanitize, MAX_ID_LENGTH } from '../src/shared/sanitize.js';
import { INT4_MAX, type UsageEvent } from '../src/ledger/event.js';
import { Ledger } from '../src/ledger/ledger.js';
import { DEAD_LETTER_FILE, Journal } from '../src/ledger/journal.js';
import { isTransient, writeUsage, type DeadLetter } from '../src/ledger/writer.js';
import { openStore, type Store } from '../src/store/db.js';
import type { Database } from '../src/store/schema.js';
import { freshDatabase } from './helpers/pg.js';
import { MODEL, provision, settle, startSystem, type System } from './helpers/system.js';

const tmp = mkdtempSync(join(tmpdir(), 'litemaas-poison-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SEGMENT = /^\d+\.ndjson$/;
const DIRTY = /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** An event the test's CHECK constraint refuses: a non-connectivity failure no cleaning can prevent. */
const POISON = 'test-poison';
const AT = '2026-11-20T10:00:00.000Z';

function event(over: Partial<UsageEvent> = {}): UsageEvent {
  return {
    id: randomUUID(), at: AT, keyId: 'k1', userId: 'u1', modelId: 'm1', deploymentId: null, status: 200,
    promptTokens: 7, completionTokens: 3, cost: '0.000003000000', latencyMs: 5, ttftMs: 2, stream: false, estimated: false, errorCode: null, ...over,
  };
}

/** What an int4 column must hold for a count the caller passed (the ledger's documented clamp). */
function clampCount(n: unknown): number {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return 0;
  return Math.min(Math.round(n), INT4_MAX);
}

const segments = (dir: string) => readdirSync(dir).filter((f) => SEGMENT.test(f));
const mode = (path: string) => statSync(path).mode & 0o777;

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { t = setTimeout(() => reject(new Error(`${what} stuck for ${ms} ms`)), ms); });
  try { return await Promise.race([p, timeout]); } finally { clearTimeout(t); }
}

describe('sanitize', () => {
  it('returns a clean string itself, and cleans and bounds the rest', () => {
    const clean = 'Llama-3.2-3B-Instruct-FP8 ünïcödé 😀';
    expect(sanitize(clean)).toBe(clean);
    expect(sanitize('a\u0000b\u0001c\u001b[31md\u007fe\tf\ng')).toBe('abc[31mdefg');
    expect(sanitize('x\ud800y\udc00z')).toBe('x\ufffdy\ufffdz');
    expect(sanitize('\ud83d\ude00')).toBe('\ud83d\ude00'); // a pair is kept
    expect(sanitize('x'.repeat(10_000))).toHaveLength(MAX_ID_LENGTH);
    expect(sanitize('x'.repeat(199) + '\ud83d\ude00')).toBe('x'.repeat(199)); // never half a pair
    expect(sanitize('abc', 2)).toBe('ab');
  });

  it('always yields a bounded, storable, stable string (generated)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 600 }), fc.integer({ min: 1, max: 300 }), (s, max) => {
      const out = sanitize(s, max);
      expect(out.length).toBeLessThanOrEqual(max);
      expect(DIRTY.test(out)).toBe(false);
      expect(sanitize(out, max)).toBe(out);
    }), { seed: 42, numRuns: 500 });
  });
});

describe('failure classification', () => {
  const err = (code: string | undefined, message = 'x') => Object.assign(new Error(message), code ? { code } : {});
  it('retries connectivity and a busy server, bisects what is the batch\'s fault', () => {
    for (const e of [err('ECONNREFUSED'), err('ECONNRESET'), err('ETIMEDOUT'), err('EPIPE'), err('08006'), err('08P01'), err('57P01'), err('57P02'), err('57P03'),
      err('53300'), err('53100'), err('40P01'), err('40001'), err('55P03'), err('57014'),
      err(undefined, 'Connection terminated unexpectedly'), err(undefined, 'timeout exceeded when trying to connect'),
      err(undefined, 'Client has encountered a connection error and is not queryable')]) expect(isTransient(e), String(e.message) + (e as { code?: string }).code).toBe(true);
    for (const e of [err('22021'), err('22P02'), err('22003'), err('22007'), err('23505'), err('23514'), err('23502'), err('42P01'), err('XX000'),
      err('22021', 'invalid byte sequence: timeout'), new TypeError('bad value')]) expect(isTransient(e), (e as { code?: string }).code).toBe(false);
  });
});

describe('journal files are owner-only', () => {
  it('creates the directory 0700, segments and the dead-letter file 0600', async () => {
    const dir = join(tmp, 'modes', 'journal');
    const j = new Journal(dir);
    j.append(event());
    j.commit();
    j.deadLetter('{"test":1}');
    expect(mode(dir)).toBe(0o700);
    const files = readdirSync(dir);
    expect(files).toHaveLength(2);
    for (const f of files) expect(mode(join(dir, f)), f).toBe(0o600);
    j.close();
    // The dead-letter file is never replayed as a segment.
    const again = new Journal(dir);
    expect(again.recover()).toHaveLength(1);
    again.remove(again.seal());
    await again.removed();
    expect(readdirSync(dir)).toEqual([DEAD_LETTER_FILE]);
    again.close();
  });

  it('tightens a journal directory an earlier version left open', () => {
    const dir = join(tmp, 'modes-open');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    new Journal(dir).close();
    expect(mode(dir)).toBe(0o700);
  });
});

/** Throws a connectivity error at the first insert into usage_dead_letters while `armed`: the database vanishing mid-bisection. */
class VanishAtDeadLetter implements KyselyPlugin {
  armed = true;
  transformQuery(args: { node: RootOperationNode }): RootOperationNode {
    if (this.armed && args.node.kind === 'InsertQueryNode' && JSON.stringify(args.node).includes('usage_dead_letters')) {
      this.armed = false;
      throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    }
    return args.node;
  }
  async transformResult<T>(args: { result: T }): Promise<T> { return args.result; }
}

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`ledger on ${kind}: poison is cleaned or dead-lettered, never retried forever`, () => {
    let pgdb: { url: string; drop(): Promise<void> } | null = null;
    let store: Store;
    let db: Kysely<Database>;
    let dirs = 0;
    const journalDir = () => join(tmp, `${kind}-j${dirs++}`);

    beforeAll(async () => {
      pgdb = kind === 'postgres' ? await freshDatabase() : null;
      store = await openStore({ databaseUrl: pgdb?.url, dataDir: join(tmp, `db-${kind}`) });
      db = store.db;
      // A refusal cleaning cannot prevent (23514), like any constraint a future migration may add.
      await sql.raw(`alter table usage_events add constraint test_poison check (error_code is distinct from '${POISON}')`).execute(db);
    });
    afterAll(async () => {
      await store?.close();
      await pgdb?.drop();
    });

    const eventIds = async (ids: string[]) => ids.length === 0 ? new Set<string>()
      : new Set((await db.selectFrom('usage_events').select('id').where('id', 'in', ids).execute()).map((r) => r.id));
    const deadIds = async (ids: string[]) => ids.length === 0 ? new Set<string>()
      : new Set((await db.selectFrom('usage_dead_letters').select('event_id').where('event_id', 'in', ids).execute()).map((r) => r.event_id!));

    it('proves the poison is real: PostgreSQL refuses a NUL outright', async () => {
      await expect(writeUsage(db, [event({ modelId: 'a\u0000b' })])).rejects.toMatchObject({ code: '22021' });
    });

    it('writes every good event exactly once whatever else is in the batch (generated)', async () => {
      const text = fc.string({ unit: 'binary', maxLength: 300 });
      const count = fc.oneof(fc.nat({ max: 100_000 }), fc.double(), fc.integer(),
        fc.constantFrom(Number.NaN, Infinity, -Infinity, -1, 2 ** 31, 2 ** 53, 1e300, 0.5, 2147483647.6));
      const spec = fc.oneof(
        fc.record({ kind: fc.constant('good' as const), prompt: fc.nat({ max: 100_000 }), completion: fc.nat({ max: 100_000 }), status: fc.constantFrom(200, 404, 429, 502) }),
        fc.record({
          kind: fc.constant('hostile' as const), id: text, keyId: text, userId: text, modelId: text, deploymentId: fc.option(text),
          errorCode: fc.option(text.filter((s) => sanitize(s) !== POISON)), status: count, prompt: count, completion: count, latency: count, ttft: fc.option(count),
        }),
        fc.record({ kind: fc.constant('poison' as const) }),
        fc.record({
          kind: fc.constant('broken' as const),
          cost: fc.oneof(fc.constantFrom('NaN', '-1', 'Infinity', '1e5', '', '99999999999999999'), text),
          at: fc.oneof(fc.constant(AT), fc.constantFrom('junk', 'now', '', '2026-13-45T99:00:00Z'), text),
        }),
      );
      let run = 0;
      await fc.assert(fc.asyncProperty(fc.array(spec, { minLength: 1, maxLength: 40 }), async (specs) => {
        const runId = `${kind}-${run++}-${randomUUID()}`;
        const goodKey = `good-${runId}`;
        const dir = journalDir();
        const dead: DeadLetter[] = [];
        const ledger = new Ledger(db, { journalDir: dir, flushIntervalMs: 60_000, maxBatch: 1_000_000, onDeadLetter: (d) => dead.push(d) });
        await ledger.start();
        const sent = specs.map((s, i) => {
          const id = `${runId}-${i}`;
          switch (s.kind) {
            case 'good': return { s, e: event({ id, keyId: goodKey, status: s.status, promptTokens: s.prompt, completionTokens: s.completion }) };
            case 'hostile': return {
              s, e: event({
                id: `${id}-${s.id}`, keyId: s.keyId, userId: s.userId, modelId: s.modelId, deploymentId: s.deploymentId, errorCode: s.errorCode,
                status: s.status, promptTokens: s.prompt, completionTokens: s.completion, latencyMs: s.latency, ttftMs: s.ttft,
              }),
            };
            case 'poison': return { s, e: event({ id, keyId: goodKey, status: 500, errorCode: POISON }) };
            case 'broken': return { s, e: event({ id, keyId: goodKey, cost: s.cost, at: s.at }) };
          }
        });
        for (const { e } of sent) ledger.record(e);
        expect(await within(ledger.drain(10_000), 20_000, 'drain')).toBe(true);
        expect(ledger.lag).toBe(0);
        expect(ledger.lastError).toBeNull();

        const ids = sent.map(({ e }) => sanitize(e.id));
        const written = await eventIds(ids);
        const buried = await deadIds(ids);
        const rows = new Map((await db.selectFrom('usage_events').selectAll().where('id', 'in', ids).execute()).map((r) => [r.id, r]));
        for (const { s, e } of sent) {
          const id = sanitize(e.id);
          if (s.kind === 'good' || s.kind === 'hostile') {
            expect(written.has(id) && !buried.has(id), `${s.kind} ${JSON.stringify(id)}`).toBe(true);
            const r = rows.get(id)!;
            expect(r.prompt_tokens).toBe(clampCount(e.promptTokens));
            expect(r.completion_tokens).toBe(clampCount(e.completionTokens));
            expect(r.status).toBe(clampCount(e.status));
            expect(r.latency_ms).toBe(clampCount(e.latencyMs));
            expect(r.ttft_ms).toBe(e.ttftMs === null ? null : clampCount(e.ttftMs));
            expect([r.key_id, r.user_id, r.model_id, r.deployment_id, r.error_code])
              .toEqual([sanitize(e.keyId), sanitize(e.userId), sanitize(e.modelId), e.deploymentId === null ? null : sanitize(e.deploymentId), e.errorCode === null ? null : sanitize(e.errorCode)]);
          } else if (s.kind === 'poison') {
            expect(!written.has(id) && buried.has(id), `poison ${id}`).toBe(true);
          } else {
            expect(written.has(id) !== buried.has(id), `broken ${JSON.stringify(s)}`).toBe(true); // one or the other, never both or neither
          }
        }
        expect(ledger.deadLetters).toBe(buried.size);
        expect(dead.map((d) => d.event.id).sort()).toEqual([...buried].sort());
        expect(dead.every((d) => d.storedIn === 'table')).toBe(true);

        // The rollups count each written good event once, though bisection wrote some of them more than once.
        const goodWritten = sent.filter(({ s, e }) => (s.kind === 'good' || s.kind === 'broken') && written.has(e.id));
        const day = await db.selectFrom('usage_daily').select([sql<number>`sum(requests + errors)::int`.as('n'), sql<number>`sum(prompt_tokens)::int`.as('p')])
          .where('key_id', '=', goodKey).executeTakeFirst();
        expect(Number(day?.n ?? 0)).toBe(goodWritten.length);
        expect(Number(day?.p ?? 0)).toBe(goodWritten.reduce((n, { e }) => n + e.promptTokens, 0));

        await ledger.close();
        expect(segments(dir)).toEqual([]); // settled segments are gone: a restart replays nothing
      }), { seed: 42, numRuns: 30 });
    });

    it('replays a journal holding poison after a restart: good events written, poison dead-lettered, nothing replayed twice', async () => {
      const dir = journalDir();
      const good = [event(), event({ status: 404, promptTokens: 0, completionTokens: 0, cost: '0', errorCode: 'model_not_found' }), event()];
      const poison = event({ errorCode: POISON, status: 500 });
      const nulModel = event({ modelId: 'evil\u0000model\ud800' }); // journaled by a version that did not clean
      // What a killed process leaves: segments the database never saw (written directly, as a pre-fix version would).
      const j = new Journal(dir);
      for (const e of [good[0]!, poison, nulModel, good[1]!]) j.append(e);
      j.commit();
      j.close();
      const segment = join(dir, segments(dir)[0]!);
      writeFileSync(segment, readFileSync(segment, 'utf8') + [
        JSON.stringify({ ...event(), at: 'not a time' }), // pre-flight refuses it: dead-lettered without a round trip
        JSON.stringify({ id: randomUUID(), at: AT, cost: '0', keyId: 'k1' }), // a damaged line: the database refuses the missing fields
        'null', '42', JSON.stringify(good[2]), '{"id":"torn',
      ].join('\n'));
      const broken = JSON.parse(readFileSync(segment, 'utf8').split('\n')[4]!) as UsageEvent;
      const damaged = JSON.parse(readFileSync(segment, 'utf8').split('\n')[5]!) as UsageEvent;

      const before = (await db.selectFrom('usage_dead_letters').select(sql<number>`count(*)::int`.as('n')).executeTakeFirst())!.n;
      const dead: DeadLetter[] = [];
      const ledger = new Ledger(db, { journalDir: dir, flushIntervalMs: 60_000, onDeadLetter: (d) => dead.push(d) });
      await within(ledger.start(), 20_000, 'start');
      expect(ledger.deadLettersBefore).toBe(before);
      expect(ledger.lag).toBe(0);
      expect(ledger.lastError).toBeNull();
      await within(ledger.close(), 20_000, 'close');
      expect(segments(dir)).toEqual([]); // settled: a restart does not replay the poison again

      const written = await eventIds([...good, poison, nulModel, broken, damaged].map((e) => e.id));
      expect([...good, nulModel].every((e) => written.has(e.id))).toBe(true);
      expect([poison, broken, damaged].some((e) => written.has(e.id))).toBe(false);
      expect((await db.selectFrom('usage_events').select('model_id').where('id', '=', nulModel.id).executeTakeFirstOrThrow()).model_id).toBe('evilmodel\ufffd');
      expect(dead.map((d) => d.event.id).sort()).toEqual([poison.id, broken.id, damaged.id].sort());
      expect(ledger.deadLetters).toBe(3);
      const rows = await db.selectFrom('usage_dead_letters').selectAll().where('event_id', 'in', [poison.id, broken.id, damaged.id]).execute();
      expect(rows).toHaveLength(3);
      const byId = new Map(rows.map((r) => [r.event_id, r]));
      expect(byId.get(poison.id)).toMatchObject({ code: '23514' });
      expect(byId.get(poison.id)!.reason).toContain('test_poison');
      expect(JSON.parse(byId.get(poison.id)!.event)).toEqual(poison);
      expect(byId.get(broken.id)!.reason).toMatch(/^at /);
      expect(byId.get(damaged.id)).toMatchObject({ code: '23502' });

      // A later start finds nothing to replay and counts what is stored.
      const again = new Ledger(db, { journalDir: dir, flushIntervalMs: 60_000 });
      await again.start();
      expect(again.deadLetters).toBe(0);
      expect(again.deadLettersBefore).toBe(before + 3);
      await again.close();
    });

    it('keeps going when the database vanishes mid-bisection: settled events stay settled, the rest is retried', async () => {
      const dir = journalDir();
      const plugin = new VanishAtDeadLetter();
      const flaky = db.withPlugin(plugin);
      const errors: unknown[] = [];
      const ledger = new Ledger(flaky, { journalDir: dir, flushIntervalMs: 60_000, onError: (e) => errors.push(e) });
      await ledger.start();
      const batch = [event(), event(), event({ errorCode: POISON, status: 500 }), event(), event()];
      for (const e of batch) ledger.record(e);
      await ledger.flush();
      // [g g] was written; dead-lettering the poison hit the "outage": poison and what follows wait.
      expect(ledger.lastError).toContain('ECONNRESET');
      expect(errors).toHaveLength(1);
      expect(ledger.deadLetters).toBe(0);
      expect(ledger.lag).toBe(3);
      expect(ledger.unwritten().map((e) => e.id)).toEqual(batch.slice(2).map((e) => e.id));
      expect(segments(dir).length).toBeGreaterThan(0);
      expect(await eventIds(batch.map((e) => e.id))).toEqual(new Set(batch.slice(0, 2).map((e) => e.id)));

      expect(await within(ledger.drain(10_000), 20_000, 'drain')).toBe(true);
      expect(ledger.lastError).toBeNull();
      expect(ledger.deadLetters).toBe(1);
      expect(await eventIds(batch.map((e) => e.id))).toEqual(new Set(batch.filter((_, i) => i !== 2).map((e) => e.id)));
      await ledger.close();
      expect(segments(dir)).toEqual([]);
    });

    it('falls back to an owner-only dead-letter file when the table refuses too', async () => {
      await sql.raw(`alter table usage_dead_letters add constraint test_refuse check (false) not valid`).execute(db);
      try {
        const dir = journalDir();
        const dead: DeadLetter[] = [];
        const ledger = new Ledger(db, { journalDir: dir, flushIntervalMs: 60_000, onDeadLetter: (d) => dead.push(d) });
        await ledger.start();
        const good = event();
        const poison = event({ errorCode: POISON, status: 500, modelId: 'm\u0000' });
        ledger.record(poison);
        ledger.record(good);
        expect(await within(ledger.drain(10_000), 20_000, 'drain')).toBe(true);
        expect(ledger.lastError).toBeNull();
        expect(dead.map((d) => [d.event.id, d.storedIn])).toEqual([[poison.id, 'file']]);
        await ledger.close();
        expect(await eventIds([good.id, poison.id])).toEqual(new Set([good.id]));
        const file = join(dir, DEAD_LETTER_FILE);
        expect(mode(file)).toBe(0o600);
        const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatchObject({ code: '23514', event: { id: poison.id, modelId: 'm' } });
        expect(lines[0].storeError).toContain('test_refuse');
        expect(readdirSync(dir)).toEqual([DEAD_LETTER_FILE]);
      } finally {
        await sql.raw('alter table usage_dead_letters drop constraint test_refuse').execute(db);
      }
    });
  });
}

describe('an unreachable database is an outage, not poison', () => {
  it('keeps every event in the journal, dead-letters none, and a later process writes them all', async () => {
    const dir = join(tmp, 'outage-journal');
    const down = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 1000 }) }) });
    const events = [event(), event({ errorCode: POISON, modelId: 'x\u0000' }), event()];
    try {
      const ledger = new Ledger(down, { journalDir: dir, flushIntervalMs: 60_000 });
      await ledger.start();
      for (const e of events) ledger.record(e);
      expect(await ledger.drain(800)).toBe(false);
      expect(ledger.lastError).toMatch(/ECONNREFUSED/);
      expect(ledger.deadLetters).toBe(0);
      expect(ledger.lag).toBe(3);
      expect(await ledger.close(100)).toBe(false);
      expect(segments(dir).length).toBeGreaterThan(0);
    } finally {
      await down.destroy();
    }
    const pgdb = await freshDatabase();
    const store = await openStore({ databaseUrl: pgdb.url, dataDir: join(tmp, 'outage-db') });
    try {
      const ledger = new Ledger(store.db, { journalDir: dir, flushIntervalMs: 60_000 });
      await ledger.start();
      expect(ledger.lag).toBe(0);
      await ledger.close();
      const rows = await store.db.selectFrom('usage_events').select(['id', 'model_id']).orderBy('at').execute();
      expect(new Set(rows.map((r) => r.id))).toEqual(new Set(events.map((e) => e.id)));
      expect(rows.find((r) => r.id === events[1]!.id)!.model_id).toBe('x');
    } finally {
      await store.close();
      await pgdb.drop();
    }
  });
});

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`gateway on ${kind}: a hostile tenant cannot stop metering`, () => {
    let sys: System;
    beforeAll(async () => { sys = await startSystem(kind); });
    afterAll(async () => { await sys?.close(); });

    async function chat(key: string, model: string): Promise<{ status: number; id: string; body: any }> {
      const res = await fetch(`${sys.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'LiteMaaS meters every request. It keeps budgets exact.' }], max_tokens: 16 }),
      });
      return { status: res.status, id: res.headers.get('x-request-id')!, body: await res.json() };
    }

    it('records every valid request exactly, the hostile ones cleaned, and the ledger drains', async () => {
      const hostile = await provision(sys, { username: `hostile${kind}` });
      const tenants = [await provision(sys, { username: `alice${kind}` }), await provision(sys, { username: `bob${kind}` })];
      const evil = ['a\u0000b', '\u0000', 'ctl\u0001\u001b[31m\u007f', 'lone\ud800', '\udfffback', 'x'.repeat(10_000), `${MODEL}\u0000`, 'nul\u0000'.repeat(3000)];
      const valid: Array<{ id: string; keyId: string; prompt: number; completion: number }> = [];
      const refused: Array<{ id: string; model: string }> = [];
      for (let round = 0; round < 3; round++) {
        const answers = await Promise.all([
          ...evil.map((m) => chat(hostile.key, m).then((r) => ({ r, model: m, keyId: null as string | null }))),
          ...tenants.flatMap((t) => [0, 1].map(() => chat(t.key, MODEL).then((r) => ({ r, model: MODEL, keyId: t.keyId as string | null })))),
        ]);
        for (const { r, model, keyId } of answers) {
          if (keyId) {
            expect(r.status).toBe(200);
            valid.push({ id: r.id, keyId, prompt: r.body.usage.prompt_tokens, completion: r.body.usage.completion_tokens });
          } else {
            expect(r.status).toBe(404);
            expect(r.body.error.code).toBe('model_not_found');
            refused.push({ id: r.id, model });
          }
        }
      }
      await settle(sys);
      const ledger = sys.server.ledger;
      expect(ledger.lastError).toBeNull();
      expect(ledger.lag).toBe(0);

      const db = sys.server.store.db;
      const rows = new Map((await db.selectFrom('usage_events').selectAll().execute()).map((r) => [r.id, r]));
      for (const v of valid) {
        expect(rows.get(v.id), v.id).toMatchObject({ key_id: v.keyId, model_id: MODEL, status: 200, prompt_tokens: v.prompt, completion_tokens: v.completion });
      }
      const dead = new Set((await db.selectFrom('usage_dead_letters').select('event_id').execute()).map((r) => r.event_id));
      for (const h of refused) {
        const r = rows.get(h.id);
        if (!r) { expect(dead.has(h.id), h.id).toBe(true); continue; }
        expect(r).toMatchObject({ key_id: hostile.keyId, status: 404, error_code: 'model_not_found' });
        expect(DIRTY.test(r.model_id)).toBe(false);
        expect(r.model_id.length).toBeLessThanOrEqual(MAX_ID_LENGTH);
        expect(sanitize(h.model, Infinity).startsWith(r.model_id), JSON.stringify(r.model_id)).toBe(true);
      }
      // Totals: each tenant's rollup holds exactly its answered requests and tokens.
      for (const t of tenants) {
        const mine = valid.filter((v) => v.keyId === t.keyId);
        const d = await db.selectFrom('usage_daily').select([sql<number>`sum(requests)::int`.as('n'), sql<number>`sum(prompt_tokens)::int`.as('p'), sql<number>`sum(completion_tokens)::int`.as('c')])
          .where('key_id', '=', t.keyId).executeTakeFirstOrThrow();
        expect([d.n, d.p, d.c]).toEqual([mine.length, mine.reduce((n, v) => n + v.prompt, 0), mine.reduce((n, v) => n + v.completion, 0)]);
      }
      expect(segments(join(sys.dataDir, 'journal'))).toEqual([]);
      const ready = await (await fetch(`${sys.url}/readyz`)).json();
      expect(ready).toMatchObject({ ledgerUnwritten: 0, ledgerError: null, ledgerDeadLetters: 0 });
    });

    it('counts a dead letter in /readyz and /metrics', async () => {
      const ledger = sys.server.ledger;
      ledger.record(event({ at: 'not a time' }));
      await settle(sys);
      expect(ledger.deadLetters).toBe(1);
      const ready = await (await fetch(`${sys.url}/readyz`)).json();
      expect(ready).toMatchObject({ ledgerUnwritten: 0, ledgerError: null, ledgerDeadLetters: 1 });
      const metrics = await (await fetch(`${sys.url}/metrics`)).text();
      expect(metrics).toMatch(/^litemaas_ledger_dead_letters_total 1$/m);
    });
  });
}
