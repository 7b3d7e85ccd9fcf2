/**
 * @module Admission shared by every replica, on Redis (REDIS_URL set). One
 * Lua script per request checks rpm/tpm of the key and its owner, the key's
 * max-parallel slot, the key's and the owner's budgets and the subscription's
 * quotas, and takes all of it or nothing: Redis runs a script alone, so no
 * interleaving of replicas can overspend. A request pays one round trip to be
 * admitted and one to settle (sent, never awaited by the client's answer).
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
import { maxCost } from './authorize.js';
import type { Admission, AdmissionRequest, Ticket } from './admission.js';
import type { KeyEntry, SubscriptionEntry } from './snapshot.js';

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
}

// ---------------------------------------------------------------------------------------------
// Lua. Members of the hold/reservation ZSETs are "ticket|cost|requests|tokens" (decimal integers);
// the HASH beside each ZSET keeps their sums (fields c, r, t). Windows are HASHes minute → count.
const LUA_LIB = `
local function norm(a)
  if not a or a == '' or string.sub(a, 1, 1) == '-' then return '0' end
  local s = string.gsub(a, '^0+', '')
  if s == '' then return '0' end
  return s
end
local function gt(a, b)
  if #a ~= #b then return #a > #b end
  return a > b
end
local function add(a, b)
  local out, i, j, carry = {}, #a, #b, 0
  while i > 0 or j > 0 or carry > 0 do
    local d = carry
    if i > 0 then d = d + string.byte(a, i) - 48; i = i - 1 end
    if j > 0 then d = d + string.byte(b, j) - 48; j = j - 1 end
    carry = math.floor(d / 10)
    table.insert(out, 1, string.char(48 + d % 10))
  end
  return norm(table.concat(out))
end
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function window(win, now)
  local minute = math.floor(now / 60000)
  local cur = tonumber(redis.call('HGET', win, string.format('%d', minute)) or '0')
  local prev = tonumber(redis.call('HGET', win, string.format('%d', minute - 1)) or '0')
  return cur, prev
end
local function used(cur, prev, now)
  return prev * (1 - (now % 60000) / 60000) + cur
end
local function retry(cur, prev, limit, amount, now)
  local into = (now % 60000) / 1000
  if cur + amount > limit then return math.max(1, math.ceil(60 - into)) end
  local shed = prev * (1 - into / 60) + cur + amount - limit
  return math.max(1, math.ceil((shed / math.max(prev, 1)) * 60))
end
local function addw(win, amount, now)
  local minute = math.floor(now / 60000)
  -- The minute's field just created (amounts are positive): prune the one two minutes back and
  -- refresh the TTL once per minute; the key then outlives the last minute it could be read in.
  if redis.call('HINCRBY', win, string.format('%d', minute), amount) == amount then
    redis.call('HDEL', win, string.format('%d', minute - 2))
    redis.call('PEXPIRE', win, 180000)
  end
end
local function unpack4(m)
  return string.match(m, '^([^|]*)|(%d+)|(%d+)|(%d+)$')
end
local function give(h, c, r, t)
  if c ~= '0' then redis.call('HINCRBY', h, 'c', '-' .. c) end
  if r ~= '0' then redis.call('HINCRBY', h, 'r', '-' .. r) end
  if t ~= '0' then redis.call('HINCRBY', h, 't', '-' .. t) end
end
local function sweep(z, h, now)
  local old = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  if #old == 0 then return end
  if h then
    for _, m in ipairs(old) do
      local _, c, r, t = unpack4(m)
      if c then give(h, c, r, t) end
    end
  end
  redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
end
local function take(z, h, member, c, r, t, exp, ttl)
  redis.call('ZADD', z, exp, member)
  redis.call('PEXPIRE', z, ttl)
  if h then
    if c ~= '0' then redis.call('HINCRBY', h, 'c', c) end
    if r ~= '0' then redis.call('HINCRBY', h, 'r', r) end
    if t ~= '0' then redis.call('HINCRBY', h, 't', t) end
    redis.call('PEXPIRE', h, ttl)
  end
end
local function field(h, f) return norm(redis.call('HGET', h, f)) end
`;

/*
 * KEYS: 1 rpm:k 2 rpm:u 3 tpm:k 4 tpm:u (windows) 5/6 tpm hold k (zset/hash) 7/8 tpm hold u 9 slots
 *       10/11 reservations k 12/13 reservations u 14/15 reservations s 16 spent k 17 spent u 18 spent s
 * ARGV: 1 ticket 2 lease ms 3 token bound 4 rpm k 5 rpm u 6 tpm k 7 tpm u 8 max parallel ('' = none)
 *       9 free 10 cost 11 key max 12 user max 13 quota requests 14 quota tokens 15 tokens reserved
 * Answers {0, now} admitted; {1, which, retryAfter} rate; {2} slot; {3, missing...} seed; {4, which} budget; {5, which} quota.
 */
const ADMIT = LUA_LIB + `
local tk, lease, bound = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now = clock()
local exp = now + lease
local ttl = lease + 60000
for i = 1, 2 do
  local lim = ARGV[3 + i]
  if lim ~= '' then
    lim = tonumber(lim)
    local cur, prev = window(KEYS[i], now)
    if used(cur, prev, now) + 1 > lim then return { 1, i, retry(cur, prev, lim, 1, now) } end
  end
end
local tpm = { { ARGV[6], KEYS[3], KEYS[5], KEYS[6] }, { ARGV[7], KEYS[4], KEYS[7], KEYS[8] } }
for i = 1, 2 do
  local lim = tpm[i][1]
  if lim ~= '' then
    lim = tonumber(lim)
    local need = math.min(bound, lim)
    sweep(tpm[i][3], tpm[i][4], now)
    local cur, prev = window(tpm[i][2], now)
    local held = tonumber(field(tpm[i][4], 't'))
    if used(cur, prev, now) + held + need > lim then return { 1, 2 + i, retry(cur, prev, lim, need, now) } end
  end
end
if ARGV[8] ~= '' then
  sweep(KEYS[9], false, now)
  if redis.call('ZCARD', KEYS[9]) >= tonumber(ARGV[8]) then return { 2 } end
end
local free = ARGV[9] == '1'
local cost = ARGV[10]
local budgets = { { ARGV[11], KEYS[10], KEYS[11], KEYS[16] }, { ARGV[12], KEYS[12], KEYS[13], KEYS[17] } }
local quota = ARGV[13] ~= '' or ARGV[14] ~= ''
if not free then
  local missing = {}
  for i = 1, 2 do
    if budgets[i][1] ~= '' and redis.call('EXISTS', budgets[i][4]) == 0 then table.insert(missing, i) end
  end
  if quota and redis.call('EXISTS', KEYS[18]) == 0 then table.insert(missing, 3) end
  if #missing > 0 then
    table.insert(missing, 1, 3)
    return missing
  end
  for i = 1, 2 do
    local max = budgets[i][1]
    if max ~= '' then
      sweep(budgets[i][2], budgets[i][3], now)
      local spent = field(budgets[i][4], 'c')
      if not gt(max, spent) or gt(add(add(spent, field(budgets[i][3], 'c')), cost), max) then return { 4, i } end
    end
  end
  if quota then
    sweep(KEYS[14], KEYS[15], now)
    local usedR, usedT = tonumber(field(KEYS[18], 'r')), tonumber(field(KEYS[18], 't'))
    local resR, resT = tonumber(field(KEYS[15], 'r')), tonumber(field(KEYS[15], 't'))
    if ARGV[13] ~= '' and usedR + resR + 1 > tonumber(ARGV[13]) then return { 5, 1 } end
    local qt, want = tonumber(ARGV[14]), tonumber(ARGV[15])
    if ARGV[14] ~= '' and (usedT >= qt or usedT + resT + want > qt) then return { 5, 2 } end
  end
end
addw(KEYS[1], 1, now)
addw(KEYS[2], 1, now)
for i = 1, 2 do
  if tpm[i][1] ~= '' then
    local need = math.min(bound, tonumber(tpm[i][1]))
    take(tpm[i][3], tpm[i][4], tk .. '|0|0|' .. string.format('%d', need), '0', '0', string.format('%d', need), exp, ttl)
  end
end
if ARGV[8] ~= '' then take(KEYS[9], false, tk, '0', '0', '0', exp, ttl) end
if not free then
  for i = 1, 2 do
    if budgets[i][1] ~= '' then take(budgets[i][2], budgets[i][3], tk .. '|' .. cost .. '|0|0', cost, '0', '0', exp, ttl) end
  end
  if quota then take(KEYS[14], KEYS[15], tk .. '|0|1|' .. ARGV[15], '0', '1', ARGV[15], exp, ttl) end
end
return { 0 }
`;

/*
 * KEYS: 1 tpm:k 2 tpm:u (windows) 3/4 hold k 5/6 hold u 7 slots 8/9 res k 10/11 res u 12/13 res s 14 spent k 15 spent u 16 spent s
 * ARGV: 1 ticket 2 hold member k 3 hold member u 4 slot ('1') 5 res member k 6 res member u 7 res member s
 *       8 actual tpm tokens 9 cost 10 requests 11 tokens 12 lost ('1': drop the spend counters, to be reseeded)
 *       13..15 ttl (s) to refresh on the spend counters (0: leave)
 */
const SETTLE = LUA_LIB + `
local function release(z, h, m)
  if m == '' then return end
  if redis.call('ZREM', z, m) == 1 and h then
    local _, c, r, t = unpack4(m)
    if c then give(h, c, r, t) end
  end
end
release(KEYS[3], KEYS[4], ARGV[2])
release(KEYS[5], KEYS[6], ARGV[3])
if ARGV[4] == '1' then release(KEYS[7], false, ARGV[1]) end
release(KEYS[8], KEYS[9], ARGV[5])
release(KEYS[10], KEYS[11], ARGV[6])
release(KEYS[12], KEYS[13], ARGV[7])
local actual = tonumber(ARGV[8])
if actual > 0 then
  local now = clock()
  addw(KEYS[1], actual, now); addw(KEYS[2], actual, now)
end
for i = 14, 16 do
  if ARGV[12] == '1' then redis.call('DEL', KEYS[i])
  elseif redis.call('EXISTS', KEYS[i]) == 1 then
    if ARGV[9] ~= '0' then redis.call('HINCRBY', KEYS[i], 'c', ARGV[9]) end
    if ARGV[10] ~= '0' then redis.call('HINCRBY', KEYS[i], 'r', ARGV[10]) end
    if ARGV[11] ~= '0' then redis.call('HINCRBY', KEYS[i], 't', ARGV[11]) end
    local ttl = tonumber(ARGV[i - 1])
    if ttl > 0 then redis.call('EXPIRE', KEYS[i], ttl) end
  end
end
return 0
`;

/** KEYS: spend counters; ARGV per key: cost, requests, tokens, ttl (s; 0 none). Sets each only if absent. */
const SEED = `
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    local a = (i - 1) * 4
    redis.call('HSET', KEYS[i], 'c', ARGV[a + 1], 'r', ARGV[a + 2], 't', ARGV[a + 3])
    local ttl = tonumber(ARGV[a + 4])
    if ttl > 0 then redis.call('EXPIRE', KEYS[i], ttl) end
  end
end
return 0
`;

interface Commands {
  litemaasAdmit(...args: string[]): Promise<number[]>;
  litemaasSettle(...args: string[]): Promise<number>;
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

  constructor(private readonly o: RedisAdmissionOptions) {
    this.redis = o.redis as Redis & Commands;
    this.p = o.prefix ?? 'litemaas:';
    this.mode = o.failureMode ?? 'closed';
    this.leaseMs = o.leaseMs ?? 150_000;
    this.replicas = Math.max(1, o.replicas ?? 2);
    this.leaseArg = String(this.leaseMs);
    if (this.mode === 'open' && !o.fallback) throw new Error('RedisAdmission: open failure mode needs a fallback admission');
    if (typeof (o.redis as Partial<Commands>).litemaasAdmit !== 'function') {
      o.redis.defineCommand('litemaasAdmit', { numberOfKeys: 18, lua: ADMIT });
      o.redis.defineCommand('litemaasSettle', { numberOfKeys: 16, lua: SETTLE });
      o.redis.defineCommand('litemaasSeed', { lua: SEED });
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
    ];
    const set: KeySet = {
      keyId: key.id, userId: key.user.id, modelId, keyPeriod: key.budgetPeriod, userPeriod: key.user.budgetPeriod, day, keys,
      settleKeys: [keys[2]!, keys[3]!, ...keys.slice(4)],
      ttls: counters.map((c) => (c.start === null ? String(c.ttl) : '0')),
    };
    if (byModel.size > 64) byModel.clear();
    byModel.set(modelId, set);
    return set;
  }

  private counters(key: KeyEntry, modelId: string, at: Date): [Counter, Counter, Counter] {
    return [this.counter('k', key, modelId, key.budgetPeriod, at), this.counter('u', key, modelId, key.user.budgetPeriod, at), this.counter('s', key, modelId, 'monthly', at)];
  }

  admit(r: AdmissionRequest): Promise<Ticket> {
    if (this.redis.status !== 'ready') return Promise.resolve(this.unreachable(r, new Error(`connection ${this.redis.status}`)));
    return this.admitShared(r).catch((err: unknown) => {
      if (err instanceof GatewayError) throw err;
      return this.unreachable(r, err);
    });
  }

  private async admitShared(r: AdmissionRequest): Promise<Ticket> {
    const { key, model, sub, bounds, at } = r;
    if (this.repairs.length || this.dirty.size) this.repair(); // sent first on the same connection, so Redis runs them before this admit
    const tk = ticketId();
    const bound = bounds.prompt + bounds.completion;
    const cost = r.free ? 0n : maxCost(model, bounds);
    const ks = this.keySet(key, model.id, at);
    const keys = ks.keys;
    const hasQuota = !r.free && (sub.quotaRequests !== null || sub.quotaTokens !== null);
    const args = [
      tk, this.leaseArg, String(bound), opt(key.rpm), opt(key.user.rpm), opt(key.tpm), opt(key.user.tpm), opt(key.maxParallel),
      r.free ? '1' : '0', String(cost), opt(key.maxBudget), opt(key.user.maxBudget), opt(sub.quotaRequests), opt(sub.quotaTokens), String(bound),
    ];
    let res = await this.redis.litemaasAdmit(...keys, ...args);
    if (res[0] === 3) {
      const counters = this.counters(key, model.id, at);
      await this.seed(res.slice(1).map((i) => counters[i - 1]!)).catch((err: unknown) => {
        this.o.log?.warn({ err: err instanceof Error ? err.message : String(err) }, 'spend counters could not be loaded from the database');
        throw new GatewayError('budgets_unavailable', 'Budgets cannot be checked while the database is unreachable; retry shortly.', null, 5);
      });
      res = await this.redis.litemaasAdmit(...keys, ...args);
      if (res[0] === 3) throw new GatewayError('budgets_unavailable', 'Budgets cannot be checked: their counters could not be loaded into the shared store; retry shortly.', null, 5);
    }
    this.up();
    if (res[0] !== 0) this.refuse(r, res, bound, at);
    const holdK = key.tpm !== null ? `${tk}|0|0|${Math.min(bound, key.tpm)}` : '';
    const holdU = key.user.tpm !== null ? `${tk}|0|0|${Math.min(bound, key.user.tpm)}` : '';
    const resK = !r.free && key.maxBudget !== null ? `${tk}|${cost}|0|0` : '';
    const resU = !r.free && key.user.maxBudget !== null ? `${tk}|${cost}|0|0` : '';
    const resS = hasQuota ? `${tk}|0|1|${bound}` : '';
    return new RedisTicket(this, ks.settleKeys, [tk, holdK, holdU, key.maxParallel !== null ? '1' : '0', resK, resU, resS], ks.ttls);
  }

  /** Throws the GatewayError for a refusal answered by the script: LocalAdmission's messages and Retry-After. */
  private refuse(r: AdmissionRequest, res: number[], bound: number, at: Date): never {
    const { key, model, sub } = r;
    if (res[0] === 1) {
      const i = res[1]!;
      const retryAfter = res[2] ?? 1;
      if (i === 1) throw new GatewayError('rate_limit_exceeded', `Rate limit reached: ${key.rpm} requests per minute for this key.`, null, retryAfter);
      if (i === 2) throw new GatewayError('rate_limit_exceeded', `Rate limit reached: ${key.user.rpm} requests per minute for this key's owner.`, null, retryAfter);
      const [limit, what] = i === 3 ? [key.tpm, 'tokens per minute for this key'] : [key.user.tpm, "tokens per minute for this key's owner"];
      throw new GatewayError('rate_limit_exceeded', `Rate limit reached: ${limit} ${what} (this request may use up to ${bound}; lower max_tokens to fit sooner).`, null, retryAfter);
    }
    if (res[0] === 2) throw new GatewayError('rate_limit_exceeded', `Rate limit reached: at most ${key.maxParallel} requests in flight for this key.`, null, 1);
    if (res[0] === 4) {
      const [who, period] = res[1] === 1 ? ['key', key.budgetPeriod] : ['user', key.user.budgetPeriod];
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
  private unreachable(r: AdmissionRequest, err: unknown): Ticket {
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
    const t = this.o.fallback.admit({ ...r, key: this.keyShare(key), sub: this.subShare(sub) });
    if (t instanceof Promise) throw new Error('the fallback admission must answer synchronously');
    return t;
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
        q = c.scope === 'k' ? q.where('key_id', '=', c.keyId) : c.scope === 'u' ? q.where('user_id', '=', c.userId) : q.where('user_id', '=', c.userId).where('model_id', '=', c.modelId);
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
  return c.scope === 'k' ? e.keyId === c.keyId : c.scope === 'u' ? e.userId === c.userId : e.userId === c.userId && e.modelId === c.modelId;
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
