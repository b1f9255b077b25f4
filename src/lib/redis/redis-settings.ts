// The Redis part of the settings: its typed shape and the parsing of REDIS_ADDRESS. Read once at start;
// every error names the setting and the bad value. Never connects to anything.

import { ConfigError } from '../config-error.js';

export type RedisMode = 'standalone' | 'sentinel' | 'cluster';
export type RedisFallback = 'local' | 'none';

export interface RedisAddress {
  host: string;
  port: number;
}

export interface RedisSettings {
  /** Empty: no Redis, each replica keeps its buckets in process. */
  addresses: readonly RedisAddress[];
  mode: RedisMode;
  sentinelMaster: string;
  username: string;
  password: string;
  poolSize: number;
  minIdleConns: number;
  timeoutMs: number;
  keyPrefix: string;
  fallback: RedisFallback;
  /** 0: count live replicas from heartbeats in Redis. */
  fallbackReplicas: number;
  breakerFailures: number;
  breakerCooldownMs: number;
  localCache: boolean;
  /** Tenants decided near-globally (local tokens, synced every nearGlobalSyncMs); '*' = all. None when absent. */
  nearGlobalTenants?: readonly string[];
  nearGlobalSyncMs?: number;
}

/** `host:port[,host:port...]`; a missing port is 6379 (26379 for sentinels). */
export function parseRedisAddresses(text: string, mode: RedisMode, source: string): RedisAddress[] {
  const defaultPort = mode === 'sentinel' ? 26379 : 6379;
  const out: RedisAddress[] = [];
  for (const part of text.split(',')) {
    const trimmed = part.trim();
    // TLS to Redis is not built: refusing rediss:// beats silently connecting in clear text.
    if (/^rediss:\/\//i.test(trimmed)) {
      throw new ConfigError(
        source,
        'REDIS_ADDRESS',
        `rediss:// (TLS to Redis) is not supported; use a TLS sidecar or a private network, got ${JSON.stringify(trimmed)}`,
      );
    }
    const item = trimmed.replace(/^redis:\/\//i, '');
    if (item === '') continue;
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(item);
    const port = m?.[2] === undefined ? defaultPort : Number(m[2]);
    if (!m || port < 1 || port > 65535) {
      throw new ConfigError(
        source,
        'REDIS_ADDRESS',
        `must be host:port or a comma-separated list of them, got ${JSON.stringify(part.trim())}`,
      );
    }
    out.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port });
  }
  return out;
}

/** Cross-setting checks that a single value's parser cannot make. */
export function checkRedisSettings(s: RedisSettings): void {
  if (s.addresses.length === 0) return;
  if (s.poolSize < 1)
    throw new ConfigError('settings', 'REDIS_POOL_SIZE', `must be at least 1, got ${s.poolSize}`);
  if (s.minIdleConns > s.poolSize)
    throw new ConfigError(
      'settings',
      'REDIS_MIN_IDLE_CONNS',
      `must not exceed REDIS_POOL_SIZE (${s.poolSize}), got ${s.minIdleConns}`,
    );
  if (s.breakerFailures < 1)
    throw new ConfigError(
      'settings',
      'REDIS_BREAKER_FAILURES',
      `must be at least 1, got ${s.breakerFailures}`,
    );
  if (s.mode === 'sentinel' && s.sentinelMaster === '')
    throw new ConfigError('settings', 'REDIS_SENTINEL_MASTER', 'must not be empty');
}
