/**
 * The per-request usage export (/usage/requests and /admin/usage/requests): after a few requests
 * through the gateway (chat streamed and not, and the Responses API), the export lists exactly
 * them, newest first, with the tokens and cost the ledger holds; a person sees only their own, an
 * admin filters by user; the CSV parses back to the same values; the limit cuts and says so; bad
 * dates and limits are 400s naming the field; and on PostgreSQL a user's range is read through the
 * usage_events(user_id, at) index.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { MODEL, provision, settle, startSystem, type Provisioned, type System } from './helpers/system.js';
import { Session } from './helpers/session.js';
import { requestsQuery, REQUEST_COLUMNS } from '../src/portal/services/usage-requests.js';
import type { UsageRequestRow } from '../src/shared/api-types.js';

const PW = 'correct horse battery';
const today = new Date().toISOString().slice(0, 10);

/** RFC 4180: quoted cells, doubled quotes, CRLF rows. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], cell = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (ch === '"') quoted = false; else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(cell); cell = ''; }
    else if (ch === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i++; }
    else cell += ch;
  }
  if (cell || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

describe.each(['pglite', 'postgres'] as const)('per-request usage export on %s', (kind) => {
  let sys: System;
  let alice: Provisioned, bob: Provisioned;
  let aliceS: Session, bobS: Session;
  const names: Record<string, string> = {};
  const ids: Record<string, string[]> = { alice: [], bob: [] };

  const adminGet = async (path: string) => {
    const res = await fetch(`${sys.url}/api/v1${path}`, { headers: { authorization: `Bearer ${sys.adminToken}` } });
    const text = await res.text();
    let body: any = text;
    try { body = JSON.parse(text); } catch { /* CSV */ }
    return { status: res.status, body, headers: res.headers };
  };

  const gateway = async (key: string, path: string, body: unknown) => {
    const res = await fetch(`${sys.url}/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await res.text(); // read the stream to its end
    expect(res.status).toBe(200);
    return res.headers.get('x-request-id')!;
  };

  /** What the ledger holds for these ids, in the export's shape. */
  const ledger = async (requestIds: string[]) => {
    const r = await sql<any>`select id, key_id, user_id, model_id, endpoint, status, stream, prompt_tokens, cached_tokens,
      completion_tokens, audio_ms, cost::text as cost, estimated, error_code, latency_ms from usage_events where id in (${sql.join(requestIds)})`.execute(sys.server.store.db);
    return new Map(r.rows.map((e) => [e.id as string, {
      requestId: e.id, keyId: e.key_id, userId: e.user_id, modelId: e.model_id, endpoint: e.endpoint, status: e.status, stream: e.stream,
      promptTokens: e.prompt_tokens, cachedTokens: e.cached_tokens, completionTokens: e.completion_tokens,
      audioSeconds: (e.audio_ms / 1000).toFixed(3), cost: e.cost, estimated: e.estimated, errorCode: e.error_code, latencyMs: e.latency_ms,
    }]));
  };

  beforeAll(async () => {
    sys = await startSystem(kind);
    names.alice = `alice${Math.floor(Math.random() * 1e6)}`;
    names.bob = `bob${Math.floor(Math.random() * 1e6)}`;
    // A key name that would be a formula in a spreadsheet.
    alice = await provision(sys, { username: names.alice, key: { name: '=HYPERLINK("http://evil")' } });
    bob = await provision(sys, { username: names.bob });
    for (const [u, p] of [[names.alice, alice], [names.bob, bob]] as const) {
      expect((await sys.admin('PATCH', `/admin/users/${p.userId}`, { password: PW })).status).toBe(200);
      void u;
    }
    aliceS = await Session.signIn(sys.url, names.alice, PW);
    bobS = await Session.signIn(sys.url, names.bob, PW);
    const chat = { model: MODEL, messages: [{ role: 'user', content: 'Explain why the sky is blue. It scatters light.' }], max_tokens: 20 };
    ids.alice!.push(await gateway(alice.key, '/chat/completions', chat));
    ids.alice!.push(await gateway(alice.key, '/chat/completions', { ...chat, stream: true, stream_options: { include_usage: true } }));
    ids.alice!.push(await gateway(alice.key, '/responses', { model: MODEL, input: 'Say something short.', max_output_tokens: 16 }));
    ids.bob!.push(await gateway(bob.key, '/chat/completions', chat));
    await settle(sys);
  }, 60_000);
  afterAll(async () => { await sys?.close(); });

  it('lists exactly a person\'s requests, newest first, with the tokens and cost the ledger holds', async () => {
    const r = await aliceS.call('GET', `/usage/requests?format=json&from=${today}&to=${today}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-disposition')).toBe(`attachment; filename="litemaas-requests-${today}-to-${today}.json"`);
    expect(r.body).toMatchObject({ from: today, to: today, limit: 10_000, truncated: false });
    const rows = r.body.rows as UsageRequestRow[];
    expect(rows.map((x) => x.requestId).sort()).toEqual([...ids.alice!].sort());
    const ats = rows.map((x) => x.at);
    expect([...ats].sort().reverse()).toEqual(ats);
    for (const a of ats) expect(new Date(a).toISOString()).toBe(a);
    const held = await ledger(ids.alice!);
    for (const row of rows) {
      expect(row).toMatchObject(held.get(row.requestId)!);
      expect(row).toMatchObject({ keyId: alice.keyId, keyName: '=HYPERLINK("http://evil")', userId: alice.userId, username: names.alice, modelId: MODEL, status: 200 });
      expect(row.promptTokens).toBeGreaterThan(0);
      expect(row.completionTokens).toBeGreaterThan(0);
      expect(row.cost).toMatch(/^0\.\d{12}$/);
      expect(Number(row.cost)).toBeGreaterThan(0);
    }
    const byId = new Map(rows.map((x) => [x.requestId, x]));
    expect(byId.get(ids.alice![0]!)).toMatchObject({ endpoint: 'chat', stream: false });
    expect(byId.get(ids.alice![1]!)).toMatchObject({ endpoint: 'chat', stream: true });
    expect(byId.get(ids.alice![2]!)!.endpoint).toMatch(/respon/);
    // The costs add up to the summary of the same range.
    const sum = await aliceS.call('GET', `/usage/summary?groupBy=key&from=${today}&to=${today}`);
    const pico = rows.reduce((t, x) => t + BigInt(x.cost.replace('.', '')), 0n);
    expect(BigInt(sum.body.totals.costExact.replace('.', ''))).toBe(pico);
  });

  it('a person sees only their own requests, whatever userId or keys they send', async () => {
    const own = await bobS.call('GET', `/usage/requests?format=json&userId=${alice.userId}`);
    expect(own.status).toBe(200);
    expect(own.body.rows.map((x: UsageRequestRow) => x.requestId)).toEqual(ids.bob);
    const other = await bobS.call('GET', `/usage/requests?format=json&keys=${alice.keyId}`);
    expect(other.body.rows).toEqual([]);
    const csv = await bobS.call('GET', `/usage/requests?userId=${alice.userId}`);
    expect(csv.body).not.toContain(alice.keyId);
    expect((await bobS.call('GET', '/admin/usage/requests')).status).toBe(403);
    const anon = await fetch(`${sys.url}/api/v1/usage/requests`);
    expect(anon.status).toBe(401);
  });

  it('an admin sees everyone, or one user, and filters by model and key', async () => {
    const all = await adminGet(`/admin/usage/requests?format=json&from=${today}&to=${today}`);
    expect(all.status).toBe(200);
    expect(all.body.rows.map((x: UsageRequestRow) => x.requestId).sort()).toEqual([...ids.alice!, ...ids.bob!].sort());
    const one = await adminGet(`/admin/usage/requests?format=json&userId=${bob.userId}`);
    expect(one.body.rows).toHaveLength(1);
    expect(one.body.rows[0]).toMatchObject({ requestId: ids.bob![0], userId: bob.userId, username: names.bob, keyId: bob.keyId });
    const byKey = await adminGet(`/admin/usage/requests?format=json&keys=${alice.keyId}`);
    expect(byKey.body.rows).toHaveLength(3);
    const otherModel = await adminGet(`/admin/usage/requests?format=json&models=no-such-model`);
    expect(otherModel.body.rows).toEqual([]);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    expect((await adminGet(`/admin/usage/requests?format=json&from=${yesterday}&to=${yesterday}`)).body.rows).toEqual([]);
  });

  it('the CSV parses back to the same values, with formula-like cells defused', async () => {
    const json = await adminGet(`/admin/usage/requests?format=json`);
    const csv = await adminGet(`/admin/usage/requests?format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('x-litemaas-truncated')).toBe('false');
    const [header, ...lines] = parseCsv(csv.body as string);
    expect(header).toEqual(REQUEST_COLUMNS);
    expect(lines).toHaveLength(json.body.rows.length);
    lines.forEach((cells, i) => {
      const row = json.body.rows[i] as UsageRequestRow;
      REQUEST_COLUMNS.forEach((c, j) => {
        const v = row[c];
        const expected = v === null ? '' : c === 'keyName' && String(v).startsWith('=') ? `'${v}` : String(v);
        expect(cells[j], c).toBe(expected);
      });
    });
    expect(csv.body).toContain(`"'=HYPERLINK(""http://evil"")"`);
  });

  it('cuts at the limit, newest first, and says so', async () => {
    const json = await aliceS.call('GET', '/usage/requests?format=json&limit=2');
    expect(json.body).toMatchObject({ limit: 2, truncated: true });
    const all = await aliceS.call('GET', '/usage/requests?format=json');
    expect(json.body.rows).toEqual(all.body.rows.slice(0, 2));
    const csv = await aliceS.call('GET', '/usage/requests?limit=2');
    expect(csv.headers.get('x-litemaas-truncated')).toBe('true');
    expect(parseCsv(csv.body)).toHaveLength(3);
    const exact = await aliceS.call('GET', '/usage/requests?format=json&limit=3');
    expect(exact.body).toMatchObject({ truncated: false });
    expect(exact.body.rows).toHaveLength(3);
  });

  it('a bad date or limit is a 400 naming the field', async () => {
    for (const [qs, field] of [
      ['from=2026-02-31', 'from'], ['to=2026-13-01', 'to'], ['from=2026-05-02&to=2026-05-01', 'from'],
      ['limit=0', 'limit'], ['limit=100001', 'limit'], ['limit=abc', 'limit'], ['limit=1.5', 'limit'], ['limit=-1', 'limit'],
      ['format=xml', 'format'], ['groupBy=day', 'groupBy'],
    ] as const) {
      for (const r of [await aliceS.call('GET', `/usage/requests?${qs}`), await adminGet(`/admin/usage/requests?${qs}`)]) {
        expect(r.status, qs).toBe(400);
        expect(r.body.error.field, qs).toBe(field);
      }
    }
    expect((await aliceS.call('GET', '/usage/requests?limit=100000')).status).toBe(200);
  });

  it.runIf(kind === 'postgres')('reads one user\'s range through usage_events(user_id, at), newest first', async () => {
    const db = sys.server.store.db;
    // Enough other people's history (in 2020, outside the other tests' range) that a scan would not pay.
    await sql`insert into usage_events (id, at, key_id, user_id, model_id, status, prompt_tokens, completion_tokens, cost, latency_ms, stream, estimated)
      select 'bulk-' || g, timestamptz '2020-01-01' + g * interval '1 minute', 'k' || (g % 500), 'u' || (g % 500), ${MODEL}, 200, 10, 10, 0.000001, 5, false, false
      from generate_series(1, 100000) g`.execute(db);
    await sql`analyze usage_events`.execute(db);
    const q = requestsQuery(db, { from: '2020-01-01', to: '2020-03-31', userId: 'u7' }, 10_000).compile();
    const plan = await sys.server.store.db.executeQuery<{ 'QUERY PLAN': string }>({ ...q, sql: `explain ${q.sql}` });
    const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
    if (process.env.SHOW_PLAN) console.log(text);
    expect(text, text).toMatch(/usage_events_user_at/);
    expect(text, text).not.toMatch(/Seq Scan on usage_events/);
    const byKey = requestsQuery(db, { from: '2020-01-01', to: '2020-03-31', keys: ['k7'] }, 10_000).compile();
    const keyPlan = (await db.executeQuery<{ 'QUERY PLAN': string }>({ ...byKey, sql: `explain ${byKey.sql}` })).rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(keyPlan, keyPlan).toMatch(/usage_events_key_at/);
    const r = await adminGet('/admin/usage/requests?format=json&userId=u7&from=2020-01-01&to=2020-03-31&limit=50');
    expect(r.body).toMatchObject({ truncated: true });
    expect(r.body.rows).toHaveLength(50);
    expect(r.body.rows[0].at > r.body.rows[49].at).toBe(true);
    expect(r.body.rows[0]).toMatchObject({ userId: 'u7', username: null, keyName: null, cost: '0.000001000000', endpoint: null, audioSeconds: '0.000' });
  });
});
