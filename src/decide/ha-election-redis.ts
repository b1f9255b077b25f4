// The HA election shared by every edge replica through Redis: one hash per tenant (hash-tagged, so a tenant's
// clusters live in one Cluster slot), field = HA cluster, value = "<last seen ms>:<elected replica>", decided by
// one Lua script so two replicas can never elect two replicas of a cluster. While Redis cannot answer, the
// in-process tracker decides (each edge replica then elects on its own, as Mimir does with its KV store down
// for the local cache); an election never fails a write.

import type { HaElection, HaQuestion, HaVerdict } from './ha-tracker.js';
import { HA_CLUSTER_FORGET_MS, HaTracker } from './ha-tracker.js';
import { RedisConnections } from '../lib/redis/redis-connections.js';
import type { RedisSettings } from '../lib/redis/redis-settings.js';
import { LuaScript } from '../lib/redis/script-runner.js';

/**
 * KEYS[1] the tenant's hash. ARGV: cluster, replica, now ms, failover timeout ms, max clusters (0: unlimited),
 * forget ms. Replies {code, elected}: 1 accepted (the elected replica), 2 failover to this replica, 0 dedupe,
 * 3 too many clusters, 4 a new cluster elected this replica. The rule is electOne() of ha-tracker.ts.
 */
export const HA_ELECT_SCRIPT = `
local key = KEYS[1]
local cluster, replica = ARGV[1], ARGV[2]
local now, timeout, max, forget = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local function parse(v)
  local sep = string.find(v, ':', 1, true)
  return tonumber(string.sub(v, 1, sep - 1)), string.sub(v, sep + 1)
end
local function elect()
  redis.call('HSET', key, cluster, string.format('%d', now) .. ':' .. replica)
  redis.call('PEXPIRE', key, forget)
end
local cur = redis.call('HGET', key, cluster)
if cur then
  local seen, elected = parse(cur)
  if elected == replica then
    if now > seen then elect() else redis.call('PEXPIRE', key, forget) end
    return {1, elected}
  end
  if now - seen >= timeout then
    elect()
    return {2, replica}
  end
  return {0, elected}
end
if max > 0 and redis.call('HLEN', key) >= max then
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    local seen = parse(all[i + 1])
    if now - seen >= forget then redis.call('HDEL', key, all[i]) end
  end
  if redis.call('HLEN', key) >= max then return {3, ''} end
end
elect()
return {4, replica}
`;

/** The tenant's election hash; `{tenant}` is the Cluster hash tag (a Mimir tenant id holds no braces). */
export function haElectionKey(prefix: string, tenant: string): string {
  return `${prefix}ha:{${tenant}}`;
}

export interface RedisHaElectionOptions {
  /** Told when Redis failed and the local tracker decided (rate-limit the log in the caller). */
  onError?: (err: Error) => void;
}

export class RedisHaElection implements HaElection {
  readonly kind = 'redis';
  private readonly script = new LuaScript('ha-elect', HA_ELECT_SCRIPT);
  private readonly connections: RedisConnections;
  /** Decides while Redis cannot. */
  readonly local = new HaTracker();
  errors = 0;

  constructor(
    private readonly settings: RedisSettings,
    private readonly options: RedisHaElectionOptions = {},
  ) {
    // A connection of its own: an election never queues behind bucket checks, nor they behind it.
    this.connections = new RedisConnections({ ...settings, poolSize: 1, minIdleConns: 1 }, () => undefined);
  }

  elect(q: HaQuestion): HaVerdict | Promise<HaVerdict> {
    const index = this.connections.pick();
    if (index < 0) return this.fallback(q, new Error('redis not connected'));
    const client = this.connections.clients[index]!;
    this.connections.started(index);
    return this.script
      .run(client, 1, [
        haElectionKey(this.settings.keyPrefix, q.tenant),
        q.cluster,
        q.replica,
        String(Math.floor(q.nowMs)),
        String(q.failoverTimeoutMs),
        String(q.maxClusters),
        String(HA_CLUSTER_FORGET_MS),
      ])
      .then(
        (reply) => {
          this.connections.finished(index);
          return verdictOf(reply, q);
        },
        (err: unknown) => {
          this.connections.finished(index);
          return this.fallback(q, err as Error);
        },
      );
  }

  waitReady(timeoutMs: number): Promise<boolean> {
    return this.connections.waitReady(timeoutMs);
  }

  close(): Promise<void> {
    return this.connections.close();
  }

  private fallback(q: HaQuestion, err: Error): HaVerdict {
    this.errors++;
    this.options.onError?.(err);
    return this.local.elect(q);
  }
}

function verdictOf(reply: unknown, q: HaQuestion): HaVerdict {
  const [code, elected] = reply as [number, string];
  switch (code) {
    case 0:
      return { kind: 'dedupe', elected };
    case 3:
      return { kind: 'too_many_clusters', limit: q.maxClusters };
    default:
      return { kind: 'accept', elected, failover: code === 2, newCluster: code === 4 };
  }
}
