// Picks the rate store from the settings (STORE): in process, Redis (standalone, Sentinel or Cluster;
// optionally near-global for hot tenants) or PostgreSQL, each shared store behind the circuit-breaking
// local fallback; also what the service shows about it. Never connects more than once per store.

import { performance } from 'node:perf_hooks';
import type { Settings } from '../settings/settings.js';
import type { Logger } from '../observe/logger.js';
import { FallbackRateStore } from '../stores/fallback-rate-store.js';
import type { RoundTripListener } from '../lib/redis/circuit-breaker.js';
import { InProcessRateStore } from '../stores/in-process-rate-store.js';
import { NearGlobalRateStore } from '../stores/near-global-rate-store.js';
import { PostgresRateStore } from '../stores/postgres/postgres-rate-store.js';
import type { RateQuery, RateStore, StoreStatus } from '../stores/rate-store.js';
import { RedisConnections } from '../lib/redis/redis-connections.js';
import { RedisRateStore } from '../stores/redis/redis-rate-store.js';
import { ReplicaHeartbeat } from '../stores/redis/replica-heartbeat.js';

/** How often a repeated Redis connection error is logged. */
const ERROR_LOG_INTERVAL_MS = 10_000;

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export interface CreatedRateStore {
  store: RateStore;
  /** Drops state that no longer changes any decision; `queryOf` gives a tenant's current limits. */
  sweep(nowMs: number, queryOf: (tenant: string) => RateQuery): number;
  status(): StoreStatus;
  /** Resolves once the store can answer (at once in process; Redis: connected, or given up after a few seconds). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface CreateRateStoreDeps {
  log: Logger;
  now: () => number;
  /** Told about every Redis round trip (for the latency histogram). */
  onRoundTrip?: RoundTripListener;
}

export function createRateStore(settings: Settings, deps: CreateRateStoreDeps): CreatedRateStore {
  const redis = settings.redis;
  if (settings.store === 'postgres') return createPostgresStore(settings, deps);
  if (redis.addresses.length === 0 || settings.store === 'memory') {
    const store = new InProcessRateStore();
    return {
      store,
      sweep: (nowMs, queryOf) => store.sweep(nowMs, queryOf),
      status: () => ({
        kind: store.kind,
        inFallback: false,
        target: '',
        breaker: 'closed',
        replicas: 1,
        roundTrips: 0,
        roundTripErrors: 0,
        checksShared: 0,
        checksCached: 0,
        checksLocal: 0,
        checksNearGlobal: 0,
        scriptReloads: 0,
      }),
      ready: () => Promise.resolve(),
      close: () => store.close(),
    };
  }

  let lastErrorLog = 0;
  const connections = new RedisConnections(
    redis,
    (err) => {
      const t = deps.now();
      if (t - lastErrorLog < ERROR_LOG_INTERVAL_MS) return;
      lastErrorLog = t;
      deps.log.warn(
        { redis: connections.description, err: err.message },
        `Redis connection error: ${err.message}`,
      );
    },
    // Which server each pool connection reached, and when it lost it: after a Sentinel failover this
    // says whether the pool followed the promotion.
    (e) => {
      const fields = { redis: connections.description, connection: e.index, server: e.server };
      if (e.state === 'ready')
        deps.log.info(fields, `Redis connection ${e.index} ready${e.server ? ` on ${e.server}` : ''}`);
      else if (e.state === 'closed')
        deps.log.info(fields, `Redis connection ${e.index} to ${e.server} closed`);
      else deps.log.debug(fields, `Redis connection ${e.index}: ${e.detail ?? 'sentinel error'}`);
    },
  );
  const shared = new RedisRateStore(connections, {
    keyPrefix: redis.keyPrefix,
    localCache: redis.localCache,
  });
  if (deps.onRoundTrip) shared.onRoundTrip(deps.onRoundTrip);
  const heartbeat = new ReplicaHeartbeat(connections, redis.keyPrefix);
  const replicas = redis.fallbackReplicas > 0 ? () => redis.fallbackReplicas : () => heartbeat.liveReplicas;
  const nearGlobalTenants = redis.nearGlobalTenants ?? [];
  // Near-global shares split the level among live replicas, so they need the heartbeat too.
  if ((redis.fallback === 'local' || nearGlobalTenants.length > 0) && redis.fallbackReplicas === 0)
    heartbeat.start();
  const nearGlobal =
    nearGlobalTenants.length > 0
      ? new NearGlobalRateStore(shared, {
          tenants: nearGlobalTenants,
          syncMs: redis.nearGlobalSyncMs ?? 10,
          replicas,
          now: () => performance.now(),
        })
      : undefined;
  const exactOrNear = nearGlobal ?? shared;
  deps.log.info(
    {
      redis: connections.description,
      fallback: redis.fallback,
      local_cache: redis.localCache,
      near_global: nearGlobalTenants.join(','),
    },
    `limits are shared through Redis (${connections.description})`,
  );

  const fallback =
    redis.fallback === 'local'
      ? new FallbackRateStore(exactOrNear, {
          breakerFailures: redis.breakerFailures,
          breakerCooldownMs: redis.breakerCooldownMs,
          replicas,
          now: deps.now,
          // Long enough to span a few timed-out round trips of one tenant on the dead master.
          failureMemoryMs:
            redis.mode === 'cluster' ? Math.max(1000, redis.breakerCooldownMs, 4 * redis.timeoutMs) : 0,
          onModeChange: (inFallback, detail) => {
            if (inFallback) deps.log.warn({ redis: connections.description, store_fallback: true }, detail);
            else deps.log.info({ redis: connections.description, store_fallback: false }, detail);
          },
          onProbeFailure: (err) =>
            deps.log.debug(
              { redis: connections.description, err: errorMessage(err) },
              `Redis recovery probe failed: ${errorMessage(err)}`,
            ),
        })
      : undefined;
  const store: RateStore = fallback ?? exactOrNear;

  return {
    store,
    sweep: (nowMs, queryOf) => shared.sweep() + (fallback?.sweep(nowMs, queryOf) ?? 0),
    status: () => {
      const c = shared.counters;
      return {
        kind: store.kind,
        inFallback: store.inFallback,
        target: connections.description,
        breaker: fallback?.breaker.state ?? 'closed',
        replicas: replicas(),
        roundTrips: c.roundTrips,
        roundTripErrors: c.roundTripErrors,
        checksShared: c.checks,
        checksNearGlobal: nearGlobal?.localChecks ?? 0,
        checksCached: c.cacheHits,
        checksLocal: fallback?.localChecks ?? 0,
        scriptReloads: c.scriptReloads,
      };
    },
    async ready() {
      const waitMs = Math.max(2000, redis.timeoutMs * 20);
      if (!(await shared.ready(waitMs)))
        deps.log.warn(
          { redis: connections.description },
          `Redis not reachable after ${waitMs} ms: starting anyway; checks use the local fallback until it is`,
        );
    },
    async close() {
      await heartbeat.stop();
      await store.close();
    },
  };
}

/**
 * PostgreSQL behind the same circuit-breaking fallback as Redis (REDIS_FALLBACK, REDIS_BREAKER_*). There
 * are no heartbeats in PostgreSQL: the fallback splits limits among REDIS_FALLBACK_REPLICAS (1 when 0).
 */
function createPostgresStore(settings: Settings, deps: CreateRateStoreDeps): CreatedRateStore {
  const redis = settings.redis;
  let lastErrorLog = 0;
  const shared = new PostgresRateStore(settings.postgres, {
    localCache: redis.localCache,
    timeoutMs: redis.timeoutMs,
    onError: (err) => {
      const t = deps.now();
      if (t - lastErrorLog < ERROR_LOG_INTERVAL_MS) return;
      lastErrorLog = t;
      deps.log.warn({ postgres: shared.description, err: err.message }, `PostgreSQL error: ${err.message}`);
    },
  });
  if (deps.onRoundTrip) shared.onRoundTrip(deps.onRoundTrip);
  const replicas = () => Math.max(1, redis.fallbackReplicas);
  deps.log.info(
    { postgres: shared.description, fallback: redis.fallback },
    `limits are shared through PostgreSQL (${shared.description})`,
  );
  const fallback =
    redis.fallback === 'local'
      ? new FallbackRateStore(shared, {
          breakerFailures: redis.breakerFailures,
          breakerCooldownMs: redis.breakerCooldownMs,
          replicas,
          now: deps.now,
          onModeChange: (inFallback, detail) => {
            if (inFallback) deps.log.warn({ postgres: shared.description, store_fallback: true }, detail);
            else deps.log.info({ postgres: shared.description, store_fallback: false }, detail);
          },
        })
      : undefined;
  const store: RateStore = fallback ?? shared;
  return {
    store,
    sweep: (nowMs, queryOf) => shared.sweep() + (fallback?.sweep(nowMs, queryOf) ?? 0),
    status: () => {
      const c = shared.counters;
      return {
        kind: store.kind,
        inFallback: store.inFallback,
        target: shared.description,
        breaker: fallback?.breaker.state ?? 'closed',
        replicas: replicas(),
        roundTrips: c.roundTrips,
        roundTripErrors: c.roundTripErrors,
        checksShared: c.checks,
        checksCached: c.cacheHits,
        checksLocal: fallback?.localChecks ?? 0,
        checksNearGlobal: 0,
        scriptReloads: 0,
      };
    },
    async ready() {
      const waitMs = Math.max(2000, redis.timeoutMs * 20);
      if (!(await shared.ready(waitMs)))
        deps.log.warn(
          { postgres: shared.description },
          `PostgreSQL not reachable after ${waitMs} ms: starting anyway; checks use the local fallback until it is`,
        );
    },
    close: () => store.close(),
  };
}
