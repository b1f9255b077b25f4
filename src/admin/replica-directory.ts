// Which replicas share this Redis, for the admin views: each replica beats its own entry (id, host, addresses,
// the config version it holds) into Redis every second and reads back every live entry in the same round trip.
// The admin API answers from the last read, so a status request never waits for Redis; nothing here is on the
// proxy's path, and a Redis outage only freezes the list (with the error said).
// Apart from the fallback heartbeat (src/stores/redis/replica-heartbeat.ts), whose count splits limits and which
// runs only when the fallback needs it; this one carries what an operator reads and runs whenever Redis is set.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { RedisConnections } from '../lib/redis/redis-connections.js';
import type { RedisSettings } from '../lib/redis/redis-settings.js';
import { HEARTBEAT_INTERVAL_MS, HEARTBEAT_TTL_MS } from '../stores/redis/replica-heartbeat.js';
import { LuaScript } from '../lib/redis/script-runner.js';

/**
 * KEYS: last-beat zset (Redis ms), entries hash. ARGV: id, entry JSON, ttl ms. Drops entries older than the TTL
 * (a replica that died without saying so) and returns Redis's now, then (id, last beat, entry) for every live one.
 */
const BEAT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
for _, id in ipairs(gone) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
end
redis.call('PEXPIRE', KEYS[1], ttl * 2)
redis.call('PEXPIRE', KEYS[2], ttl * 2)
local out = {tostring(now)}
local live = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #live, 2 do
  out[#out + 1] = live[i]
  out[#out + 1] = live[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], live[i]) or '{}'
end
return out
`;

/** The keys, under the heartbeat's hash tag so a Cluster keeps both on one slot. */
export function directoryKeys(prefix: string) {
  return { seen: `${prefix}{replicas}:admin:seen`, entries: `${prefix}{replicas}:admin:entries` };
}

/** What a replica says about itself. */
export interface ReplicaFacts {
  hostname: string;
  pid: number;
  /** host:port of its admin API and its proxy listener. */
  admin_address: string | null;
  proxy_address: string | null;
  version: string;
  started: string;
  /** The limits configuration version it enforces now. */
  config_version: number | null;
}

export interface ReplicaJson extends ReplicaFacts {
  id: string;
  self: boolean;
  last_seen: string | null;
  last_seen_seconds_ago: number | null;
}

export interface ReplicasJson {
  /** `redis`: every replica beating into the shared Redis; `process`: no Redis, so only this one. */
  source: 'redis' | 'process';
  replicas: ReplicaJson[];
  /** When the list was last read from Redis, and the error of the last failed beat (the list is then frozen). */
  last_read: string | null;
  last_error: { time: string; message: string } | null;
}

export interface ReplicaDirectoryOptions {
  /** Absent: Redis is not configured, and only this process is listed. */
  redis: RedisSettings | undefined;
  facts: () => Omit<ReplicaFacts, 'hostname' | 'pid'>;
  now: () => number;
}

export class ReplicaDirectory {
  /** Unique per edge even when two run in one process (tests) or a pid is reused after a restart. */
  readonly id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly script = new LuaScript('replica-directory', BEAT_SCRIPT);
  private readonly connections: RedisConnections | undefined;
  private readonly keys: ReturnType<typeof directoryKeys> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private live: { id: string; ageMs: number; facts: Partial<ReplicaFacts> }[] = [];
  private lastReadMs: number | undefined;
  private lastError: { timeMs: number; message: string } | undefined;
  private stopped = false;

  constructor(private readonly options: ReplicaDirectoryOptions) {
    if (options.redis) {
      // One connection of its own: a beat never queues behind bucket checks, and the checks never behind it.
      this.connections = new RedisConnections(
        { ...options.redis, poolSize: 1, minIdleConns: 1 },
        () => undefined,
      );
      this.keys = directoryKeys(options.redis.keyPrefix);
    }
  }

  private ownFacts(): ReplicaFacts {
    return { hostname: hostname(), pid: process.pid, ...this.options.facts() };
  }

  start(): void {
    if (!this.connections) return;
    void this.beat();
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_INTERVAL_MS);
    this.timer.unref();
  }

  /** One beat now: writes this replica's entry and reads every live one. */
  async beat(): Promise<void> {
    if (!this.connections || !this.keys) return;
    try {
      const reply = await this.script.run(this.connections.primary, 2, [
        this.keys.seen,
        this.keys.entries,
        this.id,
        JSON.stringify(this.ownFacts()),
        String(HEARTBEAT_TTL_MS),
      ]);
      if (!Array.isArray(reply) || reply.length < 1)
        throw new Error('unexpected reply from the replica script');
      const [nowText, ...rest] = reply as string[];
      const redisNow = Number(nowText);
      const live: typeof this.live = [];
      for (let i = 0; i + 2 < rest.length; i += 3) {
        live.push({ id: rest[i]!, ageMs: redisNow - Number(rest[i + 1]), facts: parseFacts(rest[i + 2]) });
      }
      this.live = live;
      this.lastReadMs = this.options.now();
      this.lastError = undefined;
    } catch (err) {
      this.lastError = { timeMs: this.options.now(), message: (err as Error).message };
    }
  }

  toJSON(): ReplicasJson {
    const nowMs = this.options.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const self = (): ReplicaJson => ({
      id: this.id,
      self: true,
      ...this.ownFacts(),
      last_seen: iso(nowMs),
      last_seen_seconds_ago: 0,
    });
    if (!this.connections)
      return { source: 'process', replicas: [self()], last_read: null, last_error: null };
    const readAt = this.lastReadMs ?? nowMs;
    const replicas = this.live.map((r): ReplicaJson => {
      if (r.id === this.id) return self();
      // Ages are on Redis's clock, so replica clocks that disagree cannot make a live one look stale.
      const seenMs = readAt - r.ageMs;
      return {
        id: r.id,
        self: false,
        hostname: r.facts.hostname ?? '',
        pid: r.facts.pid ?? 0,
        admin_address: r.facts.admin_address ?? null,
        proxy_address: r.facts.proxy_address ?? null,
        version: r.facts.version ?? '',
        started: r.facts.started ?? '',
        config_version: r.facts.config_version ?? null,
        last_seen: iso(seenMs),
        last_seen_seconds_ago: Math.max(0, (nowMs - seenMs) / 1000),
      };
    });
    // Before the first beat answers (or while Redis is down from the start) this replica still lists itself.
    if (!replicas.some((r) => r.self)) replicas.push(self());
    replicas.sort((a, b) => a.id.localeCompare(b.id));
    return {
      source: 'redis',
      replicas,
      last_read: this.lastReadMs === undefined ? null : iso(this.lastReadMs),
      last_error: this.lastError
        ? { time: iso(this.lastError.timeMs), message: this.lastError.message }
        : null,
    };
  }

  /** Stops beating and removes this entry at once, so the others stop listing it without waiting for the TTL. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.connections || !this.keys || this.stopped) return;
    this.stopped = true;
    try {
      await this.connections.primary.zrem(this.keys.seen, this.id);
      await this.connections.primary.hdel(this.keys.entries, this.id);
    } catch {
      // Redis is down: the entry expires by itself.
    }
    await this.connections.close();
  }
}

/** Another replica's entry; a malformed one shows as an entry with unknown facts rather than hiding the replica. */
function parseFacts(text: string | undefined): Partial<ReplicaFacts> {
  try {
    const value: unknown = JSON.parse(text ?? '{}');
    return typeof value === 'object' && value !== null ? (value as Partial<ReplicaFacts>) : {};
  } catch {
    return {};
  }
}
