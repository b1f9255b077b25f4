// Shared limits on Redis (docs/redis.md): addresses, pool, timeouts, fallback, breaker, near-global.
// How to add a setting: src/settings/definitions/index.ts.

import type { SettingDefinitions } from '../setting-kinds.js';

export const REDIS_SETTINGS = {
  REDIS_ADDRESS: {
    kind: 'string',
    defaultValue: '',
    description:
      'Redis holding the buckets all replicas share: host:port (cluster: seed list, sentinel: the sentinels, comma-separated). Empty: buckets kept in process.',
  },
  REDIS_MODE: {
    kind: 'enum',
    defaultValue: 'standalone',
    choices: ['standalone', 'sentinel', 'cluster'],
    description: 'How REDIS_ADDRESS is read: one server, Sentinel (REDIS_SENTINEL_MASTER), or Cluster seeds.',
  },
  REDIS_SENTINEL_MASTER: {
    kind: 'string',
    defaultValue: 'mymaster',
    description: 'Master name asked of the sentinels (REDIS_MODE=sentinel).',
  },
  REDIS_USERNAME: { kind: 'string', defaultValue: '', description: 'Redis ACL user (empty: default user).' },
  REDIS_PASSWORD: { kind: 'string', defaultValue: '', description: 'Redis password (empty: none).' },
  REDIS_POOL_SIZE: {
    kind: 'int',
    defaultValue: '4',
    description: 'Connections to Redis (standalone, sentinel); each pipelines many batched checks.',
  },
  REDIS_MIN_IDLE_CONNS: {
    kind: 'int',
    defaultValue: '1',
    description: 'Connections opened at start; the rest of the pool opens when load needs it.',
  },
  REDIS_TIMEOUT: {
    kind: 'duration',
    defaultValue: '100ms',
    description: 'Longest wait for a Redis answer; past it the request is decided from the local fallback.',
  },
  REDIS_KEY_PREFIX: { kind: 'string', defaultValue: 'rls:', description: 'Prefix of every Redis key.' },
  REDIS_FALLBACK: {
    kind: 'enum',
    defaultValue: 'local',
    choices: ['local', 'none'],
    description:
      "When Redis is unreachable: local = decide in process with this replica's share of each limit; none = fail (FAILURE_MODE_ALLOW decides).",
  },
  REDIS_FALLBACK_REPLICAS: {
    kind: 'int',
    defaultValue: '0',
    description:
      'Replicas the limit is shared among in fallback; 0 = count live replicas from heartbeats in Redis.',
  },
  REDIS_BREAKER_FAILURES: {
    kind: 'int',
    defaultValue: '3',
    description: 'Consecutive failed Redis round trips that switch to the local fallback.',
  },
  REDIS_BREAKER_COOLDOWN: {
    kind: 'duration',
    defaultValue: '1s',
    description: 'How often Redis is probed while in fallback; the first good probe switches back.',
  },
  REDIS_LOCAL_CACHE: {
    kind: 'bool',
    defaultValue: 'true',
    description:
      'Answer a tenant already over its limit from a local upper bound of its bucket, without asking Redis.',
  },
  REDIS_NEAR_GLOBAL_TENANTS: {
    kind: 'list',
    defaultValue: '',
    description:
      'Tenants decided near-globally (docs/redis.md): local tokens reconciled with Redis every REDIS_NEAR_GLOBAL_SYNC; * = all. Empty: every tenant exact.',
  },
  REDIS_NEAR_GLOBAL_SYNC: {
    kind: 'duration',
    defaultValue: '10ms',
    description:
      'How often near-global tenants report their local takes to Redis and read the shared level back.',
  },
} as const satisfies SettingDefinitions;
