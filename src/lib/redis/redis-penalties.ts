// Penalty records in Redis, shared by every replica: each denial is counted by one atomic script (on
// Redis's clock) that also sets the block when the count is reached, so two replicas counting the same
// identity never both miss or double a level. Blocks are answered from a local mirror of the active set,
// so a blocked request never waits on Redis: the mirror polls a version counter (one GET a second) and
// re-reads the set when it moved. A block set through one replica is enforced by the others within that
// interval; the replica that set it enforces it at once. While Redis is unreachable, denials are counted
// in process (this replica only) and the mirror keeps the blocks it knew until they end.

import type { PenaltyBlock, PenaltyRule } from '../policy/penalty.js';
import { PENALTY_KEY_SEPARATOR, penaltyReason } from '../policy/penalty.js';
import type { PenaltyBox } from '../policy/penalty-box.js';
import { InProcessPenaltyBox } from '../policy/penalty-box.js';
import type { RedisClient, RedisConnections } from './redis-connections.js';
import { LuaScript } from './script-runner.js';

export interface RedisPenaltyBoxOptions {
  /** Start of every key (REDIS_KEY_PREFIX; default 'rl:'); penalty keys add "{penalties}:". */
  keyPrefix?: string;
  /** How often the mirror asks whether the active set changed (default 1000 ms). */
  refreshMs?: number;
  /** Whose clock counts: Redis's TIME (the default: one clock for the fleet) or the `nowMs` passed in (tests). */
  clock?: 'redis' | 'caller';
}

// Shared head of every script: the time in ms (ARGV[1], or Redis TIME when ''), and exact number text
// (Lua's tostring would round a ms timestamp to 14 digits).
const HEAD = `
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
local function num(x) return string.format('%.17g', x) end
`;

/**
 * KEYS: state hash, active zset, info hash, version. ARGV: now, after, window, decay, member, reason,
 * durations... Same arithmetic as recordDenial() and levelAt() in penalty.ts.
 * Returns {started (0/1; 2: a block was already on), level, start, end} as number text.
 */
const OFFEND = `${HEAD}
local after, window, decay = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local member, reason = ARGV[5], ARGV[6]
local rungs = #ARGV - 6
local s = redis.call('HMGET', KEYS[1], 'c', 'ws', 'l', 'bs', 'be')
local c, ws = tonumber(s[1]) or 0, tonumber(s[2]) or now
local l, bs, be = tonumber(s[3]) or 0, tonumber(s[4]) or 0, tonumber(s[5]) or 0
if now >= bs and now < be then return {'2', num(l), num(bs), num(be)} end
if c == 0 or now >= ws + window then c = 0; ws = now end
c = c + 1
local started = 0
if c >= after then
  local level = l
  if l > 0 and now >= be then level = math.max(0, l - math.floor((now - be) / decay)) end
  l = math.min(level + 1, rungs)
  bs = now
  be = now + tonumber(ARGV[6 + l])
  c = 0
  started = 1
  redis.call('ZADD', KEYS[2], num(be), member)
  redis.call('HSET', KEYS[3], member, num(l) .. ' ' .. num(bs) .. ' ' .. num(be) .. ' ' .. reason)
  redis.call('INCR', KEYS[4])
end
redis.call('HSET', KEYS[1], 'c', num(c), 'ws', num(ws), 'l', num(l), 'bs', num(bs), 'be', num(be))
local forget = be
if c > 0 and ws + window > forget then forget = ws + window end
if l > 0 and be + l * decay > forget then forget = be + l * decay end
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil(forget - now)))
return {num(started), num(l), num(bs), num(be)}
`;

/** KEYS: active zset, info hash, version. Drops ended blocks; returns {version, member, info, ...}. */
const LIST = `${HEAD}
local ended = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', num(now))
for i = 1, #ended, 500 do
  local part = {unpack(ended, i, math.min(i + 499, #ended))}
  redis.call('ZREM', KEYS[1], unpack(part))
  redis.call('HDEL', KEYS[2], unpack(part))
end
local out = {redis.call('GET', KEYS[3]) or '0'}
local live = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, m in ipairs(live) do
  local info = redis.call('HGET', KEYS[2], m)
  if info then out[#out + 1] = m; out[#out + 1] = info end
end
return out
`;

/** KEYS: state hash, active zset, info hash, version. ARGV: now, member. Returns 1 when a block was on. */
const LIFT = `${HEAD}
local be = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[2]) or '0')
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
redis.call('INCR', KEYS[4])
if be > now then return 1 end
return 0
`;

const offendScript = new LuaScript('penalty:offend', OFFEND);
const listScript = new LuaScript('penalty:list', LIST);
const liftScript = new LuaScript('penalty:lift', LIFT);

function isPool(r: RedisConnections | RedisClient): r is RedisConnections {
  return 'pick' in r;
}

/** "level start end reason" (the info hash's value) → a block; undefined when malformed. */
function parseInfo(member: string, info: string): PenaltyBlock | undefined {
  const at = member.indexOf(PENALTY_KEY_SEPARATOR);
  const parts = info.split(' ');
  if (at <= 0 || parts.length < 4) return undefined;
  const [level, start, end] = parts.map(Number);
  if (!Number.isFinite(level) || !Number.isFinite(start) || !Number.isFinite(end)) return undefined;
  return {
    policy: member.slice(0, at),
    key: member.slice(at + 1),
    level: level!,
    startMs: start!,
    endMs: end!,
    reason: parts.slice(3).join(' '),
  };
}

export class RedisPenaltyBox implements PenaltyBox {
  private mirror = new Map<string, PenaltyBlock>();
  private version = '';
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private closed = false;
  /**
   * Changes this replica made while a re-read was under way: the re-read's answer may predate them, so they
   * are applied on top of it (a block just started stays enforced, a block just lifted stays lifted).
   */
  private during: { started: Map<string, PenaltyBlock>; lifted: Set<string> } | undefined;
  /** Counts denials while Redis is unreachable (this replica alone). */
  private readonly local = new InProcessPenaltyBox();
  private readonly head: string;

  constructor(
    private readonly redis: RedisConnections | RedisClient,
    private readonly options: RedisPenaltyBoxOptions = {},
  ) {
    this.head = `${options.keyPrefix ?? 'rl:'}{penalties}:`;
  }

  /** The Redis key holding `policy`'s record of `key`. */
  stateKey(policy: string, key: string): string {
    return `${this.head}s:${policy}${PENALTY_KEY_SEPARATOR}${key}`;
  }

  private get shared(): [string, string, string] {
    return [`${this.head}active`, `${this.head}info`, `${this.head}version`];
  }

  private client(): RedisClient {
    const r = this.redis;
    return isPool(r) ? r.primary : r;
  }

  blockOf(policy: string, key: string, nowMs: number): PenaltyBlock | undefined {
    if (this.timer === undefined && !this.closed) this.start();
    const b = this.mirror.size === 0 ? undefined : this.mirror.get(policy + PENALTY_KEY_SEPARATOR + key);
    if (b !== undefined && nowMs >= b.startMs && nowMs < b.endMs) return b;
    return this.local.blockOf(policy, key, nowMs);
  }

  /** Counts a denial in Redis, atomically: resolves with the block it started, if any. */
  async offend(
    policy: string,
    rule: PenaltyRule,
    key: string,
    nowMs: number,
  ): Promise<PenaltyBlock | undefined> {
    const member = policy + PENALTY_KEY_SEPARATOR + key;
    const reason = penaltyReason(rule);
    const [active, info, version] = this.shared;
    let reply: unknown;
    try {
      reply = await offendScript.run(this.client(), 4, [
        this.stateKey(policy, key),
        active,
        info,
        version,
        this.time(nowMs),
        String(rule.after),
        String(rule.windowMs),
        String(rule.decayMs),
        member,
        reason,
        ...rule.durationsMs.map(String),
      ]);
    } catch {
      return this.local.offend(policy, rule, key, nowMs);
    }
    const [started, level, start, end] = (reply as string[]).map(Number);
    if (started === 0) return undefined;
    const block: PenaltyBlock = { policy, key, level: level!, startMs: start!, endMs: end!, reason };
    // Already blocked through another replica, before this one's copy caught up: enforce it from now on.
    this.mirror.set(member, block);
    this.during?.started.set(member, block);
    this.during?.lifted.delete(member);
    return started === 1 ? block : undefined;
  }

  /** Reads the active set from Redis now (and refreshes the mirror with it). */
  async active(nowMs: number): Promise<PenaltyBlock[]> {
    await this.reload(nowMs).catch(() => undefined); // unreachable: what the mirror knows
    const out: PenaltyBlock[] = [];
    for (const b of this.mirror.values()) if (nowMs < b.endMs) out.push(b);
    for (const b of this.local.active(nowMs))
      if (!this.mirror.has(b.policy + PENALTY_KEY_SEPARATOR + b.key)) out.push(b);
    return out.sort((a, b) => a.endMs - b.endMs);
  }

  activeCount(nowMs: number): number {
    let n = 0;
    for (const b of this.mirror.values()) if (nowMs >= b.startMs && nowMs < b.endMs) n++;
    return n + this.local.activeCount(nowMs);
  }

  async lift(policy: string, key: string, nowMs: number): Promise<boolean> {
    const member = policy + PENALTY_KEY_SEPARATOR + key;
    const [active, info, version] = this.shared;
    const reply = await liftScript.run(this.client(), 4, [
      this.stateKey(policy, key),
      active,
      info,
      version,
      this.time(nowMs),
      member,
    ]);
    const wasLocal = this.local.lift(policy, key, nowMs);
    this.mirror.delete(member);
    this.during?.started.delete(member);
    this.during?.lifted.add(member);
    return Number(reply) === 1 || wasLocal;
  }

  sweep(nowMs: number, maxRecords: number): number {
    for (const [m, b] of this.mirror) if (nowMs >= b.endMs) this.mirror.delete(m);
    return this.local.sweep(nowMs, maxRecords);
  }

  /** Asks Redis whether the active set changed, and re-reads it when it did. Never rejects. */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const v = await this.client().get(this.shared[2]);
        if ((v ?? '0') !== this.version) await this.reload(Date.now());
      } catch {
        // Unreachable: keep the mirror; its blocks end on their own.
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private async reload(nowMs: number): Promise<void> {
    const [active, info, version] = this.shared;
    const during = (this.during ??= { started: new Map(), lifted: new Set() });
    let reply: string[];
    try {
      reply = (await listScript.run(this.client(), 3, [active, info, version, this.time(nowMs)])) as string[];
    } finally {
      if (this.during === during) this.during = undefined;
    }
    const mirror = new Map<string, PenaltyBlock>();
    for (let i = 1; i + 1 < reply.length; i += 2) {
      const b = parseInfo(reply[i]!, reply[i + 1]!);
      if (b !== undefined) mirror.set(reply[i]!, b);
    }
    for (const [m, b] of during.started) mirror.set(m, b);
    for (const m of during.lifted) mirror.delete(m);
    this.mirror = mirror;
    // Changes made meanwhile may not be in this answer's version: read the set again on the next tick.
    this.version = during.started.size + during.lifted.size > 0 ? '' : (reply[0] ?? '0');
  }

  private time(nowMs: number): string {
    return this.options.clock === 'caller' ? String(nowMs) : '';
  }

  /** Starts polling the active set (blockOf() starts it on first use otherwise). */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.refresh(), this.options.refreshMs ?? 1000);
    this.timer.unref();
    void this.refresh();
  }

  /** Stops polling (the connections belong to whoever made them). */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
