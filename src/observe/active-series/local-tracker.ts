// One thread's active-series tracker with its Redis sketch (when REDIS_ADDRESS is set): built the same way on the
// event loop (for tenants enforcing max_global_series_per_user) and in the worker (every other tenant), each with
// a Redis connection of its own, so sketch writes never queue behind bucket checks.

import { RedisConnections } from '../../lib/redis/redis-connections.js';
import type { RedisSettings } from '../../lib/redis/redis-settings.js';
import { ActiveSeries, SLICES_PER_WINDOW } from './active-series.js';
import type { ActiveSeriesOptions } from './active-series.js';
import { RedisSketch } from './redis-sketch.js';

/** How often queued series hashes are sent to Redis. */
const FLUSH_INTERVAL_MS = 1000;
/** Most series hashes queued for Redis between two flushes. */
const MAX_PENDING = 200_000;

export interface LocalTracker {
  tracker: ActiveSeries;
  shared: RedisSketch | undefined;
  /** Stops the flush timer, sends what is queued, closes the connection. */
  close(): Promise<void>;
}

export function createLocalTracker(
  options: ActiveSeriesOptions,
  redis: RedisSettings | undefined,
  onError: (err: Error) => void,
): LocalTracker {
  let connections: RedisConnections | undefined;
  let shared: RedisSketch | undefined;
  let flushTimer: NodeJS.Timeout | undefined;
  if (redis !== undefined && redis.addresses.length > 0) {
    connections = new RedisConnections({ ...redis, poolSize: 1, minIdleConns: 1 }, () => undefined);
    const sketch = new RedisSketch(connections, {
      keyPrefix: redis.keyPrefix,
      windowMs: options.windowMs,
      sliceMs: options.windowMs / SLICES_PER_WINDOW,
      maxPending: MAX_PENDING,
      onError,
    });
    shared = sketch;
    flushTimer = setInterval(() => void sketch.flush(), FLUSH_INTERVAL_MS);
    flushTimer.unref();
  }
  const tracker = new ActiveSeries(options, shared);
  return {
    tracker,
    shared,
    async close() {
      clearInterval(flushTimer);
      await shared?.flush();
      await connections?.close();
    },
  };
}
