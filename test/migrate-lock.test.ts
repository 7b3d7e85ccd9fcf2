/**
 * Replicas of a rollout start at once on a database nobody has migrated yet: every one of them
 * migrates at start, under one PostgreSQL advisory lock (src/store/migrate.ts). Two real
 * `node dist/src/cli.js serve` processes started in the same instant on a fresh database both
 * become ready and the schema is applied once; two `migrate` processes at once: one
 * applies every migration, the other finds the database up to date. While a session holds the
 * lock, a migration waits for it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { MIGRATION_LOCK_KEY } from '../src/store/migrate.js';
import { freshDatabase } from './helpers/pg.js';
import { freePort } from './helpers/net.js';

const CLI = 'dist/src/cli.js';
const children: ChildProcess[] = [];
const dirs: string[] = [];
const dbs: Array<{ drop(): Promise<void> }> = [];

interface Proc { child: ChildProcess; out: () => string; exit: Promise<number | null> }

function run(args: string[], env: Record<string, string>): Proc {
  const dataDir = mkdtempSync(join(tmpdir(), 'litemaas-migrate-lock-'));
  dirs.push(dataDir);
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', HOST: '127.0.0.1', LITEMAAS_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d; });
  child.stderr!.on('data', (d: Buffer) => { out += d; });
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, exit };
}

async function ready(url: string, p: Proc, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (p.child.exitCode !== null) throw new Error(`exited (${p.child.exitCode}): ${p.out()}`);
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) return;
    if (Date.now() > deadline) throw new Error(`not ready within ${ms} ms: ${p.out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function query<T = any>(url: string, text: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try { return (await c.query(text)).rows as T[]; } finally { await c.end(); }
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once('exit', r)))));
  for (const d of dbs) await d.drop().catch(() => {});
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('migrations under a PostgreSQL advisory lock', () => {
  it('two serve processes started at once on a fresh database both become ready, and the schema is applied once', async () => {
    const db = await freshDatabase('litemaas_migrate_lock');
    dbs.push(db);
    const env = { DATABASE_URL: db.url, LITEMAAS_ADMIN_TOKEN: randomBytes(16).toString('hex'), LITEMAAS_SECRET: randomBytes(32).toString('hex'), LITEMAAS_ADMIN_PASSWORD: 'not-a-real-password-1' };
    const ports = [await freePort(), await freePort()];
    const procs = ports.map((port) => run(['serve'], { ...env, PORT: String(port) }));
    await Promise.all(procs.map((p, i) => ready(`http://127.0.0.1:${ports[i]}`, p)));
    // After listening, each process ensures the `admin` account: both at once must not make either exit.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(procs.filter((p) => p.child.exitCode !== null)).toHaveLength(0);

    const applied = await query<{ name: string }>(db.url, 'select name from litemaas_migrations order by name');
    expect(applied.length).toBeGreaterThanOrEqual(7);
    expect(new Set(applied.map((r) => r.name)).size).toBe(applied.length);
    expect(applied[0]!.name).toBe('001_initial');
    const tables = await query<{ n: number }>(db.url, "select count(*)::int as n from pg_tables where schemaname = 'public' and tablename in ('users', 'api_keys', 'usage_events')");
    expect(tables[0]!.n).toBe(3);
    const admins = await query<{ n: number }>(db.url, "select count(*)::int as n from users where username = 'admin'");
    expect(admins[0]!.n).toBe(1);
    // No lock left behind once both are up.
    const locks = await query<{ n: number }>(db.url, `select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`);
    expect(locks[0]!.n).toBe(0);

    // The survivors drain and exit cleanly on SIGTERM.
    const running = procs.filter((p) => p.child.exitCode === null);
    for (const p of running) p.child.kill('SIGTERM');
    expect(await Promise.all(running.map((p) => p.exit))).toEqual(running.map(() => 0));
  });

  it('two migrate processes at once: one applies every migration, the other finds the database up to date', async () => {
    const db = await freshDatabase('litemaas_migrate_lock');
    dbs.push(db);
    const procs = [run(['migrate'], { DATABASE_URL: db.url }), run(['migrate'], { DATABASE_URL: db.url })];
    expect(await Promise.all(procs.map((p) => p.exit))).toEqual([0, 0]);
    const outs = procs.map((p) => p.out().trim()).sort();
    expect(outs[0]).toMatch(/^applied: 001_initial, 002_sessions, .*007_change_payloads/);
    expect(outs[1]).toBe('database is up to date');
  });

  it('waits while another session holds the lock, then migrates', async () => {
    const db = await freshDatabase('litemaas_migrate_lock');
    dbs.push(db);
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query(`select pg_advisory_lock(${MIGRATION_LOCK_KEY.toString()})`);
      const p = run(['migrate'], { DATABASE_URL: db.url });
      await new Promise((r) => setTimeout(r, 1_500));
      expect(p.child.exitCode, p.out()).toBeNull();
      expect((await query(db.url, "select 1 from pg_tables where tablename = 'litemaas_migrations'")).length).toBe(0);
      await holder.query(`select pg_advisory_unlock(${MIGRATION_LOCK_KEY.toString()})`);
      expect(await p.exit).toBe(0);
      expect(p.out()).toMatch(/^applied: 001_initial/);
    } finally {
      await holder.end();
    }
  });
});
