// Builds the active-series tracker from the settings (docs/active-series.md): in process, plus the Redis sketches
// every replica shares when REDIS_ADDRESS is set, with the timers that flush them, read the shared estimates and
// sweep what left the window. None of the timers is ever awaited by a write.

import { RedisConnections } from '../lib/redis/redis-connections.js';
import type { LimitsRegistry } from '../limits/limits-registry.js';
import { ActiveSeries, SLICES_PER_WINDOW } from '../observe/active-series/active-series.js';
import { RedisSketch } from '../observe/active-series/redis-sketch.js';
import type { Logger } from '../observe/logger.js';
import type { EdgeMetrics } from '../observe/metrics.js';
import type { TenantLabelCap } from '../observe/tenant-label-cap.js';
import type { Settings } from '../settings/settings.js';

/** How often queued series hashes are sent to Redis. */
const FLUSH_INTERVAL_MS = 1000;
/** Most series hashes queued for Redis between two flushes. */
const MAX_PENDING = 200_000;

export interface ActiveSeriesWiring {
  tracker: ActiveSeries | undefined;
  close(): Promise<void>;
}

export function createActiveSeries(
  settings: Settings,
  deps: { log: Logger; now: () => number; metrics: EdgeMetrics; cap: TenantLabelCap; limits: LimitsRegistry },
): ActiveSeriesWiring {
  const options = settings.activeSeries;
  if (!options.enabled) return { tracker: undefined, close: () => Promise.resolve() };
  const sliceMs = options.windowMs / SLICES_PER_WINDOW;
  let connections: RedisConnections | undefined;
  let shared: RedisSketch | undefined;
  const timers: NodeJS.Timeout[] = [];
  if (settings.redis.addresses.length > 0) {
    let loggedMs = Number.NEGATIVE_INFINITY;
    const onError = (err: Error): void => {
      if (deps.now() - loggedMs < 10_000) return;
      loggedMs = deps.now();
      deps.log.warn(
        { err: err.message },
        'active series: Redis unreachable, estimates stay per replica meanwhile',
      );
    };
    // A connection of its own: sketch writes never queue behind bucket checks.
    connections = new RedisConnections({ ...settings.redis, poolSize: 1, minIdleConns: 1 }, () => undefined);
    shared = new RedisSketch(connections, {
      keyPrefix: settings.redis.keyPrefix,
      windowMs: options.windowMs,
      sliceMs,
      maxPending: MAX_PENDING,
      onError,
    });
    const sketch = shared;
    timers.push(setInterval(() => void sketch.flush(), FLUSH_INTERVAL_MS));
  }
  const tracker = new ActiveSeries(
    {
      windowMs: options.windowMs,
      maxTenants: options.maxTenants,
      maxBytes: options.maxBytes,
      sampleEvery: options.sampleEvery,
      filterMaxBytes: options.filterMaxBytes,
      refreshMs: options.refreshMs,
    },
    shared,
  );
  if (shared) timers.push(setInterval(() => tracker.refreshShared(deps.now()), options.refreshMs));
  timers.push(setInterval(() => tracker.sweep(deps.now()), Math.max(1000, sliceMs / 2)));
  for (const t of timers) t.unref();
  deps.metrics.activeSeries.attach({
    tracker,
    isNamed: (tenant) => deps.cap.has(tenant),
    limitOf: (tenant) => deps.limits.forTenant(tenant).limits.max_global_series_per_user,
    now: deps.now,
  });
  return {
    tracker,
    async close() {
      for (const t of timers) clearInterval(t);
      await shared?.flush();
      await connections?.close();
    },
  };
}
