/**
 * @module Admission shared by every replica, on Redis (REDIS_URL set). One
 * Lua script (ADMIT) checks rpm/tpm of the key and its owner, the key's
 * max-parallel slot, the key's and the owner's budgets and the subscription's
 * quotas, and takes all of it or nothing: Redis runs a script alone, so no
 * interleaving of replicas can overspend.
 *
 * Most requests do not go there: the ADMIT that a request does make also
 * grants this replica leases (redis-leases.ts) — slices of each limit the
 * request is subject to — and later requests are admitted against them in
 * memory; a flush every 50 ms converts what they used into the counters and
 * tops up leases running low. A request goes to Redis when a lease is
 * missing or short (near a limit, leases shrink to nothing: the last slice of
 * a budget is spent one round trip per request), when its key has a
 * max-parallel limit (slots are per request), or with leases off.
 *
 * Same rules as LocalAdmission (src/gateway/authorize.ts, src/ledger/limits.ts
 * and budgets.ts), same errors and Retry-After. Differences:
 * - time is Redis's clock (TIME), so replicas agree on the minute windows;
 * - what a ticket takes (a tpm hold, a slot, a budget or quota reservation)
 *   lives in a per-scope ZSET whose score is its expiry (the lease, longer
 *   than any request): a replica that dies holding them blocks nothing longer
 *   than that; each admit sweeps what expired in the scopes it touches;
 * - money is pico-units (1e-12) as decimal integer strings: Redis adds them
 *   as int64 (HINCRBY) and the script compares them as strings (length, then
 *   digits) and adds them digit by digit, never as Lua doubles;
 * - spend counters (cost, requests, tokens per scope and period) are seeded
 *   from PostgreSQL's rollups plus this replica's unwritten journal the first
 *   time a limited scope needs them (a new period, or Redis restarted empty),
 *   with "set if absent", then the admit is retried once. Settling adds to a
 *   counter only if it exists (a missing one is seeded from the database,
 *   which has the event).
 *
 * Redis unreachable: `closed` (default) answers 503 budgets_unavailable;
 * `open` admits through a LocalAdmission whose budgets, quotas and limits are
 * each replica's share (1/replicas), never the whole. Either is logged once
 * per outage and counted. When Redis is back, the spend counters touched
 * meanwhile are dropped and reseeded from the database (which has the
 * outage's events), and releases that could not be sent are resent.
 */
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Redis } from 'ioredis';
import type { Database, BudgetPeriod } from '../store/schema.js';
import type { UsageEvent } from '../ledger/event.js';
import { isSuccess, utcDay } from '../ledger/event.js';
import { periodStart, secondsToReset } from '../ledger/budgets.js';
import { toPico } from '../shared/money.js';
import { GatewayError } from './errors.js';
import { eventOfKey, sliceParts } from '../ledger/key-slices.js';
import { maxCost } from './authorize.js';
import type { Admission, AdmissionRequest, Ticket } from './admission.js';
import { isTeam, type KeyEntry, type SubscriptionEntry } from './snapshot.js';
import { ADMIT, FLUSH, SEED, SETTLE } from './redis-scripts.js';
import { Lease, Pool, addTo, isZero, parseMember, subFrom, zero, type Amount, type Kind, type Need, type Part } from './redis-leases.js';

export type FailureMode = 'closed' | 'open';

export interface RedisAdmissionOptions {
  redis: Redis;
  db: Kysely<Database>;
  /** The ledger's events not yet confirmed written (seeding adds those the database does not have yet). */
  unwritten: () => readonly UsageEvent[];
  failureMode?: FailureMode;
  /**
   * `open` mode: admits while Redis is unreachable, with budgets, quotas and limits divided by
   * `replicas`. Its spend tracker is fed with this replica's settled events.
   */
  fallback?: Admission & { spendAdd?(e: UsageEvent, cost: bigint): void };
  replicas?: number;
  /** How long a ticket's holds, slot and reservations outlive a replica that died (ms; default 150 s). */
  leaseMs?: number;
  prefix?: string;
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** Called per request decided without Redis (refused in closed mode, admitted locally in open mode), and on up/down. */
  onFallback?: (mode: FailureMode) => void;
  onState?: (up: boolean) => void;
  /** Leases (slices of each limit spent without a round trip; redis-leases.ts). Default on. */
  leases?: boolean;
  /** A lease's life in Redis without renewal (ms; default 10 s): a replica that dies blocks its slices no longer. */
  sliceMs?: number;
  /** How often leases' use is converted into the shared counters (ms; default 50). */
  flushMs?: number;
  /** A lease unused this long is given back (ms; default 1 s). */
  idleMs?: number;
}

interface Commands {
  litemaasAdmit(...args: string[]): Promise<Array<number | string>>;
  litemaasSettle(...args: string[]): Promise<number>;
  litemaasFlush(numKeys: number, ...args: string[]): Promise<Array<number | string>>;
  litemaasSeed(numKeys: number, ...args: string[]): Promise<number>;
}

/** A spend counter: one scope (key, user, subscription) in one period. */
interface Counter { redisKey: string; scope: 'k' | 'u' | 's'; userId: string; keyId: string; modelId: string; start: string | null; ttl: number }

/** A never-resetting counter is kept this long after its last use (then reseeded from the database). */
const ALL_TIME_TTL = 30 * 86_400;
/** A period's counter outlives the period by this much (late settles of its requests still find it). */
const PERIOD_MARGIN = 2 * 86_400;
const opt = (v: number | bigint | null): string => (v === null ? '' : String(v));
const DAY_MS = 86_400_000;

/** What a key's admits on one model on one UTC day send as KEYS (built once, reused while nothing it depends on changes). */
interface KeySet {
  keyId: string; userId: string; modelId: string; keyPeriod: BudgetPeriod; userPeriod: BudgetPeriod; day: number;
  keys: string[]; settleKeys: string[]; ttls: string[];
}

/** Leases are sized in requests of the size of the one that asks: the largest slice that leaves the others room. */
const SLICES = [32, 8, 2];
/** Leases converted by one FLUSH at most. */
const MAX_FLUSH = 500;
/** The largest lease, in requests. */
const MAX_SLICE = 4096;
/** Waits before retrying an admission refused only because other replicas held leases (ms). */
const DRAIN_WAITS = [5, 10, 20, 40, 80, 160, 320, 640];
/** How long a drained pool takes no lease here (ms; Redis refuses grants for as long). */
const DRAIN_MS = 1_000;
/** Lease kinds and the KEYS indexes (1-based, in ADMIT) of their ZSET, HASH and counter or window. */
const POOL_KEYS: Record<'rk' | 'ru' | 'tk' | 'tu' | 'bk' | 'bu' | 'qs', [Kind, number, number, number]> = {
  rk: ['r', 19, 20, 1], ru: ['r', 21, 22, 2], tk: ['t', 5, 6, 3], tu: ['t', 7, 8, 4], bk: ['b', 10, 11, 16], bu: ['b', 12, 13, 17], qs: ['q', 14, 15, 18],
};
const ENTRY = 13;

/** Ticket ids: 9 random bytes each (base64url), drawn from a buffer refilled 1024 tickets at a time. */
const TICKET_BYTES = 9;
let ticketPool = Buffer.alloc(0);
let ticketAt = 0;
function ticketId(): string {
  if (ticketAt + TICKET_BYTES > ticketPool.length) { ticketPool = randomBytes(TICKET_BYTES * 1024); ticketAt = 0; }
  const s = ticketPool.toString('base64url', ticketAt, ticketAt + TICKET_BYTES);
  ticketAt += TICKET_BYTES;
  return s;
}

export class RedisAdmission implements Admission {
  private readonly redis: Redis & Commands;
  private readonly p: string;
  private readonly mode: FailureMode;
  private readonly leaseMs: number;
  private readonly replicas: number;
  private down = false;
  /** Spend counters whose Redis value missed something (settled while unreachable, or admitted locally): dropped when Redis is back. */
  private readonly dirty = new Set<string>();
  /** Releases that could not be sent: resent (as "lost": their counters are dropped, then reseeded) when Redis is back. */
  private repairs: string[][] = [];
  private readonly shares = new WeakMap<object, KeyEntry>();
  private readonly subShares = new WeakMap<object, SubscriptionEntry>();
  private readonly keySets = new WeakMap<KeyEntry, Map<string, KeySet>>();
  private readonly leaseArg: string;
  private readonly leasing: boolean;
  private readonly sliceMs: number;
  private readonly idleMs: number;
  /** This replica's pools by counter or window key, and by ZSET (a drain names the ZSET). */
  private readonly pools = new Map<string, Pool>();
  private readonly poolsByZ = new Map<string, Set<Pool>>();
  private readonly replicaId = randomBytes(6).toString('base64url');
  private leaseSeq = 0;
  private flushing: Promise<void> | null = null;
  /** Members that may be in Redis after a script whose answer was lost: removed by the next flush. */
  private orphans: Array<{ pool: Pool; member: string }> = [];
  /** Admissions on their way to Redis per pool (a pool they may grant into is kept). */
  private readonly inFlight = new Map<Pool, number>();
  private timer: NodeJS.Timeout | null = null;
  private readonly sub: Redis | null = null;
  private readonly drainChannel: string;

  constructor(private readonly o: RedisAdmissionOptions) {
    this.redis = o.redis as Redis & Commands;
    this.p = o.prefix ?? 'litemaas:';
    this.mode = o.failureMode ?? 'closed';
    this.leaseMs = o.leaseMs ?? 150_000;
    this.replicas = Math.max(1, o.replicas ?? 2);
    this.leaseArg = String(this.leaseMs);
    this.leasing = o.leases ?? true;
    this.sliceMs = Math.min(o.sliceMs ?? 10_000, this.leaseMs);
    this.idleMs = o.idleMs ?? 1_000;
    this.drainChannel = `${this.p}drain`;
    if (this.mode === 'open' && !o.fallback) throw new Error('RedisAdmission: open failure mode needs a fallback admission');
    if (typeof (o.redis as Partial<Commands>).litemaasAdmit !== 'function') {
      o.redis.defineCommand('litemaasAdmit', { numberOfKeys: 22, lua: ADMIT });
      o.redis.defineCommand('litemaasSettle', { numberOfKeys: 16, lua: SETTLE });
      o.redis.defineCommand('litemaasFlush', { lua: FLUSH });
      o.redis.defineCommand('litemaasSeed', { lua: SEED });
    }
    if (this.leasing) {
      // Drains arrive on their own connection (a subscribed connection takes no other commands).
      const sub = o.redis.duplicate();
      sub.on('error', () => {});
      sub.on('ready', () => { sub.subscribe(this.drainChannel).catch(() => {}); });
      sub.on('message', (_ch: string, z: string) => this.drain(z));
      this.sub = sub;
      this.timer = setInterval(() => { void this.flush(); }, o.flushMs ?? 50);
      this.timer.unref();
    }
  }

  /** The spend counter of a scope for the period containing `at`. */
  private counter(scope: 'k' | 'u' | 's', key: KeyEntry, modelId: string, period: BudgetPeriod, at: Date): Counter {
    const start = periodStart(period, at);
    const id = scope === 'k' ? key.id : scope === 'u' ? key.user.id : `${key.user.id}|${modelId}`;
    const reset = secondsToReset(period, at);
    return {
      redisKey: `${this.p}spent:${scope}:${id}:${period}${start ? ':' + start : ''}`,
      scope, userId: key.user.id, keyId: key.id, modelId, start, ttl: reset === null ? ALL_TIME_TTL : reset + PERIOD_MARGIN,
    };
  }

  /** The KEYS of a key's admits on a model at `at`: cached per key and model, rebuilt when the day, the ids or the periods change. */
  private keySet(key: KeyEntry, modelId: string, at: Date): KeySet {
    const day = Math.floor(at.getTime() / DAY_MS);
    let byModel = this.keySets.get(key);
    if (!byModel) this.keySets.set(key, (byModel = new Map()));
    const c = byModel.get(modelId);
    if (c && c.day === day && c.keyId === key.id && c.userId === key.user.id && c.keyPeriod === key.budgetPeriod && c.userPeriod === key.user.budgetPeriod) return c;
    const p = this.p;
    const counters = this.counters(key, modelId, at);
    const scope = { k: `k:${key.id}`, u: `u:${key.user.id}`, s: `s:${key.user.id}|${modelId}` };
    const keys = [
      `${p}w:rpm:${scope.k}`, `${p}w:rpm:${scope.u}`, `${p}w:tpm:${scope.k}`, `${p}w:tpm:${scope.u}`,
      `${p}hold:${scope.k}`, `${p}held:${scope.k}`, `${p}hold:${scope.u}`, `${p}held:${scope.u}`, `${p}slots:${key.id}`,
      `${p}res:${scope.k}`, `${p}ressum:${scope.k}`, `${p}res:${scope.u}`, `${p}ressum:${scope.u}`, `${p}res:${scope.s}`, `${p}ressum:${scope.s}`,
      counters[0].redisKey, counters[1].redisKey, counters[2].redisKey,
      `${p}rhold:${scope.k}`, `${p}rheld:${scope.k}`, `${p}rhold:${scope.u}`, `${p}rheld:${scope.u}`,
    ];
    const set: KeySet = {
      keyId: key.id, userId: key.user.id, modelId, keyPeriod: key.budgetPeriod, userPeriod: key.user.budgetPeriod, day, keys,
      settleKeys: [keys[2]!, keys[3]!, ...keys.slice(4, 18)],
      ttls: counters.map((c) => (c.start === null ? String(c.ttl) : '0')),
    };
    if (byModel.size > 64) byModel.clear();
    byModel.set(modelId, set);
    return set;
  }

  private counters(key: KeyEntry, modelId: string, at: Date): [Counter, Counter, Counter] {
    return [this.counter('k', key, modelId, key.budgetPeriod, at), this.counter('u', key, modelId, key.user.budgetPeriod, at), this.counter('s', key, modelId, 'monthly', at)];
  }

  admit(r: AdmissionRequest): Ticket | Promise<Ticket> {
    if (this.redis.status !== 'ready') {
      try { return Promise.resolve(this.unreachable(r, new Error(`connection ${this.redis.status}`))); } catch (err) { return Promise.reject(err); }
    }
    const bound = r.bounds.prompt + r.bounds.completion;
    const cost = r.free ? 0n : maxCost(r.model, r.bounds);
    const needs = this.leasing ? this.needsOf(r, bound, cost) : null;
    if (needs) {
      const t = this.admitLeased(needs);
      if (t) return t;
    }
    return this.admitShared(r, bound, cost, needs).catch((err: unknown) => {
      if (err instanceof GatewayError) throw err;
      return this.unreachable(r, err);
    });
  }

  /**
   * What a request takes from each pool it is limited by; null when it cannot be leased (a
   * max-parallel limit: slots are taken in Redis per request; a free model with a budget).
   */
  private needsOf(r: AdmissionRequest, bound: number, cost: bigint): Need[] | null {
    const { key, sub } = r;
    if (key.maxParallel !== null) return null;
    const needs: Need[] = [];
    if (key.rpm !== null) needs.push(this.need(r, 'rk', { c: 0n, r: 1, t: 0 }, String(key.rpm), ''));
    if (key.user.rpm !== null) needs.push(this.need(r, 'ru', { c: 0n, r: 1, t: 0 }, String(key.user.rpm), ''));
    if (key.tpm !== null) needs.push(this.need(r, 'tk', { c: 0n, r: 0, t: Math.min(bound, key.tpm) }, String(key.tpm), ''));
    if (key.user.tpm !== null) needs.push(this.need(r, 'tu', { c: 0n, r: 0, t: Math.min(bound, key.user.tpm) }, String(key.user.tpm), ''));
    if (!r.free) {
      if ((key.maxBudget !== null || key.user.maxBudget !== null) && cost === 0n) return null;
      if (key.maxBudget !== null) needs.push(this.need(r, 'bk', { c: cost, r: 0, t: 0 }, String(key.maxBudget), ''));
      if (key.user.maxBudget !== null) needs.push(this.need(r, 'bu', { c: cost, r: 0, t: 0 }, String(key.user.maxBudget), ''));
      if (sub.quotaRequests !== null || sub.quotaTokens !== null) needs.push(this.need(r, 'qs', { c: 0n, r: 1, t: bound }, opt(sub.quotaRequests), opt(sub.quotaTokens)));
    }
    return needs;
  }

  private need(r: AdmissionRequest, which: keyof typeof POOL_KEYS, amount: Amount, lim1: string, lim2: string): Need {
    const [kind, zi, hi, xi] = POOL_KEYS[which];
    const keys = this.keySet(r.key, r.model.id, r.at).keys;
    const x = keys[xi - 1]!;
    let pool = this.pools.get(x);
    if (!pool) {
      const ks = this.keySet(r.key, r.model.id, r.at);
      const cttl = which === 'bk' ? ks.ttls[0]! : which === 'bu' ? ks.ttls[1]! : which === 'qs' ? ks.ttls[2]! : '0';
      pool = new Pool(kind, keys[zi - 1]!, keys[hi - 1]!, x, cttl);
      this.pools.set(x, pool);
      let byZ = this.poolsByZ.get(pool.z);
      if (!byZ) this.poolsByZ.set(pool.z, (byZ = new Set()));
      byZ.add(pool);
    }
    const limits = `${lim1}/${lim2}`;
    pool.unit = amount; pool.lim1 = lim1; pool.lim2 = lim2; pool.limits = limits;
    return { pool, amount, limits, lim1, lim2, idx: [zi, hi, xi] };
  }

  /** Admits against this replica's leases alone, or answers null (a lease is missing, short, stale or lost). */
  private admitLeased(needs: Need[]): Ticket | null {
    const now = Date.now();
    const margin = this.sliceMs / 4;
    for (const n of needs) {
      const l = n.pool.current;
      if (!l || l.lost || l.limits !== n.limits || now > l.expiresAt - margin || !l.covers(n.amount)) return null;
    }
    const parts: Part[] = [];
    for (const n of needs) {
      const l = n.pool.current!;
      addTo(l.held, n.amount);
      l.lastUse = now;
      n.pool.admitted++; n.pool.inflight++;
      parts.push({ lease: l, amount: n.amount });
    }
    return new LeasedTicket(this, parts);
  }

  private async admitShared(r: AdmissionRequest, bound: number, cost: bigint, needs: Need[] | null): Promise<Ticket> {
    for (const n of needs ?? []) this.inFlight.set(n.pool, (this.inFlight.get(n.pool) ?? 0) + 1);
    try {
      return await this.admitRemote(r, bound, cost, needs);
    } finally {
      for (const n of needs ?? []) {
        const c = this.inFlight.get(n.pool)! - 1;
        if (c === 0) this.inFlight.delete(n.pool); else this.inFlight.set(n.pool, c);
      }
    }
  }

  private async admitRemote(r: AdmissionRequest, bound: number, cost: bigint, needs: Need[] | null): Promise<Ticket> {
    const { key, model, sub, at } = r;
    if (this.repairs.length || this.dirty.size) this.repair(); // sent first on the same connection, so Redis runs them before this admit
    const tk = ticketId();
    const ks = this.keySet(key, model.id, at);
    const keys = ks.keys;
    const hasQuota = !r.free && (sub.quotaRequests !== null || sub.quotaTokens !== null);
    const args = [
      tk, this.leaseArg, String(bound), opt(key.rpm), opt(key.user.rpm), opt(key.tpm), opt(key.user.tpm), opt(key.maxParallel),
      r.free ? '1' : '0', String(cost), opt(key.maxBudget), opt(key.user.maxBudget), opt(sub.quotaRequests), opt(sub.quotaTokens), String(bound),
    ];
    let res: Array<number | string> = [3];
    for (let attempt = 0; ; attempt++) {
      const leases = needs ? this.retireFor(needs) : [];
      res = await this.call(keys, args, leases, needs);
      if (res[0] === 3) {
        const counters = this.counters(key, model.id, at);
        await this.seed(res.slice(1).map((i) => counters[Number(i) - 1]!)).catch((err: unknown) => {
          this.o.log?.warn({ err: err instanceof Error ? err.message : String(err) }, 'spend counters could not be loaded from the database');
          throw new GatewayError('budgets_unavailable', 'Budgets cannot be checked while the database is unreachable; retry shortly.', null, 5);
        });
        res = await this.call(keys, args, needs ? this.retireFor(needs) : [], needs);
        if (res[0] === 3) throw new GatewayError('budgets_unavailable', 'Budgets cannot be checked: their counters could not be loaded into the shared store; retry shortly.', null, 5);
      }
      // Refused only because other replicas hold leases: they are giving them back; wait and retry.
      if (res[0] !== 6 || attempt >= DRAIN_WAITS.length) break;
      await new Promise((done) => setTimeout(done, DRAIN_WAITS[attempt]));
    }
    this.up();
    if (res[0] !== 0) this.refuse(r, (res[0] === 6 ? res.slice(1) : res).map(Number), bound, at);
    for (const n of needs ?? []) n.pool.admitted++;
    const holdK = key.tpm !== null ? `${tk}|0|0|${Math.min(bound, key.tpm)}` : '';
    const holdU = key.user.tpm !== null ? `${tk}|0|0|${Math.min(bound, key.user.tpm)}` : '';
    const resK = !r.free && key.maxBudget !== null ? `${tk}|${cost}|0|0` : '';
    const resU = !r.free && key.user.maxBudget !== null ? `${tk}|${cost}|0|0` : '';
    const resS = hasQuota ? `${tk}|0|1|${bound}` : '';
    return new RedisTicket(this, ks.settleKeys, [tk, holdK, holdU, key.maxParallel !== null ? '1' : '0', resK, resU, resS], ks.ttls);
  }

  /** One ADMIT: the request, this replica's leases of its pools retired, new ones asked for. */
  private async call(keys: string[], args: string[], leases: Lease[], needs: Need[] | null): Promise<Array<number | string>> {
    const entries: string[] = [];
    if (needs) {
      needs.forEach((n, i) => {
        const l = leases[i];
        const from = l ? this.conversion(l) : null;
        entries.push(n.pool.kind, String(n.idx[0]), String(n.idx[1]), String(n.idx[2]), from?.old ?? '', from?.keep ?? '',
          from ? String(from.used.c) : '0', from ? String(from.used.r) : '0', from ? String(from.used.t) : '0', n.pool.cttl,
          n.lim1, n.lim2, this.candidates(n.pool));
      });
    }
    const base = `~${this.replicaId}.${this.leaseSeq++}`;
    try {
      const res = await this.redis.litemaasAdmit(...keys, ...args, base, String(this.sliceMs), String(needs?.length ?? 0), ...entries, this.drainChannel);
      if (needs && res[0] === 0) this.granted(needs, res);
      return res;
    } catch (err) {
      // Unknown whether it ran: what it may have left in Redis (the retired leases' new members, a
      // grant of any candidate size) is removed by the next flush, so no slice stays leased to nobody.
      for (const l of leases) if (l) { this.orphan(l.pool, l.member, l); this.lose(l); }
      needs?.forEach((n, e) => { for (const m of this.candidateMembers(`${base}.${e}`, entries[e * ENTRY + 12]!)) this.orphan(n.pool, m); });
      throw err;
    }
  }

  /** Members a grant under `id` may have taken, one per candidate size. */
  private candidateMembers(id: string, cands: string): string[] {
    return cands === '' ? [] : cands.split(';').map((c) => `${id}|${c.split('|').slice(0, 3).join('|')}`);
  }

  /** A member that may exist in Redis with nobody holding it: given back at the next flush (unless requests in flight still hold it). */
  private orphan(pool: Pool, member: string, l?: Lease): void {
    if (member === '' || (l && !isZero(l.held))) return;
    if (this.orphans.length < 10_000) this.orphans.push({ pool, member });
  }

  /** The current leases of these pools, retired (the ADMIT converts them); undefined where there is none. */
  private retireFor(needs: Need[]): Lease[] {
    const out: Lease[] = [];
    needs.forEach((n, i) => {
      const l = n.pool.current;
      if (!l) return;
      n.pool.current = null;
      if (!l.lost) { out[i] = l; n.pool.retiring.add(l); }
    });
    return out;
  }

  /**
   * Lease sizes to ask for, largest first, as "c|r|t|C|R|T" where C|R|T must still fit (room for
   * the other replicas): in requests of the last one's size, enough for the demand seen (what was
   * admitted since the last flush, what is in flight), at least 32, then smaller ones.
   */
  private candidates(pool: Pool): string {
    const room = 2 * this.replicas;
    const want = Math.min(MAX_SLICE, Math.max(SLICES[0]!, 4 * pool.admitted, 2 * pool.inflight));
    const sizes = [...new Set([want, ...SLICES.filter((m) => m < want)])];
    const a = pool.unit;
    return sizes.map((m) => `${a.c * BigInt(m)}|${a.r * m}|${a.t * m}|${a.c * BigInt(m * room)}|${a.r * m * room}|${a.t * m * room}`).join(';');
  }

  private granted(needs: Need[], res: Array<number | string>): void {
    const now = Date.now();
    needs.forEach((n, i) => {
      const m = res[i + 1];
      if (typeof m === 'string' && m !== '') this.adopt(n.pool, m, n.limits, now);
    });
  }

  /** A lease Redis granted becomes the pool's current one; the one it replaces is retired (given back once nobody holds it). */
  private adopt(pool: Pool, member: string, limits: string, at: number): void {
    const l = new Lease(pool, member.slice(0, member.indexOf('|')), parseMember(member), limits, at, this.sliceMs);
    if (pool.current) pool.retiring.add(pool.current);
    pool.current = l;
    // Granted before a drain reached Redis: given back at once.
    if (pool.drainUntil > Date.now()) { pool.retiring.add(l); pool.current = null; void this.flush(); }
    if (!this.pools.has(pool.x)) { // pruned meanwhile: registered again, so flushes see it
      this.pools.set(pool.x, pool);
      let byZ = this.poolsByZ.get(pool.z);
      if (!byZ) this.poolsByZ.set(pool.z, (byZ = new Set()));
      byZ.add(pool);
    }
  }

  /**
   * The step that converts a lease's use into the counter: its member now, the member it becomes
   * (what requests in flight hold, or — while current — what is left; '' when nothing is), what it
   * used. Applied here at once: later steps build on it, and one connection keeps them in order.
   */
  private conversion(l: Lease): { old: string; keep: string; used: Amount } {
    const pool = l.pool;
    const current = pool.current === l;
    const left = current ? { c: max(l.granted.c - l.used.c, l.held.c), r: Math.max(l.granted.r - l.used.r, l.held.r), t: Math.max(l.granted.t - l.used.t, l.held.t) } : { ...l.held };
    const old = l.member;
    const used = l.used;
    const keep = isZero(left) ? '' : isZero(used) && left.c === l.granted.c && left.r === l.granted.r && left.t === l.granted.t ? old : l.next(left);
    l.member = keep;
    l.granted = left;
    l.used = zero();
    l.expiresAt = Date.now() + this.sliceMs;
    if (keep === '') this.forget(l);
    return { old, keep, used };
  }

  /** A lease that is gone: no longer used, and the counters it fed are rebuilt from the database. */
  private lose(l: Lease): void {
    l.lost = true;
    this.forget(l);
    if (l.pool.kind === 'b' || l.pool.kind === 'q') this.dirty.add(l.pool.x);
  }

  private forget(l: Lease): void {
    const p = l.pool;
    if (p.current === l) p.current = null;
    p.retiring.delete(l);
  }

  /** Pools with no lease left are dropped (by flush only: an admission in flight may still grant into one). */
  private prune(p: Pool): void {
    if (p.current || p.retiring.size > 0) return;
    this.pools.delete(p.x);
    const byZ = this.poolsByZ.get(p.z);
    byZ?.delete(p);
    if (byZ?.size === 0) this.poolsByZ.delete(p.z);
  }

  /** Another replica was refused for want of what leases hold: give back this replica's leases of that ZSET. */
  private drain(z: string): void {
    const pools = this.poolsByZ.get(z);
    if (!pools) return;
    for (const p of pools) {
      p.drainUntil = Date.now() + DRAIN_MS;
      if (p.current) { p.retiring.add(p.current); p.current = null; }
    }
    void this.flush();
  }

  /** A ticket on leases settled: its use is converted at the next flush. */
  leaseSettled(parts: Part[], e: UsageEvent | null, cost: bigint, tpmTokens: number): void {
    if (e) this.o.fallback?.spendAdd?.(e, cost);
    const tokens = e ? e.promptTokens + e.completionTokens : 0;
    for (const { lease: l, amount } of parts) {
      subFrom(l.held, amount);
      l.pool.inflight--;
      if (l.lost) continue;
      const u = l.used;
      switch (l.pool.kind) {
        case 'b': if (e) u.c += cost; break;
        case 'q': if (e) { u.r += isSuccess(e) ? 1 : 0; u.t += tokens; } break;
        case 'r': u.r += 1; break;
        case 't': u.t += Math.max(0, Math.round(tpmTokens)); break;
      }
    }
  }

  /**
   * Converts what leases used, renews those about to expire, gives back idle ones and retired
   * ones nobody holds: one FLUSH for all of them. One at a time; what fails is lost (its
   * counters rebuilt from the database, its slices expire in Redis).
   */
  flush(all = false): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (all ? this.flush(true) : undefined));
    if ((this.pools.size === 0 && this.orphans.length === 0) || this.redis.status !== 'ready') return Promise.resolve();
    const now = Date.now();
    const keys: string[] = [];
    const entries: string[] = [];
    const leases: Lease[] = [];
    for (const p of [...this.pools.values()]) {
      if (leases.length >= MAX_FLUSH) break; // one script stays short (Redis runs nothing else meanwhile); the rest go next time
      const cur = p.current;
      if (cur && (all || (now - cur.lastUse > this.idleMs && isZero(cur.held)))) { p.retiring.add(cur); p.current = null; }
      for (const l of [...(p.current ? [p.current] : []), ...p.retiring]) {
        const retired = p.current !== l;
        const due = l.expiresAt - now < this.sliceMs / 2;
        // A lease in use with less than half left is topped up now, before a request finds it short.
        const topUp = !retired && !l.lost && l.limits === p.limits && l.low(p.unit);
        if (!due && !topUp && isZero(l.used) && !(retired && isZero(l.held))) continue;
        const step = this.conversion(l);
        const base = keys.length;
        keys.push(p.z, p.h, p.x);
        entries.push(p.kind, String(base + 1), String(base + 2), String(base + 3), step.old, step.keep,
          String(step.used.c), String(step.used.r), String(step.used.t), p.cttl,
          topUp ? p.lim1 : '', topUp ? p.lim2 : '', topUp ? this.candidates(p) : '');
        leases.push(l);
      }
      p.admitted = 0;
      if (this.inFlight.get(p) === undefined) this.prune(p);
    }
    const orphans = this.orphans.splice(0, Math.max(0, MAX_FLUSH - leases.length));
    for (const o of orphans) {
      const base = keys.length;
      keys.push(o.pool.z, o.pool.h, o.pool.x);
      entries.push(o.pool.kind, String(base + 1), String(base + 2), String(base + 3), o.member, '', '0', '0', '0', '0', '', '', '');
    }
    if (leases.length === 0 && orphans.length === 0) return Promise.resolve();
    const at = Date.now();
    const prefix = `~${this.replicaId}.${this.leaseSeq++}`;
    this.flushing = this.redis.litemaasFlush(keys.length, ...keys, String(this.sliceMs), String(this.leaseMs + 60_000), prefix, String(leases.length + orphans.length), ...entries)
      .then((res) => {
        leases.forEach((l, i) => {
          if (res[2 * i] === 0) { this.orphan(l.pool, l.member, l); this.lose(l); } // expired there: what the step re-took goes back
          const m = res[2 * i + 1];
          if (typeof m === 'string' && m !== '') this.adopt(l.pool, m, l.limits, at);
        });
      })
      .catch(() => {
        this.orphans.push(...orphans);
        leases.forEach((l, i) => {
          this.orphan(l.pool, l.member, l);
          for (const m of this.candidateMembers(`${prefix}.${i}`, entries[i * ENTRY + 12]!)) this.orphan(l.pool, m);
          this.lose(l);
        });
      })
      .finally(() => { this.flushing = null; });
    return this.flushing;
  }

  /** Gives every lease back (bounded wait) and stops: the replica is shutting down. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.race([this.flush(true), new Promise((done) => setTimeout(done, 1_000).unref())]);
    this.sub?.disconnect();
  }

  /** Throws the GatewayError for a refusal answered by the script: LocalAdmission's messages and Retry-After. */
  private refuse(r: AdmissionRequest, res: number[], bound: number, at: Date): never {
    const { key, model, sub } = r;
    if (res[0] === 1) {
      const i = res[1]!;
      const retryAfter = res[2] ?? 1;
      if (i === 1) throw new GatewayError('rate_limit_exceeded', `Rate limit reached: ${key.rpm} requests per minute for this key.`, null, retryAfter);
      const owner = isTeam(key.user) ? 'team' : 'owner';
      if (i === 2) throw new GatewayError('rate_limit_exceeded', `Rate limit reached: ${key.user.rpm} requests per minute for this key's ${owner}.`, null, retryAfter);
      const [limit, what] = i === 3 ? [key.tpm, 'tokens per minute for this key'] : [key.user.tpm, `tokens per minute for this key's ${owner}`];
      throw new GatewayError('rate_limit_exceeded', `Rate limit reached: ${limit} ${what} (this request may use up to ${bound}; lower max_tokens to fit sooner).`, null, retryAfter);
    }
    if (res[0] === 2) throw new GatewayError('rate_limit_exceeded', `Rate limit reached: at most ${key.maxParallel} requests in flight for this key.`, null, 1, 'max_parallel');
    if (res[0] === 4) {
      const [who, period] = res[1] === 1 ? ['key', key.budgetPeriod] : [isTeam(key.user) ? 'team' : 'user', key.user.budgetPeriod];
      throw new GatewayError('budget_exceeded', `The ${who} budget (${period === 'none' ? 'total' : period}) is exhausted or too small for this request's maximum cost; lower max_tokens or raise the budget.`, null, secondsToReset(period, at));
    }
    if (res[0] === 5) {
      const retryAfter = secondsToReset('monthly', at);
      if (res[1] === 1) throw new GatewayError('quota_exceeded', `The subscription's monthly request quota (${sub.quotaRequests}) for model ${model.id} is used up.`, null, retryAfter);
      throw new GatewayError('quota_exceeded', `The subscription's monthly token quota (${sub.quotaTokens}) for model ${model.id} is used up or too small for this request's max_tokens.`, null, retryAfter);
    }
    throw new Error(`unexpected admission answer ${JSON.stringify(res)}`);
  }

  /** Redis did not answer: the failure mode decides. */
  private unreachable(r: AdmissionRequest, err: unknown): Ticket | Promise<Ticket> {
    if (!this.down) {
      this.down = true;
      this.o.onState?.(false);
      this.o.log?.warn({ err: err instanceof Error ? err.message : String(err), failureMode: this.mode },
        this.mode === 'open' ? 'Redis unreachable: admitting with per-replica shares of limits and budgets until it is back'
          : 'Redis unreachable: requests are refused (503) until it is back (LITEMAAS_REDIS_FAILURE_MODE=closed)');
    }
    this.o.onFallback?.(this.mode);
    if (this.mode === 'closed' || !this.o.fallback) {
      throw new GatewayError('budgets_unavailable', 'Limits and budgets cannot be checked: the shared limit store (Redis) is unreachable; retry shortly.', null, 2);
    }
    const { key, sub } = r;
    for (const c of [this.counter('k', key, r.model.id, key.budgetPeriod, r.at), this.counter('u', key, r.model.id, key.user.budgetPeriod, r.at), this.counter('s', key, r.model.id, 'monthly', r.at)]) this.dirty.add(c.redisKey);
    return this.o.fallback.admit({ ...r, key: this.keyShare(key), sub: this.subShare(sub) });
  }

  private up(): void {
    if (!this.down) return;
    this.down = false;
    this.o.onState?.(true);
    this.o.log?.info({}, 'Redis reachable again: limits and budgets are shared across replicas again');
  }

  private share(n: number | null, min = 1): number | null { return n === null ? null : Math.max(min, Math.floor(n / this.replicas)); }

  /** The key as this replica enforces it alone: each limit, budget and quota divided by the replica count. */
  private keyShare(k: KeyEntry): KeyEntry {
    let s = this.shares.get(k);
    if (!s) {
      const R = BigInt(this.replicas);
      const user = { ...k.user, rpm: this.share(k.user.rpm), tpm: this.share(k.user.tpm), maxBudget: k.user.maxBudget === null ? null : k.user.maxBudget / R };
      s = { ...k, user, rpm: this.share(k.rpm), tpm: this.share(k.tpm), maxParallel: this.share(k.maxParallel), maxBudget: k.maxBudget === null ? null : k.maxBudget / R };
      this.shares.set(k, s);
    }
    return s;
  }

  private subShare(sub: SubscriptionEntry): SubscriptionEntry {
    let s = this.subShares.get(sub);
    if (!s) this.subShares.set(sub, (s = { ...sub, quotaRequests: this.share(sub.quotaRequests, 0), quotaTokens: this.share(sub.quotaTokens, 0) }));
    return s;
  }

  /** Resends releases that failed and drops counters that missed spend; not awaited (same connection, so in order). */
  private repair(): void {
    const repairs = this.repairs;
    this.repairs = [];
    const dirty = [...this.dirty];
    this.dirty.clear();
    if (dirty.length) this.redis.del(...dirty).catch(() => { for (const k of dirty) this.dirty.add(k); });
    for (const a of repairs) this.redis.litemaasSettle(...a).catch(() => { this.repairs.push(a); });
  }

  /** Settles a ticket: one script, sent and not awaited. */
  sendSettle(keys: string[], fixed: string[], ttls: string[], e: UsageEvent | null, cost: bigint, tpmTokens: number): void {
    if (e) this.o.fallback?.spendAdd?.(e, cost);
    const reqs = e && isSuccess(e) ? '1' : '0';
    const tokens = e ? String(e.promptTokens + e.completionTokens) : '0';
    const args = [...keys, ...fixed, String(Math.max(0, Math.round(tpmTokens))), e ? String(cost) : '0', reqs, tokens, '0', ...ttls];
    this.redis.litemaasSettle(...args).catch(() => {
      // Unknown whether it ran: resend it as "lost" (releases are idempotent; the counters are dropped and reseeded from the database).
      args[keys.length + fixed.length + 4] = '1';
      if (this.repairs.length < 100_000) this.repairs.push(args);
      else for (const k of keys.slice(13)) this.dirty.add(k);
    });
  }

  count(e: UsageEvent): void {
    this.o.fallback?.count(e);
  }

  /**
   * Loads missing spend counters from the database: usage_daily summed over the period, plus the
   * events this replica's ledger has not written yet (those the database does not have), in one
   * snapshot; set only where still absent, so concurrent seeders agree on one value.
   */
  async seed(counters: Counter[]): Promise<void> {
    const unwritten = this.o.unwritten();
    const rows = await this.o.db.transaction().setIsolationLevel('repeatable read').execute(async (trx) => {
      const out: Array<{ cost: bigint; requests: bigint; tokens: bigint }> = [];
      for (const c of counters) {
        let q = trx.selectFrom('usage_daily').select([
          sql<string>`coalesce(sum(cost), 0)::text`.as('cost'),
          sql<string>`coalesce(sum(requests), 0)::text`.as('requests'),
          sql<string>`coalesce(sum(prompt_tokens::bigint + completion_tokens::bigint), 0)::text`.as('tokens'),
        ]);
        const slice = c.scope === 'k' ? sliceParts(c.keyId) : null; // a key's limit on one model: its rows for that model
        q = slice ? q.where('key_id', '=', slice[0]).where('model_id', '=', slice[1]) : c.scope === 'k' ? q.where('key_id', '=', c.keyId) : c.scope === 'u' ? q.where('user_id', '=', c.userId) : q.where('user_id', '=', c.userId).where('model_id', '=', c.modelId);
        if (c.start) q = q.where('day', '>=', c.start);
        const r = await q.executeTakeFirstOrThrow();
        out.push({ cost: toPico(r.cost), requests: BigInt(r.requests), tokens: BigInt(r.tokens) });
      }
      const mine = unwritten.filter((e) => counters.some((c) => matches(c, e)));
      const written = new Set<string>();
      for (let i = 0; i < mine.length; i += 10_000) {
        const ids = mine.slice(i, i + 10_000).map((e) => e.id);
        for (const r of (await sql<{ id: string }>`select id from usage_events where id = any(${ids}::text[])`.execute(trx)).rows) written.add(r.id);
      }
      for (const e of mine) {
        if (written.has(e.id)) continue;
        counters.forEach((c, i) => {
          if (!matches(c, e)) return;
          const o = out[i]!;
          o.cost += toPico(e.cost); o.requests += isSuccess(e) ? 1n : 0n; o.tokens += BigInt(e.promptTokens + e.completionTokens);
        });
      }
      return out;
    });
    const args: string[] = [];
    rows.forEach((r, i) => args.push(String(r.cost), String(r.requests), String(r.tokens), String(counters[i]!.ttl)));
    await this.redis.litemaasSeed(counters.length, ...counters.map((c) => c.redisKey), ...args);
  }
}

function matches(c: Counter, e: UsageEvent): boolean {
  if (c.start && utcDay(e.at) < c.start) return false;
  return c.scope === 'k' ? eventOfKey(c.keyId, e) : c.scope === 'u' ? e.userId === c.userId : e.userId === c.userId && e.modelId === c.modelId;
}

const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/** A request admitted on this replica's leases. */
class LeasedTicket implements Ticket {
  private done = false;
  constructor(private readonly a: RedisAdmission, private readonly parts: Part[]) {}

  settle(e: UsageEvent | null, cost: bigint, tpmTokens: number): void {
    if (this.done) return;
    this.done = true;
    this.a.leaseSettled(this.parts, e, cost, tpmTokens);
  }
}

class RedisTicket implements Ticket {
  private done = false;
  constructor(private readonly a: RedisAdmission, private readonly keys: string[], private readonly fixed: string[], private readonly ttls: string[]) {}

  settle(e: UsageEvent | null, cost: bigint, tpmTokens: number): void {
    if (this.done) return;
    this.done = true;
    this.a.sendSettle(this.keys, this.fixed, this.ttls, e, cost, tpmTokens);
  }
}
