/**
 * A PostgreSQL server of the test's own (Debian's binaries), for tests that
 * must see its connection count or must not disturb the shared one. initdb and
 * postgres refuse to run as root, so both run as the `postgres` OS user through
 * setpriv, which execs (the pid we hold is the postmaster itself, no wrapper).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './net.js';

const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PgInstance {
  port: number;
  /** postgres://postgres@127.0.0.1:PORT/<db> */
  url(db?: string): string;
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim();
  const uid = id('-u'), gid = id('-g');
  if (!uid || !gid) throw new Error('no postgres OS user to run initdb/postgres as');
  return { uid: Number(uid), gid: Number(gid) };
}

export async function startPgInstance(opts: { maxConnections: number }): Promise<PgInstance> {
  const { uid, gid } = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), 'litemaas-pg-'));
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const [cmd, ...pre] = ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--'];
  const init = spawnSync(cmd!, [...pre, join(BIN, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'], { encoding: 'utf8' });
  if (init.status !== 0) { rmSync(dir, { recursive: true, force: true }); throw new Error(`initdb failed: ${init.stderr}`); }
  const port = await freePort();
  const child: ChildProcess = spawn(cmd!, [...pre, join(BIN, 'postgres'), '-D', data, '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`, '-c', `max_connections=${opts.maxConnections}`,
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'shared_buffers=16MB'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (b: Buffer) => { log = (log + b.toString()).slice(-4000); });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const c = new pg.Client({ connectionString: url() });
    c.on('error', () => {});
    try { await c.connect(); await c.end(); break; } catch {
      await c.end().catch(() => {});
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`postgres did not start: ${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    port,
    url,
    async createDatabase(name) {
      const c = new pg.Client({ connectionString: url() });
      await c.connect();
      await c.query(`create database ${name}`);
      await c.end();
      return url(name);
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGINT'); // fast shutdown: disconnects clients, no waiting for them
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
