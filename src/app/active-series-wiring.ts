// Builds the active-series tracker from the settings (docs/active-series.md): a worker thread reads the writes of
// every tenant and keeps their estimates (off-thread.ts), while the tenants that enforce
// max_global_series_per_user are read on the event loop (their check needs a synchronous answer); each side shares
// its sketches through Redis on a connection of its own when REDIS_ADDRESS is set. None of the timers is ever
// awaited by a write.

import type { LimitsRegistry } from '../limits/limits-registry.js';
import { SLICES_PER_WINDOW } from '../observe/active-series/active-series.js';
import { createLocalTracker } from '../observe/active-series/local-tracker.js';
import { OffThreadActiveSeries } from '../observe/active-series/off-thread.js';
import type { ActiveSeriesTracker } from '../observe/active-series/tracker.js';
import type { Logger } from '../observe/logger.js';
import type { EdgeMetrics } from '../observe/metrics.js';
import type { TenantLabelCap } from '../observe/tenant-label-cap.js';
import type { Settings } from '../settings/settings.js';

export interface ActiveSeriesWiring {
  tracker: ActiveSeriesTracker | undefined;
  close(): Promise<void>;
}

export function createActiveSeries(
  settings: Settings,
  deps: {
    log: Logger;
    now: () => number;
    metrics: EdgeMetrics;
    cap: TenantLabelCap;
    limits: LimitsRegistry;
  },
): ActiveSeriesWiring {
  const options = settings.activeSeries;
  if (!options.enabled) return { tracker: undefined, close: () => Promise.resolve() };
  const sliceMs = options.windowMs / SLICES_PER_WINDOW;
  const redis = settings.redis.addresses.length > 0 ? settings.redis : undefined;
  let loggedMs = Number.NEGATIVE_INFINITY;
  const onError = (err: Error): void => {
    if (deps.now() - loggedMs < 10_000) return;
    loggedMs = deps.now();
    deps.log.warn(
      { err: err.message },
      'active series: Redis unreachable, estimates stay per replica meanwhile',
    );
  };
  const trackerOptions = {
    windowMs: options.windowMs,
    maxTenants: options.maxTenants,
    maxBytes: options.maxBytes,
    sampleEvery: options.sampleEvery,
    filterMaxBytes: options.filterMaxBytes,
    refreshMs: options.refreshMs,
  };
  // The event loop's own tracker: tenants with enforce_max_series_at_edge.
  const main = createLocalTracker(trackerOptions, redis, onError);
  const timers: NodeJS.Timeout[] = [];
  if (main.shared) timers.push(setInterval(() => main.tracker.refreshShared(deps.now()), options.refreshMs));
  timers.push(setInterval(() => main.tracker.sweep(deps.now()), Math.max(1000, sliceMs / 2)));
  for (const t of timers) t.unref();
  const tracker = new OffThreadActiveSeries(
    { ...trackerOptions, queueBytes: options.queueBytes },
    {
      main: main.tracker,
      redis,
      now: deps.now,
      log: (level, msg, err) => deps.log[level]({ err }, msg),
    },
  );
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
      await Promise.all([tracker.close(), main.close()]);
    },
  };
}
