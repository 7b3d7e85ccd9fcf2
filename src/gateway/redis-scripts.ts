/**
 * @module The Lua scripts of the Redis admission (src/gateway/redis-admission.ts).
 *
 * Data, per scope (a key `k:`, its owner `u:`, a subscription `s:user|model`):
 * - windows `w:rpm:*`, `w:tpm:*`: HASHes minute → count (sliding window of two minutes);
 * - holds `hold:*`/`held:*` (tpm), `rhold:*`/`rheld:*` (rpm leases), reservations `res:*`/`ressum:*`:
 *   a ZSET of members "id|cost|requests|tokens" scored by their expiry, and a HASH of their sums —
 *   fields c, r, t for a single request's, lc, lr, lt for replicas' leases (ids starting with `~`);
 * - `slots:<key>`: a ZSET of the tickets in flight;
 * - spend counters `spent:<scope>:<period>[:<start>]`: HASH c (pico), r (requests), t (tokens).
 *
 * A lease is a replica's standing reservation: it admits requests against it in its own memory and
 * converts what they used into the counters and windows in batches (FLUSH). Admissions and grants
 * count leases as taken, so the counters plus every reservation and lease never pass a limit.
 * Money is decimal integer strings compared by length then digits and added digit by digit.
 */

const LIB = `
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
local function fields(m)
  if string.sub(m, 1, 1) == '~' then return 'lc', 'lr', 'lt' end
  return 'c', 'r', 't'
end
local function give(h, m)
  local _, c, r, t = unpack4(m)
  if not c then return end
  local fc, fr, ft = fields(m)
  if c ~= '0' then redis.call('HINCRBY', h, fc, '-' .. c) end
  if r ~= '0' then redis.call('HINCRBY', h, fr, '-' .. r) end
  if t ~= '0' then redis.call('HINCRBY', h, ft, '-' .. t) end
end
-- Gives back what expired; answers true if a lease was among it (its replica died with use unconverted).
local function sweep(z, h, now)
  local old = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  if #old == 0 then return false end
  local lease = false
  for _, m in ipairs(old) do
    if h then give(h, m) end
    if string.sub(m, 1, 1) == '~' then lease = true end
  end
  redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
  return lease
end
local function take(z, h, m, exp, ttl)
  redis.call('ZADD', z, exp, m)
  redis.call('PEXPIRE', z, ttl)
  if h then
    local _, c, r, t = unpack4(m)
    local fc, fr, ft = fields(m)
    if c ~= '0' then redis.call('HINCRBY', h, fc, c) end
    if r ~= '0' then redis.call('HINCRBY', h, fr, r) end
    if t ~= '0' then redis.call('HINCRBY', h, ft, t) end
    redis.call('PEXPIRE', h, ttl)
  end
end
local function field(h, f) return norm(redis.call('HGET', h, f)) end
local function num(h, f) return tonumber(field(h, f)) end

-- Lease entries: 13 ARGV each, from ARGV[at]: kind ('b' budget, 'q' quota, 'r' rpm, 't' tpm),
-- KEYS indexes of its ZSET, HASH and counter or window, the lease's member now ('' none), the
-- member it becomes ('' returned whole; the same member: renewed), what was used since the last
-- conversion (cost, requests, tokens), the counter's TTL to refresh (s; '0' leave), the limits
-- (quota: requests, tokens) and the grant candidates "c|r|t|C|R|T;..." (take c|r|t if C|R|T more
-- still fits: the replica leaves room for the others).
local function entry(at)
  return ARGV[at], KEYS[tonumber(ARGV[at + 1])], KEYS[tonumber(ARGV[at + 2])], KEYS[tonumber(ARGV[at + 3])],
    ARGV[at + 4], ARGV[at + 5], ARGV[at + 6], ARGV[at + 7], ARGV[at + 8], ARGV[at + 9], ARGV[at + 10], ARGV[at + 11], ARGV[at + 12]
end

-- Moves a lease to its new member and converts what it used; answers 0 when the lease was no
-- longer there (expired and swept): its remnant is taken again, its use still counted.
local function convert(kind, z, h, x, old, keep, uc, ur, ut, cttl, now, exp, ttl)
  local had = 1
  if old ~= '' then
    if old == keep then
      if redis.call('ZSCORE', z, old) then
        redis.call('ZADD', z, exp, old); redis.call('PEXPIRE', z, ttl); redis.call('PEXPIRE', h, ttl)
      else
        had = 0
        take(z, h, keep, exp, ttl)
      end
    else
      if redis.call('ZREM', z, old) == 1 then give(h, old) else had = 0 end
      if keep ~= '' then take(z, h, keep, exp, ttl) end
    end
  end
  if kind == 'b' or kind == 'q' then
    if (uc ~= '0' or ur ~= '0' or ut ~= '0') and redis.call('EXISTS', x) == 1 then
      if uc ~= '0' then redis.call('HINCRBY', x, 'c', uc) end
      if ur ~= '0' then redis.call('HINCRBY', x, 'r', ur) end
      if ut ~= '0' then redis.call('HINCRBY', x, 't', ut) end
      if cttl ~= '0' then redis.call('EXPIRE', x, tonumber(cttl)) end
    end
  elseif kind == 'r' then
    if ur ~= '0' then addw(x, tonumber(ur), now) end
  elseif ut ~= '0' then addw(x, tonumber(ut), now) end
  return had
end

local function fits(kind, h, x, lim1, lim2, C, R, T, now)
  if kind == 'b' then
    if redis.call('EXISTS', x) == 0 then return false end
    local spent = field(x, 'c')
    return not gt(add(add(add(spent, field(h, 'c')), field(h, 'lc')), C), lim1)
  elseif kind == 'q' then
    if redis.call('EXISTS', x) == 0 then return false end
    if lim1 ~= '' and num(x, 'r') + num(h, 'r') + num(h, 'lr') + tonumber(R) > tonumber(lim1) then return false end
    if lim2 ~= '' and num(x, 't') + num(h, 't') + num(h, 'lt') + tonumber(T) > tonumber(lim2) then return false end
    return true
  end
  local cur, prev = window(x, now)
  if kind == 'r' then return used(cur, prev, now) + num(h, 'lr') + tonumber(R) <= tonumber(lim1) end
  return used(cur, prev, now) + num(h, 't') + num(h, 'lt') + tonumber(T) <= tonumber(lim1)
end

-- A new lease for the first candidate that fits, unless the scope is draining; answers its member or ''.
local function grant(kind, z, h, x, lim1, lim2, cands, id, now, exp, ttl)
  if cands == '' or redis.call('EXISTS', z .. ':d') == 1 then return '' end
  for cand in string.gmatch(cands, '[^;]+') do
    local c, r, t, C, R, T = string.match(cand, '^(%d+)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)$')
    if c and fits(kind, h, x, lim1, lim2, C, R, T, now) then
      local m = id .. '|' .. c .. '|' .. r .. '|' .. t
      take(z, h, m, exp, ttl)
      return m
    end
  end
  return ''
end

-- A refusal that leases elsewhere caused: the scope drains (no grants for a second) and every
-- replica is told to give its lease back; the replica retries.
local function contended(z)
  redis.call('SET', z .. ':d', '1', 'PX', 1000)
  redis.call('PUBLISH', ARGV[#ARGV], z)
end
`;

/*
 * KEYS: 1 rpm:k 2 rpm:u 3 tpm:k 4 tpm:u (windows) 5/6 tpm hold k (zset/hash) 7/8 tpm hold u 9 slots
 *       10/11 reservations k 12/13 reservations u 14/15 reservations s 16 spent k 17 spent u 18 spent s
 *       19/20 rpm leases k 21/22 rpm leases u
 * ARGV: 1 ticket 2 lease ms 3 token bound 4 rpm k 5 rpm u 6 tpm k 7 tpm u 8 max parallel ('' = none)
 *       9 free 10 cost 11 key max 12 user max 13 quota requests 14 quota tokens 15 tokens reserved
 *       16 lease id prefix 17 a lease's life (ms) 18 number of lease entries, then the entries (13 each),
 *       last the drain channel.
 * The entries' leases are converted first (this replica's own leases never refuse its request),
 * then the request is checked and taken, then new leases are granted.
 * Answers {0, member...} admitted (one granted member or '' per entry); {1, which, retryAfter} rate;
 * {2} slot; {3, missing...} seed; {4, which} budget; {5, which} quota; {6, code, which, retryAfter}
 * refused only because of other replicas' leases (they are asked to give them back).
 */
export const ADMIT = LIB + `
local tk, lease, bound = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now = clock()
local exp = now + lease
local ttl = lease + 60000
local sexp = now + tonumber(ARGV[17])
local n = tonumber(ARGV[18])
for e = 0, n - 1 do
  local kind, z, h, x, old, keep, uc, ur, ut, cttl = entry(19 + e * 13)
  convert(kind, z, h, x, old, keep, uc, ur, ut, cttl, now, sexp, ttl)
end
for i = 1, 2 do
  local lim = ARGV[3 + i]
  if lim ~= '' then
    lim = tonumber(lim)
    local z, h = KEYS[17 + 2 * i], KEYS[18 + 2 * i]
    sweep(z, h, now)
    local cur, prev = window(KEYS[i], now)
    local u = used(cur, prev, now)
    if u + num(h, 'lr') + 1 > lim then
      if u + 1 <= lim then contended(z); return { 6, 1, i, 1 } end
      return { 1, i, retry(cur, prev, lim, 1, now) }
    end
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
    local u = used(cur, prev, now) + num(tpm[i][4], 't')
    if u + num(tpm[i][4], 'lt') + need > lim then
      if u + need <= lim then contended(tpm[i][3]); return { 6, 1, 2 + i, 1 } end
      return { 1, 2 + i, retry(cur, prev, lim, need, now) }
    end
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
  -- A lease that expired may have been spent on without its use reaching the counter: the
  -- counter is dropped and rebuilt from the database (which has every request's event).
  for i = 1, 2 do
    if budgets[i][1] ~= '' and sweep(budgets[i][2], budgets[i][3], now) then redis.call('DEL', budgets[i][4]) end
  end
  if quota and sweep(KEYS[14], KEYS[15], now) then redis.call('DEL', KEYS[18]) end
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
      local h = budgets[i][3]
      local spent = field(budgets[i][4], 'c')
      local mine = add(add(spent, field(h, 'c')), cost)
      if not gt(max, spent) or gt(add(mine, field(h, 'lc')), max) then
        if gt(max, spent) and not gt(mine, max) then contended(budgets[i][2]); return { 6, 4, i, 0 } end
        return { 4, i }
      end
    end
  end
  if quota then
    local usedR, usedT = num(KEYS[18], 'r'), num(KEYS[18], 't')
    local resR, resT = num(KEYS[15], 'r'), num(KEYS[15], 't')
    local lR, lT = num(KEYS[15], 'lr'), num(KEYS[15], 'lt')
    if ARGV[13] ~= '' and usedR + resR + lR + 1 > tonumber(ARGV[13]) then
      if usedR + resR + 1 <= tonumber(ARGV[13]) then contended(KEYS[14]); return { 6, 5, 1, 0 } end
      return { 5, 1 }
    end
    local qt, want = tonumber(ARGV[14]), tonumber(ARGV[15])
    if ARGV[14] ~= '' and (usedT >= qt or usedT + resT + lT + want > qt) then
      if usedT < qt and usedT + resT + want <= qt then contended(KEYS[14]); return { 6, 5, 2, 0 } end
      return { 5, 2 }
    end
  end
end
if ARGV[4] ~= '' then addw(KEYS[1], 1, now) end
if ARGV[5] ~= '' then addw(KEYS[2], 1, now) end
for i = 1, 2 do
  if tpm[i][1] ~= '' then
    local need = math.min(bound, tonumber(tpm[i][1]))
    take(tpm[i][3], tpm[i][4], tk .. '|0|0|' .. string.format('%d', need), exp, ttl)
  end
end
if ARGV[8] ~= '' then take(KEYS[9], false, tk, exp, ttl) end
if not free then
  for i = 1, 2 do
    if budgets[i][1] ~= '' then take(budgets[i][2], budgets[i][3], tk .. '|' .. cost .. '|0|0', exp, ttl) end
  end
  if quota then take(KEYS[14], KEYS[15], tk .. '|0|1|' .. ARGV[15], exp, ttl) end
end
local out = { 0 }
for e = 0, n - 1 do
  local kind, z, h, x, _, _, _, _, _, _, lim1, lim2, cands = entry(19 + e * 13)
  table.insert(out, grant(kind, z, h, x, lim1, lim2, cands, ARGV[16] .. '.' .. e, now, sexp, ttl))
end
return out
`;

/*
 * KEYS: 1 tpm:k 2 tpm:u (windows) 3/4 hold k 5/6 hold u 7 slots 8/9 res k 10/11 res u 12/13 res s 14 spent k 15 spent u 16 spent s
 * ARGV: 1 ticket 2 hold member k 3 hold member u 4 slot ('1') 5 res member k 6 res member u 7 res member s
 *       8 actual tpm tokens 9 cost 10 requests 11 tokens 12 lost ('1': drop the spend counters, to be reseeded)
 *       13..15 ttl (s) to refresh on the spend counters (0: leave)
 */
export const SETTLE = LIB + `
local function release(z, h, m)
  if m == '' then return end
  if redis.call('ZREM', z, m) == 1 and h then give(h, m) end
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

/**
 * Converts, renews, returns and tops up leases in one batch. KEYS: the entries' keys; ARGV: 1 a
 * lease's life (ms), 2 the keys' TTL (ms; as ADMIT sets it), 3 lease id prefix, 4 number of
 * entries, then the entries (13 each; those with candidates ask for a new lease). Answers two
 * values per entry: 0 when the lease had expired in Redis (the replica stops using it), else 1;
 * the new lease's member or ''.
 */
export const FLUSH = LIB + `
local now = clock()
local exp = now + tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local out = {}
for e = 0, tonumber(ARGV[4]) - 1 do
  local kind, z, h, x, old, keep, uc, ur, ut, cttl, lim1, lim2, cands = entry(5 + e * 13)
  table.insert(out, convert(kind, z, h, x, old, keep, uc, ur, ut, cttl, now, exp, ttl))
  table.insert(out, grant(kind, z, h, x, lim1, lim2, cands, ARGV[3] .. '.' .. e, now, exp, ttl))
end
return out
`;

/** KEYS: spend counters; ARGV per key: cost, requests, tokens, ttl (s; 0 none). Sets each only if absent. */
export const SEED = `
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
