// The Lua scripts that keep the token buckets in Redis, and the binary layout of their arguments and
// replies. Each script reproduces src/lib/engine/token-bucket.ts exactly, runs atomically, and reads the one
// clock (Redis TIME), so replicas never disagree about time. Never put a per-replica clock in here.

import type { RateQuery } from '../rate-store.js';

/** Wait value meaning "can never pass" (cost above burst, or rate 0). */
export const NEVER = -1;
/** Level value meaning "this bucket was not read" (the request bucket denied first). */
export const UNKNOWN_LEVEL = -1;
/** Longest a bucket key lives when its bucket never refills (rate 0): one day. */
export const MAX_TTL_MS = 86_400_000;
/** Bytes of one limit set in a batch: request rate, request burst, ingestion rate, ingestion burst. */
const SET_BYTES = 32;
/** Bytes of one query in a batch: key index, limit-set index (uint16), flags (uint8), two costs (double). */
const QUERY_BYTES = 2 + 2 + 1 + 8 + 8;
/** Bytes of one answer: request wait, ingestion wait, request level, ingestion level (doubles). */
export const REPLY_BYTES = 32;
const FLAG_ENFORCED = 1;
const FLAG_DEBIT = 2;

// Shared Lua: refill one bucket the way refill() in token-bucket.ts does, take `cost`, and report the
// wait (ms, rounded up so a denial never reads as 0).
const BUCKET_LUA = `
local function refill(tokens, updated, rate, burst, now)
  if tokens == nil then return burst, now end
  local elapsed = now - updated
  if elapsed > 0 then
    tokens = tokens + elapsed * rate / 1000
    if tokens > burst then tokens = burst end
    return tokens, now
  end
  if tokens > burst then tokens = burst end
  return tokens, updated
end

local function take(tokens, rate, burst, cost)
  if cost <= tokens then return tokens - cost, 0 end
  if cost > burst or rate <= 0 then return tokens, -1 end
  local wait = math.ceil((cost - tokens) * 1000 / rate)
  if wait < 1 then wait = 1 end
  return tokens, wait
end

-- How long a key must outlive a take so that its expiry never drops a bucket that is not yet full
-- (a missing key reads as a full bucket): time to refill from empty, plus a second.
local function ttl(rate, burst)
  if rate <= 0 then return ${MAX_TTL_MS} end
  local ms = math.ceil(burst * 1000 / rate) + 1000
  if ms > ${MAX_TTL_MS} then ms = ${MAX_TTL_MS} end
  return ms
end

-- Milliseconds until a bucket at \`tokens\` is full again (it may be in debt after a near-global sync).
local function untilFull(tokens, rate, burst)
  if tokens >= burst then return 0 end
  if rate <= 0 then return ${MAX_TTL_MS} end
  return (burst - tokens) * 1000 / rate
end

-- A tenant's state is one string of five little-endian doubles: request tokens, request update time,
-- ingestion tokens, ingestion update time, and the key's expiry (Redis ms) as last set. Keeping the
-- expiry in the value lets a take overwrite the value in place (SETRANGE keeps the TTL) and set a new
-- expiry only when the old one would come too early: most takes then skip Redis's costly expiry update.
-- A 32-byte value (an earlier build) reads as state with an unknown expiry.
local function decode(v)
  if not v then return nil end
  if #v == 40 then
    local rt, ru, it, iu, ex = struct.unpack('<ddddd', v)
    return {rt, ru, it, iu, ex}
  end
  if #v == 32 then
    local rt, ru, it, iu = struct.unpack('<dddd', v)
    return {rt, ru, it, iu, 0}
  end
  return nil
end

local function load(key)
  return decode(redis.call('GET', key))
end
`;

/** The one clock: Redis's own, in milliseconds with microsecond precision. Expiry is absolute on it. */
const REDIS_CLOCK = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local function setExpiring(key, value, expiresAt)
  redis.call('SET', key, value, 'PXAT', expiresAt)
end
`;

/**
 * Tests only: the clock is the last argument, so a property test can drive time exactly. Expiry is
 * then relative to that clock (PX), since the test clock is not Redis's.
 */
const ARGUMENT_CLOCK = `
local now = tonumber(ARGV[#ARGV])
local function setExpiring(key, value, expiresAt)
  local px = math.ceil(expiresAt - now)
  if px < 1 then px = 1 end
  redis.call('SET', key, value, 'PX', px)
end
`;

/**
 * Writes a tenant's state. \`needBy\`: the key must live until at least then (its buckets are full by
 * then); \`keep\`: the expiry to set when the current one is too early (ttl() from now, or later).
 */
const SAVE_LUA = `
local function save(key, st, needBy, keep)
  if st[5] >= needBy + 1000 then
    redis.call('SETRANGE', key, 0, struct.pack('<ddddd', st[1], st[2], st[3], st[4], st[5]))
    return
  end
  local at = now + keep
  if at < needBy + 1000 then at = needBy + 1000 end
  if at > now + ${MAX_TTL_MS} then at = now + ${MAX_TTL_MS} end
  at = math.ceil(at)
  st[5] = at
  setExpiring(key, struct.pack('<ddddd', st[1], st[2], st[3], st[4], at), at)
end
`;

/**
 * Batched take. KEYS: the distinct tenant keys of the batch. ARGV[1]: one binary string (encodeTakeBatch):
 * uint16 limit-set count L, uint16 query count Q, L limit sets (4 doubles: request rate, request burst,
 * ingestion rate, ingestion burst), then Q queries (uint16 key index, uint16 set index, uint8 flags,
 * double request cost, double ingestion cost). Each distinct limit set and key is sent once, not per check.
 * Returns one binary string: per query 4 doubles (request wait ms, ingestion wait ms, NEVER: never;
 * request level, ingestion level in tokens, UNKNOWN_LEVEL: not read).
 *
 * A normal query is InProcessRateStore.take: requests first; an enforced request denial leaves ingestion
 * alone; a denied take consumes nothing; the refilled state is written back either way (as the in-process
 * bucket mutates on refill), so both stores agree exactly even across limit changes.
 * A debit query (near-global sync) subtracts tokens that replicas already allowed locally, and may leave
 * a bucket in debt (below 0), which later refill pays back: the fleet's total stays the limit's.
 */
const TAKE_BODY = `
-- Locals, not global lookups, for what runs once per check.
local sunpack, spack, call, ceil = struct.unpack, struct.pack, redis.call, math.ceil
local blob = ARGV[1]
local nsets, nq, pos = sunpack('<HH', blob)
local srr, srb, sir, sib, skeep = {}, {}, {}, {}, {}
for s = 1, nsets do
  local rr, rb, ir, ib
  rr, rb, ir, ib, pos = sunpack('<dddd', blob, pos)
  srr[s], srb[s], sir[s], sib[s] = rr, rb, ir, ib
  -- How long a key must live after a take with these limits: the longer of its two buckets' ttl().
  local keep = ttl(ir, ib)
  if rr > 0 and ttl(rr, rb) > keep then keep = ttl(rr, rb) end
  skeep[s] = keep
end
-- One MGET for the whole batch: a redis.call costs more than the bucket arithmetic.
local stored = call('MGET', unpack(KEYS))
-- Each key's state in parallel arrays (no table per key): request tokens and update time, ingestion
-- tokens and update time, the expiry as stored; needBy/keeps as in save() of the reconcile script.
local R, RU, I, IU, EX = {}, {}, {}, {}, {}
local needBy, keeps = {}, {}
-- The answers, four numbers per query, packed into one string at the end.
local out = {}
for q = 1, nq do
  local ki, si, flags, rc, ic
  ki, si, flags, rc, ic, pos = sunpack('<HHBdd', blob, pos)
  local rr, rb, ir, ib = srr[si], srb[si], sir[si], sib[si]
  local rt, ru, it, iu = R[ki], RU[ki], I[ki], IU[ki]
  local touched = false
  if rt == nil then
    local v = stored[ki]
    if v and #v == 40 then
      rt, ru, it, iu, EX[ki] = sunpack('<ddddd', v)
    elseif v and #v == 32 then
      rt, ru, it, iu = sunpack('<dddd', v)
      EX[ki] = 0
    else
      -- Both buckets start full, at the limits in force on the tenant's first take (and are saved so,
      -- as the in-process store keeps them, which matters when the burst changes later).
      rt, ru, it, iu = rb, now, ib, now
      EX[ki] = 0
      touched = true
    end
  end
  local reqWait, ingWait, reqLevel, ingLevel = 0, 0, ${UNKNOWN_LEVEL}, ${UNKNOWN_LEVEL}
  if flags >= ${FLAG_DEBIT} then
    if rr > 0 then
      rt, ru = refill(rt, ru, rr, rb, now)
      rt = rt - rc
      reqLevel = rt
    end
    it, iu = refill(it, iu, ir, ib, now)
    it = it - ic
    ingLevel = it
    touched = true
  else
    local skipIngestion = false
    if rr > 0 and rc > 0 then
      rt, ru = refill(rt, ru, rr, rb, now)
      rt, reqWait = take(rt, rr, rb, rc)
      if reqWait ~= 0 and flags % 2 == 1 then skipIngestion = true end
      reqLevel = rt
      touched = true
    end
    if skipIngestion then
      -- ingLevel stays unknown: the ingestion bucket was not read.
    elseif ic > 0 then
      -- refill() then take(), written out: this is the one step every check runs.
      local elapsed = now - iu
      if elapsed > 0 then
        it = it + elapsed * ir / 1000
        iu = now
      end
      if it > ib then it = ib end
      if ic <= it then
        it = it - ic
      elseif ic > ib or ir <= 0 then
        ingWait = ${NEVER}
      else
        ingWait = ceil((ic - it) * 1000 / ir)
        if ingWait < 1 then ingWait = 1 end
      end
      ingLevel = it
      touched = true
    else
      ingLevel = refill(it, iu, ir, ib, now)
    end
  end
  R[ki], RU[ki], I[ki], IU[ki] = rt, ru, it, iu
  if touched then
    local need = now + untilFull(it, ir, ib)
    if rr > 0 then
      local r = now + untilFull(rt, rr, rb)
      if r > need then need = r end
    end
    local keep = skeep[si]
    local nb = needBy[ki]
    if nb == nil or need > nb then needBy[ki] = need end
    local kp = keeps[ki]
    if kp == nil or keep > kp then keeps[ki] = keep end
  end
  local o = q * 4
  out[o - 3], out[o - 2], out[o - 1], out[o] = reqWait, ingWait, reqLevel, ingLevel
end
for ki = 1, #KEYS do
  local need = needBy[ki]
  if need ~= nil then
    if EX[ki] >= need + 1000 then
      -- The expiry set earlier still covers the time the buckets are full: overwrite in place (keeps TTL).
      call('SETRANGE', KEYS[ki], 0, spack('<dddd', R[ki], RU[ki], I[ki], IU[ki]))
    else
      local at = now + keeps[ki]
      if at < need + 1000 then at = need + 1000 end
      if at > now + ${MAX_TTL_MS} then at = now + ${MAX_TTL_MS} end
      at = math.ceil(at)
      setExpiring(KEYS[ki], spack('<ddddd', R[ki], RU[ki], I[ki], IU[ki], at), at)
    end
  end
end
-- One struct.pack per 256 answers (Lua's C stack holds 8000 values), not one string per answer.
local parts = {}
for a = 1, nq, 256 do
  local b = a + 255
  if b > nq then b = nq end
  parts[#parts + 1] = spack('<' .. string.rep('d', (b - a + 1) * 4), unpack(out, a * 4 - 3, b * 4))
end
return table.concat(parts)
`;
export const TAKE_SCRIPT = BUCKET_LUA + REDIS_CLOCK + SAVE_LUA + TAKE_BODY;
/** TAKE_SCRIPT reading the time from its last argument (tests only; production never sends it). */
export const TAKE_SCRIPT_WITH_CLOCK_ARGUMENT = BUCKET_LUA + ARGUMENT_CLOCK + SAVE_LUA + TAKE_BODY;

/** One check of a batch. `debit`: a near-global sync reporting tokens already allowed locally. */
export interface BatchQuery {
  tenant: string;
  query: RateQuery;
  debit?: { requests: number; ingestion: number } | undefined;
}

/** A batch as the take script receives it: the distinct keys, then the packed queries. */
export interface EncodedBatch {
  keys: string[];
  blob: Buffer;
}

/** Distinct limit sets above which a Map replaces the linear search (most batches hold one or two). */
const LINEAR_SET_SEARCH = 8;

/** Packs `items` for the take script: each distinct key and limit set once, then 21 bytes per query. */
export function encodeTakeBatch(prefix: string, items: readonly BatchQuery[]): EncodedBatch {
  const n = items.length;
  const keys: string[] = [];
  const keyIndex = new Map<string, number>();
  const queryKey = new Uint16Array(n);
  const querySet = new Uint16Array(n);
  const sets: RateQuery[] = [];
  let setIndex: Map<string, number> | undefined;
  let lastSet = -1;
  for (let i = 0; i < n; i++) {
    const { tenant, query: q } = items[i]!;
    let k = keyIndex.get(tenant);
    if (k === undefined) {
      k = keys.length;
      keys.push(bucketKey(prefix, tenant));
      keyIndex.set(tenant, k);
    }
    queryKey[i] = k + 1;
    let s = lastSet !== -1 && sameSet(sets[lastSet]!, q) ? lastSet : -1;
    if (s === -1 && setIndex === undefined) {
      for (let j = 0; j < sets.length; j++) {
        if (sameSet(sets[j]!, q)) {
          s = j;
          break;
        }
      }
      if (s === -1 && sets.length >= LINEAR_SET_SEARCH) {
        setIndex = new Map();
        for (let j = 0; j < sets.length; j++) setIndex.set(setName(sets[j]!), j);
      }
    }
    if (s === -1 && setIndex !== undefined) {
      const name = setName(q);
      s = setIndex.get(name) ?? -1;
      if (s === -1) setIndex.set(name, sets.length);
    }
    if (s === -1) {
      s = sets.length;
      sets.push(q);
    }
    querySet[i] = s + 1;
    lastSet = s;
  }
  if (keys.length > 0xffff || sets.length > 0xffff || n > 0xffff)
    throw new Error(`a take batch holds at most 65535 queries, got ${n}`);
  const blob = Buffer.allocUnsafe(4 + sets.length * SET_BYTES + n * QUERY_BYTES);
  blob.writeUInt16LE(sets.length, 0);
  blob.writeUInt16LE(n, 2);
  let o = 4;
  for (const q of sets) {
    blob.writeDoubleLE(q.requestRate, o);
    blob.writeDoubleLE(q.requestBurst, o + 8);
    blob.writeDoubleLE(q.ingestionRate, o + 16);
    blob.writeDoubleLE(q.ingestionBurst, o + 24);
    o += SET_BYTES;
  }
  for (let i = 0; i < n; i++) {
    const { query: q, debit } = items[i]!;
    blob.writeUInt16LE(queryKey[i]!, o);
    blob.writeUInt16LE(querySet[i]!, o + 2);
    if (debit === undefined) {
      blob.writeUInt8(q.requestEnforced ? FLAG_ENFORCED : 0, o + 4);
      blob.writeDoubleLE(q.requests ?? 1, o + 5);
      blob.writeDoubleLE(q.cost, o + 13);
    } else {
      blob.writeUInt8(FLAG_DEBIT, o + 4);
      blob.writeDoubleLE(debit.requests, o + 5);
      blob.writeDoubleLE(debit.ingestion, o + 13);
    }
    o += QUERY_BYTES;
  }
  return { keys, blob };
}

/** One answer of the take script: waits in ms (Infinity: never) and levels after it (-1: not read). */
export interface TakeReply {
  requestWaitMs: number;
  ingestionWaitMs: number;
  requestLevel: number;
  ingestionLevel: number;
}

/** Whether `reply` is the take script's answer to `queries` checks. */
export function isTakeReply(reply: unknown, queries: number): reply is Buffer {
  return Buffer.isBuffer(reply) && reply.length === queries * REPLY_BYTES;
}

/** The i-th answer of a take reply. */
export function readTakeReply(reply: Buffer, i: number): TakeReply {
  const o = i * REPLY_BYTES;
  const reqWait = reply.readDoubleLE(o);
  const ingWait = reply.readDoubleLE(o + 8);
  return {
    requestWaitMs: reqWait === NEVER ? Infinity : reqWait,
    ingestionWaitMs: ingWait === NEVER ? Infinity : ingWait,
    requestLevel: reply.readDoubleLE(o + 16),
    ingestionLevel: reply.readDoubleLE(o + 24),
  };
}

function sameSet(a: RateQuery, b: RateQuery): boolean {
  return (
    a.ingestionRate === b.ingestionRate &&
    a.ingestionBurst === b.ingestionBurst &&
    a.requestRate === b.requestRate &&
    a.requestBurst === b.requestBurst
  );
}

function setName(q: RateQuery): string {
  return `${q.requestRate}/${q.requestBurst}/${q.ingestionRate}/${q.ingestionBurst}`;
}

/** Numbers passed in ARGV for each key of a reconcile: rr, rb, ir, ib, request ceiling, ingestion ceiling. */
export const RECONCILE_ARGS_PER_KEY = 6;

/**
 * After a fallback period: lowers each bucket to at most the given ceiling (what the replicas together
 * may still hold), never raises it. A missing bucket counts as full, so a Redis that restarted empty
 * does not hand out a fresh burst. A ceiling below 0 leaves that bucket alone.
 */
export const RECONCILE_SCRIPT =
  BUCKET_LUA +
  REDIS_CLOCK +
  SAVE_LUA +
  `
for i = 1, #KEYS do
  local a = (i - 1) * ${RECONCILE_ARGS_PER_KEY}
  local rr = tonumber(ARGV[a + 1])
  local rb = tonumber(ARGV[a + 2])
  local ir = tonumber(ARGV[a + 3])
  local ib = tonumber(ARGV[a + 4])
  local rc = tonumber(ARGV[a + 5])
  local ic = tonumber(ARGV[a + 6])
  local key = KEYS[i]
  local st = load(key) or {rb, now, ib, now, 0}
  local keep = ttl(ir, ib)
  local need = now
  if rr > 0 then
    st[1], st[2] = refill(st[1], st[2], rr, rb, now)
    if rc >= 0 and rc < st[1] then st[1] = rc end
    local r = ttl(rr, rb)
    if r > keep then keep = r end
    need = now + untilFull(st[1], rr, rb)
  end
  st[3], st[4] = refill(st[3], st[4], ir, ib, now)
  if ic >= 0 and ic < st[3] then st[3] = ic end
  local ni = now + untilFull(st[3], ir, ib)
  if ni > need then need = ni end
  -- A fresh expiry: the old one may belong to a Redis that lost the key.
  st[5] = 0
  save(key, st, need, keep)
end
return #KEYS
`;

/**
 * Replica heartbeat. KEYS[1]: sorted set of replica ids scored by their last beat (Redis ms).
 * ARGV: this replica's id, how long a beat counts (ms). Drops stale replicas and returns the live count.
 */
export const HEARTBEAT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('PEXPIRE', KEYS[1], ttl * 2)
return redis.call('ZCARD', KEYS[1])
`;

/**
 * The key of a tenant's buckets. The tenant sits in a hash tag so every key of one tenant lands on one
 * Cluster slot (a multi-key script for a tenant never crosses slots).
 */
export function bucketKey(prefix: string, tenant: string): string {
  return `${prefix}{${tenant}}:tb`;
}

/** The key of the replica heartbeat set. */
export function replicasKey(prefix: string): string {
  return `${prefix}{replicas}`;
}

/** A tenant's stored state as the scripts write it: four little-endian doubles. */
export function decodeBucketState(value: Buffer): {
  requestTokens: number;
  requestUpdatedMs: number;
  ingestionTokens: number;
  ingestionUpdatedMs: number;
} {
  return {
    requestTokens: value.readDoubleLE(0),
    requestUpdatedMs: value.readDoubleLE(8),
    ingestionTokens: value.readDoubleLE(16),
    ingestionUpdatedMs: value.readDoubleLE(24),
  };
}
