/**
 * @module Where the portal's sign-in counters live: in this process
 * (`MemoryThrottleStore`, the default) or, with REDIS_URL, on Redis
 * (`RedisThrottleStore`) so that every replica counts the same failures.
 * A window is the events of the last `windowMs` (sliding, as before): the
 * count and the oldest one's time, which says when the window frees up.
 *
 * On Redis a key is a sorted set of event times under `litemaas:throttle:`,
 * trimmed and extended by one Lua script per call (atomic, one round trip)
 * and expiring by itself `windowMs` after its last event. Redis unreachable:
 * the same calls go to an in-memory store of this replica (each replica then
 * counts on its own; sign-in is never refused because Redis is down), logged
 * once per outage.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface ThrottleWindow {
  /** Events in the window. */
  count: number;
  /** Time (ms since the epoch) of the oldest of them, or null when there are none. */
  oldest: number | null;
}

export interface ThrottleStore {
  /** Counts one event under `key` at `now`; answers the window with it. */
  hit(key: string, windowMs: number, now: number): Promise<ThrottleWindow>;
  /** The window under `key` at `now`, counting nothing. */
  peek(key: string, windowMs: number, now: number): Promise<ThrottleWindow>;
  /** Forgets every event under `key`. */
  reset(key: string): Promise<void>;
}

/** This process's counters: what a single replica had before REDIS_URL. Bounded to `maxKeys` names (oldest dropped). */
export class MemoryThrottleStore implements ThrottleStore {
  private readonly events = new Map<string, number[]>();

  constructor(private readonly maxKeys = 100_000) {}

  async hit(key: string, windowMs: number, now: number): Promise<ThrottleWindow> {
    const e = this.recent(key, windowMs, now);
    e.push(now);
    this.events.delete(key); // re-inserted last, so the oldest-touched name is the one dropped
    this.events.set(key, e);
    if (this.events.size > this.maxKeys) this.events.delete(this.events.keys().next().value!);
    return { count: e.length, oldest: e[0]! };
  }

  async peek(key: string, windowMs: number, now: number): Promise<ThrottleWindow> {
    const e = this.recent(key, windowMs, now);
    return { count: e.length, oldest: e[0] ?? null };
  }

  async reset(key: string): Promise<void> { this.events.delete(key); }

  private recent(key: string, windowMs: number, now: number): number[] {
    return (this.events.get(key) ?? []).filter((t) => t > now - windowMs);
  }
}

// KEYS[1] the window; ARGV: now, windowMs, member to add ('' = peek). Returns {count, oldest or -1}.
const WINDOW_SCRIPT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
end
local n = redis.call('ZCARD', KEYS[1])
if n == 0 then return {0, -1} end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {n, tonumber(first[2])}
`;

export interface ThrottleLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface RedisThrottleOptions {
  /** Prepended to every key (default `litemaas:throttle:`). */
  prefix?: string;
  /** Used while Redis does not answer (default: a new MemoryThrottleStore). */
  fallback?: ThrottleStore;
  log?: ThrottleLog;
}

/** The counters on Redis, shared by every replica; this replica's own counters while Redis is unreachable. */
export class RedisThrottleStore implements ThrottleStore {
  private readonly prefix: string;
  private readonly fallback: ThrottleStore;
  private up = true;

  constructor(private readonly redis: Redis, private readonly o: RedisThrottleOptions = {}) {
    this.prefix = o.prefix ?? 'litemaas:throttle:';
    this.fallback = o.fallback ?? new MemoryThrottleStore();
  }

  hit(key: string, windowMs: number, now: number): Promise<ThrottleWindow> {
    // Unique per event, so two failures in the same millisecond (on two replicas) both count.
    return this.window(key, windowMs, now, `${now}-${randomBytes(6).toString('hex')}`, () => this.fallback.hit(key, windowMs, now));
  }

  peek(key: string, windowMs: number, now: number): Promise<ThrottleWindow> {
    return this.window(key, windowMs, now, '', () => this.fallback.peek(key, windowMs, now));
  }

  async reset(key: string): Promise<void> {
    await this.fallback.reset(key);
    try {
      await this.redis.del(this.prefix + key);
      this.state(true);
    } catch (err) { this.state(false, err); }
  }

  private async window(key: string, windowMs: number, now: number, member: string, local: () => Promise<ThrottleWindow>): Promise<ThrottleWindow> {
    let r: [number, number];
    try {
      r = await this.redis.eval(WINDOW_SCRIPT, 1, this.prefix + key, now, Math.max(1, Math.ceil(windowMs)), member) as [number, number];
    } catch (err) {
      this.state(false, err);
      return local();
    }
    this.state(true);
    return { count: Number(r[0]), oldest: Number(r[1]) < 0 ? null : Number(r[1]) };
  }

  private state(up: boolean, err?: unknown): void {
    if (up === this.up) return;
    this.up = up;
    if (up) this.o.log?.info({ prefix: this.prefix }, 'Redis reachable again: sign-in throttling shared by the replicas again');
    else this.o.log?.warn({ prefix: this.prefix, err: (err as Error | undefined)?.message }, 'Redis unreachable: sign-in throttling counted by each replica on its own until it is back');
  }
}
