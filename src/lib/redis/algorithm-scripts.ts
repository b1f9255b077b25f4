// One Lua script per engine algorithm, each the exact arithmetic of its in-process twin in
// src/lib/engine/algorithms/ (same allowed / remaining / reset / retry-after; a denial consumes nothing), run
// atomically in Redis over a batch of keys. Time is Redis's own TIME unless the caller passes one in.
// Never put a per-replica clock or a per-replica counter in here.

import type { AlgorithmName } from '../engine/algorithm.js';
import type { AlgorithmSpec } from '../engine/algorithm-spec.js';
import { createAlgorithm } from '../engine/algorithm-spec.js';
import { durationMs } from '../engine/duration.js';

/** Longest a key lives when its state never returns to fresh on its own (a rate of 0): one day. */
export const MAX_STATE_TTL_MS = 86_400_000;
/** Bytes of one answer: allowed (0/1), remaining, reset time, retry-after (little-endian doubles). */
export const ANSWER_BYTES = 32;
/** Bytes of one check in the batch argument: operation (uint8), cost (double). */
export const CHECK_BYTES = 9;

/** What a script does with one key: record when allowed, only look, or give a concurrency lease back. */
export type ScriptOp = 'c' | 'p' | 'r';
/** The operation's byte in the batch argument. */
export const OP_CODES: Readonly<Record<ScriptOp, number>> = { c: 1, p: 2, r: 3 };

/**
 * Shared by every script. ARGV[1]: the time in ms, or '' to read Redis TIME (one clock for every
 * replica). Writes keep a key exactly as long as its state differs from a fresh key's, plus a margin
 * (1 s on Redis's clock; 60 s when the caller drives time, since its clock is not the one expiring keys).
 */
const PRELUDE = `
local now
local margin = 1000
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
else
  now = tonumber(ARGV[1])
  margin = 60000
end
local INF = 1 / 0
local function whole(x)
  if x > 0 then return math.floor(x + 1e-9) end
  return 0
end
local function ttlFor(resetAt)
  local px = resetAt - now
  if px > ${MAX_STATE_TTL_MS} then px = ${MAX_STATE_TTL_MS} end
  if px < 0 then px = 0 end
  return math.ceil(px) + margin
end
-- A state back to fresh is deleted: a missing key decides exactly as that state would. (Not judged
-- by resetAt <= now: a tiny remainder can round resetAt to now while it still changes a decision.)
local function save(key, value, resetAt, fresh)
  if fresh then
    redis.call('DEL', key)
  else
    redis.call('SET', key, value, 'PX', ttlFor(resetAt))
  end
end
-- Numbers handed to redis.call must keep all 17 digits (Lua's own tostring keeps 14).
local function num(x)
  return string.format('%.17g', x)
end
local function costOf(member)
  return tonumber(string.match(member, '^[^|]+'))
end
`;

/**
 * Runs decide() for every key of the batch and packs the answers. After the time and the `params`
 * parameters comes one binary argument, CHECK_BYTES per check (Redis parses one argument, not two per
 * check); then, for the algorithms that keep members (log entries, leases), one member per check:
 * "cost|unique id", or for a release the lease to give back.
 */
function loop(params: number): string {
  return `
local OPS = {'c', 'p', 'r'}
local blob = ARGV[${2 + params}]
local pos = 1
local out = {}
for i = 1, #KEYS do
  local code, cost
  code, cost, pos = struct.unpack('<Bd', blob, pos)
  local ok, rem, reset, retry = decide(KEYS[i], OPS[code], cost, ARGV[${2 + params} + i])
  out[i] = struct.pack('<dddd', ok and 1 or 0, rem, reset, retry)
end
return table.concat(out)
`;
}

// Each body mirrors its TypeScript twin expression by expression (same order of operations), so the
// doubles come out bit-identical. The TypeScript file named above each body is the specification.

/** token-bucket-algorithm.ts. ARGV: rate, burst. State: tokens, updated-at. */
const TOKEN_BUCKET = `
local rate, burst = tonumber(ARGV[2]), tonumber(ARGV[3])
local function decide(key, op, cost)
  local v = redis.call('GET', key)
  local tokens, updated = burst, now
  if v and #v == 16 then tokens, updated = struct.unpack('<dd', v) end
  local elapsed = now - updated
  if elapsed > 0 then
    tokens = tokens + (elapsed * rate) / 1000
    if tokens > burst then tokens = burst end
    updated = now
  elseif tokens > burst then
    tokens = burst
  end
  local ok, retry = false, 0
  if cost <= tokens then
    tokens = tokens - cost
    ok = true
  elseif cost > burst or rate <= 0 then
    retry = INF
  else
    retry = ((cost - tokens + burst * 1e-12) * 1000) / rate
  end
  local fullAt
  if rate > 0 then fullAt = updated + ((burst - tokens) * 1000) / rate
  elseif tokens >= burst then fullAt = updated
  else fullAt = INF end
  if op == 'c' then save(key, struct.pack('<dd', tokens, updated), fullAt, tokens >= burst) end
  return ok, whole(tokens), fullAt, retry
end
`;

/** gcra.ts. ARGV: interval ms, tolerance ms, limit (the burst). State: theoretical arrival time. */
const GCRA = `
local interval, tolerance, limit = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local function decide(key, op, cost)
  local v = redis.call('GET', key)
  local tat = now
  if v and #v == 8 then tat = struct.unpack('<d', v) end
  local from = tat
  if now > tat then from = now end
  local nxt = from + cost * interval
  local slack = math.abs(now) * 2.5e-16 + tolerance * 1e-12
  local ok, retry = false, 0
  if nxt - now <= tolerance + slack then
    tat = nxt
    ok = true
  elseif cost > limit then
    retry = INF
  else
    retry = nxt - tolerance - now
  end
  local ahead, reset = 0, now
  if tat > now then ahead = tat - now; reset = tat end
  if op == 'c' then save(key, struct.pack('<d', tat), reset, tat <= now) end
  return ok, whole((tolerance - ahead) / interval), reset, retry
end
`;

/** fixed-window.ts. ARGV: limit, window ms. State: window start, count. */
const FIXED_WINDOW = `
local limit, w = tonumber(ARGV[2]), tonumber(ARGV[3])
local function decide(key, op, cost)
  local v = redis.call('GET', key)
  local start, count = now - math.fmod(now, w), 0
  if v and #v == 16 then start, count = struct.unpack('<dd', v) end
  if now >= start + w then
    start = now - math.fmod(now, w)
    count = 0
  end
  local e = start + w
  local ok, retry = false, 0
  if count + cost <= limit then
    count = count + cost
    ok = true
  elseif cost > limit then
    retry = INF
  else
    retry = e - now
  end
  local reset = now
  if count > 0 then reset = e end
  if op == 'c' then save(key, struct.pack('<dd', start, count), reset, count <= 0) end
  return ok, whole(limit - count), reset, retry
end
`;

/** sliding-window-counter.ts. ARGV: limit, window ms. State: current window start, current, previous. */
const SLIDING_WINDOW_COUNTER = `
local limit, w = tonumber(ARGV[2]), tonumber(ARGV[3])
local function waitMs(start, current, previous, cost)
  local room = limit - cost
  local at
  if current <= room then
    at = start + w * (1 - (room - current) / previous)
  else
    at = start + w + w * (1 - room / current)
  end
  local r = math.ceil(at - now) + 1
  if r < 0 then r = 0 end
  return r
end
local function decide(key, op, cost)
  local v = redis.call('GET', key)
  local start, current, previous = now - math.fmod(now, w), 0, 0
  if v and #v == 24 then start, current, previous = struct.unpack('<ddd', v) end
  if now >= start + 2 * w then
    start = now - math.fmod(now, w)
    previous = 0
    current = 0
  elseif now >= start + w then
    start = start + w
    previous = current
    current = 0
  end
  local elapsed = 0
  if now > start then elapsed = now - start end
  local estimate = (previous * (w - elapsed)) / w + current
  local ok, rem, retry = false, 0, 0
  if estimate + cost <= limit then
    current = current + cost
    ok = true
    rem = whole(limit - estimate - cost)
  else
    rem = whole(limit - estimate)
    if cost > limit then retry = INF else retry = waitMs(start, current, previous, cost) end
  end
  local quietAt = now
  if current > 0 then quietAt = start + 2 * w elseif previous > 0 then quietAt = start + w end
  if op == 'c' then save(key, struct.pack('<ddd', start, current, previous), quietAt, current <= 0 and previous <= 0) end
  return ok, rem, quietAt, retry
end
`;

/**
 * sliding-window-log.ts. ARGV: limit, window ms. State: a sorted set of allowed requests, scored by
 * time, each member "cost|id"; entries that left the window are trimmed on every call.
 */
const SLIDING_WINDOW_LOG = `
local limit, w = tonumber(ARGV[2]), tonumber(ARGV[3])
local function decide(key, op, cost, id)
  if op == 'c' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', num(now - w))
  end
  local entries = redis.call('ZRANGEBYSCORE', key, '(' .. num(now - w), '+inf', 'WITHSCORES')
  local sum, last = 0, nil
  for i = 1, #entries, 2 do
    sum = sum + costOf(entries[i])
    last = tonumber(entries[i + 1])
  end
  local rem = limit - sum
  local ok, retry = false, 0
  if sum + cost <= limit then
    ok = true
    rem = rem - cost
    if op == 'c' and cost > 0 then
      redis.call('ZADD', key, num(now), id)
      last = now
    end
  elseif cost > limit then
    retry = INF
  else
    local left = sum
    for i = 1, #entries, 2 do
      left = left - costOf(entries[i])
      if left + cost <= limit then
        retry = tonumber(entries[i + 1]) + w - now
        break
      end
    end
  end
  local quietAt = now
  if op == 'p' and ok and cost > 0 then quietAt = now + w
  elseif last ~= nil then quietAt = last + w end
  if op == 'c' and last ~= nil then redis.call('PEXPIRE', key, ttlFor(quietAt)) end
  return ok, whole(rem), quietAt, retry
end
`;

/** leaky-bucket.ts. ARGV: drain per second, capacity, window ms. State: level, updated-at. */
const LEAKY_BUCKET = `
local drain, capacity = tonumber(ARGV[2]), tonumber(ARGV[3])
local function decide(key, op, cost)
  local v = redis.call('GET', key)
  local level, updated = 0, now
  if v and #v == 16 then level, updated = struct.unpack('<dd', v) end
  local elapsed = now - updated
  if elapsed > 0 then
    level = level - (elapsed * drain) / 1000
    if level < 0 then level = 0 end
    updated = now
  end
  local ok, retry = false, 0
  if level + cost <= capacity then
    level = level + cost
    ok = true
  elseif cost > capacity or drain <= 0 then
    retry = INF
  else
    retry = ((level + cost - capacity + capacity * 1e-12) * 1000) / drain
  end
  local emptyAt
  if level <= 0 then emptyAt = now
  elseif drain > 0 then emptyAt = updated + (level * 1000) / drain
  else emptyAt = INF end
  if op == 'c' then save(key, struct.pack('<dd', level, updated), emptyAt, level <= 0) end
  return ok, whole(capacity - level), emptyAt, retry
end
`;

/**
 * concurrency-limit.ts, with one lease per take: a sorted set of members "cost|id" scored by the time
 * the lease lapses. ARGV: limit, lease ms, retry hint ms. A holder that never releases (it crashed)
 * loses its units when its own lease lapses; the other leases are untouched.
 */
const CONCURRENCY = `
local limit, lease, hint = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local function decide(key, op, cost, id)
  if op == 'r' then
    redis.call('ZREM', key, id)
    return true, 0, now, 0
  end
  if op == 'c' then redis.call('ZREMRANGEBYSCORE', key, '-inf', num(now)) end
  local leases = redis.call('ZRANGEBYSCORE', key, '(' .. num(now), '+inf')
  local inFlight = 0
  for i = 1, #leases do inFlight = inFlight + costOf(leases[i]) end
  local ok, retry = false, 0
  if inFlight + cost <= limit then
    inFlight = inFlight + cost
    ok = true
    if op == 'c' and cost > 0 then
      redis.call('ZADD', key, num(now + lease), id)
      redis.call('PEXPIRE', key, ttlFor(now + lease))
    end
  elseif cost > limit then
    retry = INF
  else
    retry = hint
  end
  local reset = now
  if inFlight > 0 then reset = now + lease end
  return ok, whole(limit - inFlight), reset, retry
end
`;

/**
 * calendar-quota.ts. ARGV: limit, period start, period end. Redis's Lua has no time-zone data, so the
 * caller computes the local period (from its own clock) and the script counts in it; see docs/redis.md
 * for the bound this puts on boundary skew. State: period start, used.
 */
const CALENDAR_QUOTA = `
local limit, pstart, pend = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local function decide(key, op, cost)
  local v = redis.call('GET', key)
  local used = 0
  if v and #v == 16 then
    local s, u = struct.unpack('<dd', v)
    if s == pstart then used = u end
  end
  local ok, retry = false, 0
  if used + cost <= limit then
    used = used + cost
    ok = true
  elseif cost > limit then
    retry = INF
  else
    retry = pend - now
  end
  local reset = now
  if used > 0 then reset = pend end
  if op == 'c' then save(key, struct.pack('<dd', pstart, used), reset, used <= 0) end
  return ok, whole(limit - used), reset, retry
end
`;

/** Parameter count and body of each script. */
const BODIES: Record<AlgorithmName, { params: number; body: string }> = {
  token_bucket: { params: 2, body: TOKEN_BUCKET },
  gcra: { params: 3, body: GCRA },
  fixed_window: { params: 2, body: FIXED_WINDOW },
  sliding_window_counter: { params: 2, body: SLIDING_WINDOW_COUNTER },
  sliding_window_log: { params: 2, body: SLIDING_WINDOW_LOG },
  leaky_bucket: { params: 2, body: LEAKY_BUCKET },
  concurrency: { params: 3, body: CONCURRENCY },
  calendar_quota: { params: 3, body: CALENDAR_QUOTA },
};

/** The whole script of `name`. KEYS: the batch's keys; ARGV: time, parameters, checks, members. */
export function algorithmScript(name: AlgorithmName): string {
  const b = BODIES[name];
  return PRELUDE + b.body + loop(b.params);
}

/** Whether `name`'s script takes a member per check (its state is a sorted set of them). */
export function needsMembers(name: AlgorithmName): boolean {
  return name === 'sliding_window_log' || name === 'concurrency';
}

/**
 * The script's parameters for a validated spec, as the TypeScript algorithm derives them (so both sides
 * start from the same doubles). Calendar quotas get their period per call (see calendarParams).
 */
export function scriptParams(spec: AlgorithmSpec): string[] {
  createAlgorithm(spec); // validates: throws AlgorithmSpecError naming the bad parameter
  switch (spec.algorithm) {
    case 'token_bucket':
      return [String(spec.rate), String(spec.burst)];
    case 'gcra': {
      const periodMs = durationMs(spec.period)!;
      const burst = spec.burst ?? spec.limit;
      const interval = periodMs / spec.limit;
      return [String(interval), String(interval * burst), String(burst)];
    }
    case 'fixed_window':
    case 'sliding_window_counter':
    case 'sliding_window_log':
      return [String(spec.limit), String(durationMs(spec.window)!)];
    case 'leaky_bucket':
      return [String(spec.rate), String(spec.capacity)];
    case 'concurrency':
      return [
        String(spec.limit),
        String(spec.lease === undefined ? 600_000 : durationMs(spec.lease)!),
        String(spec.retry_after === undefined ? 1000 : durationMs(spec.retry_after)!),
      ];
    case 'calendar_quota':
      return [String(spec.limit), '0', '0'];
  }
}
