/**
 * What a hostile tenant tried against the portal, end to end on real
 * PostgreSQL: loosening the limits an admin put on their key, inputs that
 * used to reach the database and come back as 500s (numbers past int4 or
 * numeric(28,12), NUL, impossible dates, sub-unit budgets, deep nesting —
 * also generated from the served OpenAPI document for every field of every
 * body), bodies sent before signing in, audit of refused security events,
 * CSV cells, and the migration that records admin limits for existing keys.
 */
import { request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { MODEL, PRICES, startSystem, type System } from './helpers/system.js';
import { Session, anonymous } from './helpers/session.js';
import { freshDatabase } from './helpers/pg.js';
import { toCsv } from '../src/portal/services/usage.js';
import * as m001 from '../src/store/migrations/001_initial.js';
import * as m002 from '../src/store/migrations/002_sessions.js';
import * as m003 from '../src/store/migrations/003_usage_rollups.js';
import * as m005 from '../src/store/migrations/005_key_admin_limits.js';
import { parseAdminLimits } from '../src/portal/services/key-policy.js';

const PW = 'tenant password 1';
const RESTRICTED = 'Restricted-Model';
const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString();

let sys: System;
let root: Session;
const ids: Record<string, string> = {};
let nextAddress = 1;
/** A fresh client address per sign-in (the server trusts X-Forwarded-For here), so the per-address limit never interferes. */
const address = () => `10.0.${Math.floor(nextAddress / 250)}.${(nextAddress++ % 250) + 1}`;

async function person(username: string, roles = ['user']): Promise<string> {
  const r = await sys.admin('POST', '/admin/users', { username, password: PW, roles });
  expect(r.status).toBe(201);
  return (ids[username] = r.body.id);
}

async function login(username: string, password = PW): Promise<{ status: number; body: any }> {
  const r = await fetch(`${sys.url}/api/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': address() }, body: JSON.stringify({ username, password }),
  });
  return { status: r.status, body: await r.json() };
}

async function audit(action: string): Promise<any[]> {
  const r = await sys.admin('GET', `/admin/audit?limit=1000&action=${encodeURIComponent(action)}`);
  expect(r.status).toBe(200);
  return r.body.entries;
}

beforeAll(async () => {
  sys = await startSystem('postgres', {}, { trustProxy: true });
  const dep = [{ url: `${sys.sim.url}/v1`, upstreamModel: 'llama32-fp8' }];
  expect((await sys.admin('POST', '/admin/models', { id: MODEL, ...PRICES, contextLength: 8192, deployments: dep })).status).toBe(201);
  expect((await sys.admin('POST', '/admin/models', { id: RESTRICTED, ...PRICES, restricted: true, deployments: dep })).status).toBe(201);
  await person('root', ['admin', 'user']);
  root = await Session.signIn(sys.url, 'root', PW);
  expect((await root.call('POST', '/subscriptions', { modelId: MODEL })).status).toBe(201);
});
afterAll(async () => { await sys?.close(); });

describe('limits an admin set on a key', () => {
  let tenant: Session;
  let key: string;
  const limits = { maxBudget: 10, budgetPeriod: 'monthly', rpm: 60, tpm: 5000, maxParallel: 4 };

  beforeAll(async () => {
    await person('tenant');
    expect((await sys.admin('POST', `/admin/users/${ids.tenant}/subscriptions`, { modelId: MODEL })).status).toBe(201);
    const k = await sys.admin('POST', `/admin/users/${ids.tenant}/api-keys`, { name: 'lab', models: [MODEL], ...limits, expiresAt: day(30) });
    expect(k.status).toBe(201);
    key = k.body.id;
    tenant = await Session.signIn(sys.url, 'tenant', PW);
  });

  it('the owner cannot remove or raise any of them; each refusal names the field and changes nothing', async () => {
    const before = (await tenant.call('GET', `/api-keys/${key}`)).body;
    const tries: Array<[string, unknown]> = [
      ['maxBudget', null], ['maxBudget', 11], ['budgetPeriod', 'daily'], ['rpm', null], ['rpm', 61], ['tpm', null], ['tpm', 1e6],
      ['maxParallel', null], ['maxParallel', 100], ['expiresAt', null], ['expiresAt', day(31)],
    ];
    for (const [field, value] of tries) {
      const r = await tenant.call('PATCH', `/api-keys/${key}`, { [field]: value });
      expect(r.status, `${field} → ${JSON.stringify(value)}`).toBe(400);
      expect(r.body.error.field).toBe(field);
      expect(r.body.error.message).toMatch(/administrator/);
    }
    const after = (await tenant.call('GET', `/api-keys/${key}`)).body;
    expect(after).toEqual(before);
    expect(after).toMatchObject(limits);
  });

  it('the owner may tighten them, and loosen again up to what the admin set', async () => {
    const tighter = await tenant.call('PATCH', `/api-keys/${key}`, { maxBudget: 2.5, budgetPeriod: 'none', rpm: 10, tpm: 100, maxParallel: 1, expiresAt: day(7) });
    expect(tighter.status).toBe(200);
    expect(tighter.body).toMatchObject({ maxBudget: 2.5, budgetPeriod: 'none', rpm: 10, tpm: 100, maxParallel: 1 });
    const back = await tenant.call('PATCH', `/api-keys/${key}`, { rpm: 60, maxBudget: 10, budgetPeriod: 'monthly' });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ rpm: 60, maxBudget: 10, budgetPeriod: 'monthly' });
  });

  it('a limit the admin lifts is the owner\'s again; a limit the admin adds later binds the owner\'s own key too', async () => {
    expect((await sys.admin('PATCH', `/admin/api-keys/${key}`, { rpm: null })).status).toBe(200);
    const free = await tenant.call('PATCH', `/api-keys/${key}`, { rpm: 5000 });
    expect(free.status).toBe(200);
    expect(free.body.rpm).toBe(5000);

    const own = await tenant.call('POST', '/api-keys', { name: 'mine', models: [MODEL], tpm: 100 });
    expect(own.status).toBe(201);
    expect((await tenant.call('PATCH', `/api-keys/${own.body.id}`, { tpm: 200 })).status).toBe(200);
    expect((await root.call('PATCH', `/admin/api-keys/${own.body.id}`, { tpm: 50 })).status).toBe(200);
    const raise = await tenant.call('PATCH', `/api-keys/${own.body.id}`, { tpm: 51 });
    expect(raise.status).toBe(400);
    expect(raise.body.error.field).toBe('tpm');
    expect((await tenant.call('PATCH', `/api-keys/${own.body.id}`, { tpm: 49, name: 'still mine' })).status).toBe(200);
  });
});

describe('inputs that used to reach the database', () => {
  let user: string, key: string;
  beforeAll(async () => {
    user = await person('fuzzy');
    expect((await sys.admin('POST', `/admin/users/${user}/subscriptions`, { modelId: MODEL })).status).toBe(201);
    key = (await sys.admin('POST', `/admin/users/${user}/api-keys`, { name: 'k', models: [MODEL], maxBudget: 3 })).body.id;
  });

  it.each<[string, string, string, () => unknown]>([
    ['rpm', 'PATCH', '/admin/api-keys/:key', () => ({ rpm: 2 ** 31 })],
    ['maxParallel', 'PATCH', '/admin/api-keys/:key', () => ({ maxParallel: 1e300 })],
    ['name', 'PATCH', '/admin/api-keys/:key', () => ({ name: 'a\u0000b' })],
    ['description', 'PATCH', '/admin/api-keys/:key', () => ({ description: 'line\nbreak ok, but not \u0007' })],
    ['name', 'PATCH', '/admin/api-keys/:key', () => ({ name: 'half \ud800 pair' })],
    ['maxBudget', 'PATCH', '/admin/api-keys/:key', () => ({ maxBudget: 0.0000000000001 })],
    ['maxBudget', 'PATCH', '/admin/api-keys/:key', () => ({ maxBudget: 1e20 })],
    ['softBudget', 'PATCH', '/admin/api-keys/:key', () => ({ softBudget: 1.0000000000001 })],
    ['expiresAt', 'PATCH', '/admin/api-keys/:key', () => ({ expiresAt: '2026-02-31T00:00:00Z' })],
    ['expiresAt', 'PATCH', '/admin/api-keys/:key', () => ({ expiresAt: '2030-06-30T23:59:60Z' })],
    ['expiresAt', 'POST', '/admin/users/:user/api-keys', () => ({ name: 'leap', models: [MODEL], expiresAt: '2030-06-30T23:59:60Z' })],
    ['evil', 'PATCH', '/admin/api-keys/:key', () => ({ rpm: 5, evil: true })],
    ['quotaTokens', 'POST', '/admin/users/:user/subscriptions', () => ({ modelId: MODEL, quotaTokens: 1e19 })],
    ['quotaRequests', 'POST', '/admin/users/:user/subscriptions', () => ({ modelId: MODEL, quotaRequests: 2 ** 53 })],
    ['maxBudget', 'POST', '/admin/users', () => ({ username: `u${randomUUID().slice(0, 8)}`, maxBudget: 1e-15 })],
    ['displayName', 'POST', '/admin/users', () => ({ username: `u${randomUUID().slice(0, 8)}`, displayName: 'x\u0000' })],
    ['inputPricePer1M', 'POST', '/admin/models', () => ({ id: 'm-big', inputPricePer1M: '99999999999999999999', outputPricePer1M: 1, deployments: [{ url: 'http://x/v1', upstreamModel: 'u' }] })],
    ['inputPricePer1M', 'POST', '/admin/models', () => ({ id: 'm-tiny', inputPricePer1M: 1e-13, outputPricePer1M: 1, deployments: [{ url: 'http://x/v1', upstreamModel: 'u' }] })],
    ['contextLength', 'POST', '/admin/models', () => ({ id: 'm-ctx', contextLength: 3e9, inputPricePer1M: 1, outputPricePer1M: 1, deployments: [{ url: 'http://x/v1', upstreamModel: 'u' }] })],
    ['deployments.0.maxInFlight', 'POST', '/admin/models', () => ({ id: 'm-w', inputPricePer1M: 1, outputPricePer1M: 1, deployments: [{ url: 'http://x/v1', upstreamModel: 'u', maxInFlight: 2 ** 40 }] })],
    ['keyDefaults.expiresInDays', 'PUT', '/admin/settings', () => ({ currency: 'USD', keyDefaults: { budgetPeriod: 'monthly', maxBudget: null, rpm: null, tpm: null, expiresInDays: 1e12 }, keyMaximums: { maxBudget: null, rpm: null, tpm: null, expiresInDays: null } })],
    ['keyDefaults.maxBudget', 'PUT', '/admin/settings', () => ({ currency: 'USD', keyDefaults: { budgetPeriod: 'monthly', maxBudget: 1e-13, rpm: null, tpm: null, expiresInDays: null }, keyMaximums: { maxBudget: null, rpm: null, tpm: null, expiresInDays: null } })],
  ])('400 naming %s for %s %s', async (field, method, path, body) => {
    const p = path.replace(':key', key).replace(':user', user);
    const r = await sys.admin(method, p, body());
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error.field).toBe(field);
    expect(r.body.error.message).toContain(field.split('.').pop());
  });

  it('keeps what is text: emoji, accents, tabs and newlines in a description', async () => {
    const r = await sys.admin('PATCH', `/admin/api-keys/${key}`, { name: '🚀 fusée ключ', description: 'first line\n\tsecond line' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ name: '🚀 fusée ключ', description: 'first line\n\tsecond line' });
    const login = await fetch(`${sys.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': address() }, body: JSON.stringify({ username: 'root\u0000', password: 'x' }) });
    expect(login.status).toBe(400);
    expect(((await login.json()) as any).error.field).toBe('username');
  });

  it('a refused budget is not stored at all (0.0000000000001 does not become 0)', async () => {
    await sys.admin('PATCH', `/admin/api-keys/${key}`, { maxBudget: 0.0000000000001 });
    expect((await sys.admin('GET', `/admin/api-keys/${key}`)).body.maxBudget).toBe(3);
    const exact = await sys.admin('PATCH', `/admin/api-keys/${key}`, { maxBudget: 0.000000000001 });
    expect(exact.status).toBe(200);
    expect(exact.body.maxBudget).toBe(1e-12);
  });

  it('deeply nested JSON bodies (100 000 levels) are a 400, never a 500', async () => {
    const nested = (open: string, close: string) => open.repeat(100_000) + close.repeat(100_000);
    const bodies = [nested('[', ']'), '{"a":' + nested('[', ']') + '}', '{"name":' + nested('[', ']') + '}', nested('{"a":', '}').replace(/\{"a":\}/, '{"a":1}')];
    const routes: Array<[string, string, boolean]> = [['POST', '/admin/users', true], ['PATCH', `/admin/api-keys/${key}`, true], ['POST', `/admin/api-keys/${key}/rotate`, false]];
    for (const body of bodies) {
      for (const [method, path, validated] of routes) {
        const r = await fetch(`${sys.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${sys.adminToken}`, 'content-type': 'application/json' }, body });
        expect(r.status, `${method} ${path}`).toBeLessThan(500);
        // A route with a body schema refuses it; one without ignores it.
        if (validated) expect(r.status, `${method} ${path}`).toBe(400);
      }
    }
  });

  it('impossible dates in usage filters are a 400 naming the parameter', async () => {
    for (const bad of ['2026-02-31', '0000-01-01', '2026-13-01', '2026-02-29', '2026-1-01', '2026-01-01%00']) {
      for (const param of ['from', 'to']) {
        const other = param === 'from' ? 'to=2026-12-31' : 'from=2026-01-01';
        for (const path of ['/usage/summary', '/usage/timeseries', '/usage/export']) {
          const r = await root.call('GET', `${path}?${param}=${bad}&${other}`);
          expect(r.status, `${path} ${param}=${bad}`).toBe(400);
          expect(r.body.error.field).toBe(param);
        }
        const a = await sys.admin('GET', `/admin/usage/summary?${param}=${bad}&${other}`);
        expect(a.status).toBe(400);
        expect(a.body.error.field).toBe(param);
      }
    }
    expect((await root.call('GET', '/usage/summary?from=2024-02-29&to=2024-03-01')).status).toBe(200);
  });

  it('NUL in a path parameter or a query filter is a 400 naming it', async () => {
    const cases: Array<[string, string]> = [
      [`/admin/users/a%00b`, 'id'], [`/admin/api-keys/%00`, 'id'], [`/admin/usage/summary?models=a%00b`, 'models'],
      [`/admin/usage/summary?userId=%01`, 'userId'], [`/admin/audit?actor=%00`, 'actor'], [`/admin/usage/summary?keys=${'k,'.repeat(5000)}`, 'keys'],
    ];
    for (const [path, field] of cases) {
      const r = await sys.admin('GET', path);
      expect(r.status, path).toBe(400);
      expect(r.body.error.field).toBe(field);
    }
    const mine = await root.call('GET', '/api-keys/x%00y');
    expect(mine.status).toBe(400);
    expect(mine.body.error.field).toBe('id');
  });
});

/**
 * Every POST/PUT/PATCH body of the served OpenAPI document, one field at a
 * time: a valid body with a hostile value in that field must be a 4xx that
 * names the field — never a 5xx, never accepted.
 */
describe('generated hostile bodies for every field of every route (from /docs/json)', () => {
  type Schema = Record<string, any>;
  let n = 0;
  const FIXED: Record<string, () => unknown> = {
    currency: () => 'USD', url: () => 'http://127.0.0.1:9/v1', upstreamModel: () => 'llama32-fp8', modelId: () => MODEL,
    username: () => `fz${Date.now().toString(36)}${n++}`, id: () => `fz-model-${Date.now().toString(36)}-${n++}`,
    expiresAt: () => day(3), name: () => 'fz', reason: () => 'because', password: () => 'long enough password',
  };

  /** A valid value for a schema (fields by name where the server checks more than the schema). */
  function valid(s: Schema, name: string): unknown {
    if (FIXED[name] && (s.type === 'string' || s.anyOf)) return FIXED[name]!();
    if (s.anyOf) return valid(s.anyOf[0], name);
    if (s.enum) return s.enum[0];
    switch (s.type) {
      case 'object': return Object.fromEntries((s.required ?? []).map((k: string) => [k, valid(s.properties[k], k)]));
      case 'array': return name === 'models' ? [MODEL] : Array.from({ length: s.minItems ?? 0 }, () => valid(s.items, name));
      case 'integer': return s.minimum ?? 1;
      case 'number': return 1;
      case 'boolean': return false;
      default: return 'x'.repeat(Math.max(1, s.minLength ?? 1));
    }
  }

  /** The leaves a hostile value can go into: [path, schema, the valid value beside it]. */
  function leaves(s: Schema, path: string[], name: string): Array<{ path: string[]; schema: Schema }> {
    if (s.type === 'object') return Object.entries<Schema>(s.properties ?? {}).flatMap(([k, v]) => leaves(v, [...path, k], k));
    if (s.type === 'array') return [...leaves(s.items, [...path, '0'], name)];
    return [{ path, schema: s }];
  }

  const kinds = (s: Schema): string[] => (s.anyOf ? s.anyOf.flatMap(kinds) : [s.enum ? 'enum' : s.type]);
  const C0 = fc.integer({ min: 0, max: 0x1f }).filter((c) => c !== 9 && c !== 10 && c !== 13).map((c) => String.fromCharCode(c));
  // Deep nesting travels as a marker and is spelled out in the JSON text (JSON.stringify would recurse).
  const deep = fc.integer({ min: 1000, max: 50_000 }).map((d) => ({ __deep: d }));
  const toJson = (body: unknown) => JSON.stringify(body).replace(/\{"__deep":(\d+)\}/g, (_m, d) => '['.repeat(Number(d)) + ']'.repeat(Number(d)));

  /** Values that must be refused in a field of this schema. */
  function hostile(s: Schema): fc.Arbitrary<unknown> {
    const k = kinds(s);
    const options: Array<fc.Arbitrary<unknown>> = [deep];
    if (k.includes('integer')) {
      const max = s.maximum ?? s.anyOf?.find((x: Schema) => x.type === 'integer')?.maximum ?? 2_147_483_647;
      if (max < Number.MAX_SAFE_INTEGER) options.push(fc.integer({ min: max + 1, max: Number.MAX_SAFE_INTEGER }));
      options.push(fc.double({ min: 2 ** 53, max: 1e308, noNaN: true, noDefaultInfinity: true }),
        fc.integer({ min: Number.MIN_SAFE_INTEGER, max: -1 }), fc.constantFrom(0.5, 2 ** 31 + 0.5));
    }
    if (k.includes('number')) {
      options.push(fc.double({ min: 1e16, max: 1e308, noNaN: true, noDefaultInfinity: true }),
        fc.double({ min: Number.MIN_VALUE, max: 9.99e-13, noNaN: true }), fc.double({ min: -1e308, max: -Number.MIN_VALUE, noNaN: true }));
    }
    // Dates the format accepts but no calendar (or no future) has.
    if (s.format === 'date-time') options.push(fc.constantFrom('2030-06-30T23:59:60Z', '0000-01-01T00:00:00Z', '2020-01-01T00:00:00Z'));
    if (k.includes('string') || k.includes('enum')) {
      const bad = fc.oneof(C0, fc.constantFrom('\ud800', '\udfff', '\u007f'));
      options.push(fc.tuple(fc.string({ maxLength: 20 }), bad, fc.string({ maxLength: 20 })).map(([a, b, c]) => a + b + c));
    }
    return fc.oneof(...options);
  }

  const set = (body: any, path: string[], v: unknown) => {
    let o = body;
    for (const p of path.slice(0, -1)) o = o[p];
    o[path[path.length - 1]!] = v;
  };

  it('never answers 5xx, and names the field', async () => {
    // Fresh targets for the routes whose ids matter; the signed-in admin also owns a key (for /api-keys/{id}).
    const target = await person('fz-target');
    expect((await sys.admin('POST', `/admin/users/${target}/subscriptions`, { modelId: MODEL })).status).toBe(201);
    const pending = await sys.admin('POST', `/admin/users/${target}/subscriptions`, { modelId: RESTRICTED });
    expect((await sys.admin('PATCH', `/admin/subscriptions/${pending.body.id}`, { status: 'pending' })).status).toBe(200);
    const ownKey = (await root.call('POST', '/api-keys', { name: 'fz-own', models: [MODEL] })).body.id;
    expect((await sys.admin('POST', '/admin/models', { id: 'fz-put', ...PRICES, deployments: [{ url: 'http://127.0.0.1:9/v1', upstreamModel: 'x' }] })).status).toBe(201);
    const team = (await sys.admin('POST', '/admin/teams', { name: 'fz-team' })).body.id as string;
    expect((await sys.admin('POST', `/admin/teams/${team}/subscriptions`, { modelId: MODEL })).status).toBe(201);
    const banner = (await sys.admin('POST', '/admin/banners', { markdown: 'fz' })).body.id as string;
    const idFor = (path: string) =>
      path.includes('/banners/{id}') ? banner : path.includes('/teams/{id}') ? team : path.includes('api-keys/{id}') ? ownKey : path.includes('/models/{id}') ? 'fz-put' : path.includes('/users/{id}') ? target
        : path.includes('/subscriptions/{id}') ? pending.body.id : 'none';

    const spec = await (await fetch(`${sys.url}/docs/json`)).json() as { paths: Record<string, Record<string, Schema>> };
    let routes = 0, sent = 0;
    for (const [path, ops] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        // Logging out would end the session the walk runs on.
        if (!['post', 'put', 'patch'].includes(method) || path === '/api/auth/logout') continue;
        const schema = op.requestBody?.content?.['application/json']?.schema as Schema | undefined;
        const url = path.replace('{id}', encodeURIComponent(idFor(path)));
        if (!schema) {
          // No body expected: a hostile one is ignored or refused, never a 500.
          const r = await raw(method.toUpperCase(), url, '['.repeat(50_000) + ']'.repeat(50_000));
          expect(r.status, `${method} ${path}`).toBeLessThan(500);
          continue;
        }
        routes++;
        const all = leaves(schema, [], '');
        await fc.assert(fc.asyncProperty(fc.constantFrom(...all).chain((l) => hostile(l.schema).map((v) => [l, v] as const)), async ([leaf, value]) => {
          const body = valid(schema, '') as any;
          // Give the leaf's parents a valid shape when they are optional (left out of the minimal body).
          let o = body;
          leaf.path.slice(0, -1).forEach((p, i) => {
            if (o[p] === undefined) o[p] = /^\d+$/.test(leaf.path[i + 1]!) ? [] : {};
            o = o[p];
          });
          set(body, leaf.path, value);
          const r = await raw(method.toUpperCase(), url, toJson(body));
          sent++;
          const where = `${method.toUpperCase()} ${path} ${leaf.path.join('.')}=${JSON.stringify(value)?.slice(0, 80)}`;
          expect(r.status, `${where} → ${r.text.slice(0, 200)}`).toBe(400);
          const field = String(JSON.parse(r.text).error.field).replace(/\[(\d+)\]/g, '.$1');
          expect(field, where).toBe(leaf.path.join('.'));
        }), { seed: 20260301, numRuns: Math.min(5 * all.length, 80), endOnFailure: true });
      }
    }
    expect(routes).toBeGreaterThanOrEqual(15);
    expect(sent).toBeGreaterThan(500);
  }, 180_000);

  /** The signed-in admin (a person with a session, so the user routes answer too), with CSRF and a fresh address. */
  async function raw(method: string, path: string, body: string): Promise<{ status: number; text: string }> {
    const r = await fetch(sys.url + path, {
      method, body,
      headers: {
        'content-type': 'application/json', 'x-forwarded-for': address(), 'x-csrf-token': root.cookie('litemaas_csrf')!,
        cookie: `litemaas_session=${root.cookie('litemaas_session')}; litemaas_csrf=${root.cookie('litemaas_csrf')}`,
      },
    });
    return { status: r.status, text: await r.text() };
  }
});

describe('who may call is decided before the body is read', () => {
  /** Headers and the first KiB of a 50 MB body that never finishes: the answer must not wait for the rest. */
  function slowBody(method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; ms: number }> {
    const u = new URL(sys.url + path);
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, agent: false,
        headers: { 'content-type': 'application/json', 'content-length': String(50 * 1024 * 1024), ...headers } });
      const timer = setTimeout(() => { req.destroy(); reject(new Error(`${method} ${path}: no answer within 3 s (the body is being read)`)); }, 3000);
      req.on('response', (res) => {
        clearTimeout(timer);
        res.resume();
        resolve({ status: res.statusCode!, ms: Date.now() - started });
        req.destroy();
      });
      req.on('error', (err) => { clearTimeout(timer); if (!(err as NodeJS.ErrnoException).code?.startsWith('ECONNRESET')) reject(err); });
      req.write('{"name":"' + 'x'.repeat(1024));
    });
  }

  it('answers an anonymous large body with 401 at once, on every guarded route of the OpenAPI document', async () => {
    const spec = await (await fetch(`${sys.url}/docs/json`)).json() as { paths: Record<string, Record<string, unknown>> };
    const open = new Set(['/api/v1/config', '/api/auth/login', '/api/auth/logout', '/api/auth/oidc/login', '/api/auth/oidc/callback']);
    let checked = 0;
    for (const [path, ops] of Object.entries(spec.paths)) {
      if (open.has(path) || !path.startsWith('/api/')) continue;
      for (const method of Object.keys(ops).map((m) => m.toUpperCase())) {
        if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) continue;
        const r = await slowBody(method, path.replace('{id}', 'some-id'));
        expect(r.status, `${method} ${path}`).toBe(401);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(15);
  });

  it('answers a signed-in person without the admin role with 403 before their body arrives', async () => {
    await person('slowpoke');
    const s = await Session.signIn(sys.url, 'slowpoke', PW);
    const cookie = `litemaas_session=${s.cookie('litemaas_session')}; litemaas_csrf=${s.cookie('litemaas_csrf')}`;
    const r = await slowBody('POST', '/api/v1/admin/users', { cookie, 'x-csrf-token': s.cookie('litemaas_csrf')! });
    expect(r.status).toBe(403);
  });
});

describe('security events in the audit log', () => {
  it('records failed sign-ins, the lockout and locked-out attempts, with the name and address but never the password', async () => {
    await person('victim');
    const guesses = ['guess-one-secret', 'guess-two-secret', 'guess-three-secret', 'guess-four-secret', 'guess-five-secret'];
    for (const g of guesses) expect((await login('victim', g)).status).toBe(401);
    expect((await login('nobody-here', 'guess-six-secret')).status).toBe(401);
    const locked = await login('victim', PW);
    expect(locked.status).toBe(429);

    const failed = (await audit('auth.login_failed')).filter((e) => e.actor === 'victim');
    expect(failed).toHaveLength(5);
    expect(failed[0].details).toMatchObject({ method: 'password', reason: 'bad_credentials' });
    expect(failed[0].details.address).toMatch(/^10\.0\./);
    expect((await audit('auth.login_failed')).some((e) => e.actor === 'nobody-here')).toBe(true);
    expect((await audit('auth.lockout')).filter((e) => e.actor === 'victim')).toHaveLength(1);
    expect((await audit('auth.login_locked')).filter((e) => e.actor === 'victim')).toHaveLength(1);

    const all = JSON.stringify((await sys.admin('GET', '/admin/audit?limit=1000')).body);
    for (const g of [...guesses, 'guess-six-secret', PW]) expect(all).not.toContain(g);
  });

  it('records a refused CSRF token and a logout', async () => {
    await person('clicker');
    const s = await Session.signIn(sys.url, 'clicker', PW);
    const forged = await s.call('POST', '/subscriptions', { modelId: MODEL }, { csrf: 'forged' });
    expect(forged.status).toBe(403);
    const csrf = (await audit('auth.csrf_failed')).find((e) => e.actor === 'clicker');
    expect(csrf).toMatchObject({ target: ids.clicker, details: { method: 'POST', path: '/api/v1/subscriptions' } });
    expect(JSON.stringify(csrf)).not.toContain(s.cookie('litemaas_csrf'));
    expect((await s.call('POST', '/api/auth/logout')).status).toBe(204);
    expect((await audit('auth.logout')).find((e) => e.actor === 'clicker')).toMatchObject({ target: ids.clicker });
  });

  it('records refused reveals: an old sign-in, someone else\'s key, a revoked key', async () => {
    await person('revealer');
    expect((await sys.admin('POST', `/admin/users/${ids.revealer}/subscriptions`, { modelId: MODEL })).status).toBe(201);
    let s = await Session.signIn(sys.url, 'revealer', PW);
    const k = (await s.call('POST', '/api-keys', { name: 'r', models: [MODEL] })).body;
    await sys.server.store.db.updateTable('sessions').set({ authenticated_at: new Date(Date.now() - 3_600_000) }).where('user_id', '=', ids.revealer!).execute();
    expect((await s.call('POST', `/api-keys/${k.id}/reveal`)).status).toBe(403);
    const other = (await root.call('POST', '/api-keys', { name: 'not yours', models: [MODEL] })).body;
    s = await Session.signIn(sys.url, 'revealer', PW);
    expect((await s.call('POST', `/api-keys/${other.id}/reveal`)).status).toBe(404);
    expect((await s.call('DELETE', `/api-keys/${k.id}`)).status).toBe(200);
    expect((await s.call('POST', `/api-keys/${k.id}/reveal`)).status).toBe(400);
    const refused = (await audit('api_key.reveal_refused')).filter((e) => e.actor === 'revealer');
    expect(refused.map((e) => [e.target, e.details.reason]).reverse()).toEqual([[k.id, 'reauth_required'], [other.id, 'not_found'], [k.id, 'revoked']]);
    expect(JSON.stringify(refused)).not.toMatch(/sk-[A-Za-z0-9_-]{43}/);
  });
});

describe('usage CSV cells', () => {
  it('toCsv drops control characters from every cell and still defuses formulas', () => {
    const csv = toCsv('key', [{ keyId: 'k\u00001', keyName: '\t=HYPERLINK("x")\r\nnext,row\u001b', userId: 'u\u0007', username: '@owner\u0000', requests: 1, errors: 0, promptTokens: 1, completionTokens: 1, totalTokens: 2, cost: 0, costExact: '0.000000000000' } as never]);
    const lines = csv.split('\r\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe('keyId,keyName,userId,username,requests,errors,promptTokens,completionTokens,totalTokens,cost');
    expect(lines[1]).toBe(`k1,"'=HYPERLINK(""x"")next,row",u,'@owner,1,0,1,1,2,0.000000000000`);
    expect(csv.replace(/\r\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f]/);
  });

  it('an export of rows with client-influenced model ids and key names is clean', async () => {
    const db = sys.server.store.db;
    await person('exporter');
    expect((await sys.admin('POST', `/admin/users/${ids.exporter}/subscriptions`, { modelId: MODEL })).status).toBe(201);
    const k = (await sys.admin('POST', `/admin/users/${ids.exporter}/api-keys`, { name: 'clean', models: [MODEL] })).body;
    // What older rows or the gateway may hold: control characters the API now refuses.
    await db.updateTable('api_keys').set({ name: 'bad\r\nname\u0007' }).where('id', '=', k.id).execute();
    const today = new Date().toISOString().slice(0, 10);
    await sql`insert into usage_daily (day, key_id, user_id, model_id, requests, errors, prompt_tokens, completion_tokens, cost)
      values (${today}, ${k.id}, ${ids.exporter}, ${'model\u0001\r\nid'}, 1, 0, 1, 1, 0)`.execute(db);
    for (const groupBy of ['key', 'model']) {
      const r = await fetch(`${sys.url}/api/v1/admin/usage/export?format=csv&groupBy=${groupBy}&userId=${ids.exporter}&from=${today}&to=${today}`,
        { headers: { authorization: `Bearer ${sys.adminToken}` } });
      expect(r.status).toBe(200);
      const text = await r.text();
      expect(text.split('\r\n').filter(Boolean)).toHaveLength(2);
      expect(text.replace(/\r\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f]/);
      expect(text).toContain(groupBy === 'key' ? 'badname' : 'modelid');
    }
  });
});

describe('migration 005 on existing keys', () => {
  it('records, from the audit log, the limits admins set on keys made before it', async () => {
    const fresh = await freshDatabase('litemaas_m005');
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: fresh.url, max: 1 }) }) });
    try {
      for (const m of [m001, m002, m003]) await m.up(db);
      await db.insertInto('users').values([
        { id: 'u-owner', username: 'owner', roles: ['user'], budget_period: 'none' },
        { id: 'u-admin', username: 'boss', roles: ['admin'], budget_period: 'none' },
      ]).execute();
      const keyRow = (id: string) => ({ id, user_id: 'u-owner', name: id, prefix: 'sk-x', hash: `h-${id}`, secret_enc: 'x', budget_period: 'monthly' });
      await db.insertInto('api_keys').values([keyRow('k-admin'), keyRow('k-own')]).execute();
      const act = (actor: string, action: string, target: string, details: object) => ({ actor, action, target, details: JSON.stringify(details) });
      await db.insertInto('audit_log').values([
        act('boss', 'api_key.create', 'k-admin', { userId: 'u-owner', name: 'k', models: ['m'], maxBudget: 10, rpm: 60, expiresAt: '2030-01-01T00:00:00Z' }),
        act('owner', 'api_key.update', 'k-admin', { rpm: 100000, maxBudget: null }),
        act('admin-token', 'api_key.update', 'k-admin', { tpm: 5, expiresAt: null }),
        act('owner', 'api_key.create', 'k-own', { name: 'mine', models: ['m'], rpm: 7 }),
        act('boss', 'api_key.rotate', 'k-own', {}),
      ]).execute();
      await m005.up(db);
      const rows = await db.selectFrom('api_keys').select(['id', 'admin_limits']).orderBy('id').execute();
      expect(rows.map((r) => [r.id, parseAdminLimits(r.admin_limits)])).toEqual([
        ['k-admin', { maxBudget: '10', budgetPeriod: 'monthly', rpm: 60, tpm: 5 }],
        ['k-own', {}],
      ]);
      await m005.down(db);
    } finally {
      await db.destroy();
      await fresh.drop();
    }
  });
});
