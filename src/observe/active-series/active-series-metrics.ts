// The active-series families of /metrics (docs/active-series.md#metrics), computed at scrape time from the tracker.
// Tenants are named as every per-tenant family names them (src/observe/tenant-label-cap.ts): a tenant the cap pools
// is added into tenant="__other__" for the counts, and left out of the ratios (a ratio of a pool means nothing).

import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { OTHER_TENANTS } from '../tenant-label-cap.js';
import type { ActiveSeriesTracker, HandoverDropReason } from './tracker.js';

export interface ActiveSeriesSource {
  tracker: ActiveSeriesTracker;
  /** Whether `tenant` has a label of its own now (TenantLabelCap.has). */
  isNamed: (tenant: string) => boolean;
  /** max_global_series_per_user of `tenant` (0: unlimited). */
  limitOf: (tenant: string) => number;
  now: () => number;
}

/**
 * Registers the families in `registry` (EdgeMetrics does, so they are always described); they stay empty until
 * the service attaches the tracker, and are filled when /metrics is scraped.
 */
export function registerActiveSeriesMetrics(registry: Registry): {
  attach(source: ActiveSeriesSource): void;
} {
  let deps: ActiveSeriesSource | undefined;
  const active = new Gauge({
    name: 'rls_tenant_active_series',
    help: "Estimated series the tenant sent within the active-series window (ACTIVE_SERIES_WINDOW, Mimir's -ingester.active-series-metrics-idle-timeout); from Redis, across replicas, when shared.",
    labelNames: ['tenant'] as const,
    registers: [registry],
  });
  const limit = new Gauge({
    name: 'rls_tenant_max_global_series_per_user',
    help: "The tenant's max_global_series_per_user (0: unlimited); tenants with a label of their own only.",
    labelNames: ['tenant'] as const,
    registers: [registry],
  });
  const utilisation = new Gauge({
    name: 'rls_tenant_active_series_utilisation',
    help: 'rls_tenant_active_series / max_global_series_per_user (tenants with a limit and a label of their own).',
    labelNames: ['tenant'] as const,
    registers: [registry],
  });
  const toLimit = new Gauge({
    name: 'rls_tenant_active_series_seconds_to_limit',
    help: 'Seconds until the active series reach max_global_series_per_user at the growth of the last hour (absent when not growing).',
    labelNames: ['tenant'] as const,
    registers: [registry],
  });
  // A counter filled at scrape time from the tracker's own monotonic totals.
  const newSeries = new Counter({
    name: 'rls_tenant_new_series_total',
    help: 'Series the tenant sent that were not seen within the active-series window before (cardinality growth).',
    labelNames: ['tenant'] as const,
    registers: [registry],
  });
  const memory = new Gauge({
    name: 'rls_active_series_memory_bytes',
    help: 'Bytes of HyperLogLog sketches and new-series filters held for every tracked tenant.',
    registers: [registry],
  });
  const tracked = new Gauge({
    name: 'rls_active_series_tenants',
    help: 'Tenants whose active series are tracked (bound: ACTIVE_SERIES_MAX_TENANTS).',
    registers: [registry],
  });
  const untracked = new Counter({
    name: 'rls_active_series_untracked_total',
    help: 'Writes of tenants not tracked because ACTIVE_SERIES_MAX_TENANTS tenants were.',
    registers: [registry],
  });

  const dropped = new Counter({
    name: 'rls_active_series_writes_dropped_total',
    help: "Writes to be read for the active-series estimate that were not: the worker's queue was full (ACTIVE_SERIES_QUEUE_BYTES) or the worker was down. Never a write refused.",
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const restarts = new Counter({
    name: 'rls_active_series_worker_restarts_total',
    help: 'Times the active-series worker thread died (or failed to start) and was started again.',
    registers: [registry],
  });

  let lastUntracked = 0;
  let lastRestarts = 0;
  const lastDropped: Record<HandoverDropReason, number> = { queue_full: 0, worker_down: 0 };
  const seenTotals = new Map<string, number>();
  const collect = (): void => {
    if (deps === undefined) return;
    const tracker = deps.tracker;
    active.reset();
    limit.reset();
    utilisation.reset();
    toLimit.reset();
    const now = deps.now();
    let other = 0;
    let otherNew = 0;
    const live = new Set<string>();
    for (const tenant of tracker.tenantNames()) {
      const max = deps.limitOf(tenant);
      const s = tracker.snapshot(tenant, max, now);
      if (s === undefined) continue;
      if (!deps.isNamed(tenant)) {
        other += s.activeSeries;
        otherNew += s.newSeriesTotal;
        continue;
      }
      live.add(tenant);
      active.labels(tenant).set(s.activeSeries);
      limit.labels(tenant).set(max);
      if (max > 0) utilisation.labels(tenant).set(s.utilisation);
      if (s.secondsToLimit !== null) toLimit.labels(tenant).set(s.secondsToLimit);
      const before = seenTotals.get(tenant) ?? 0;
      if (s.newSeriesTotal > before) newSeries.labels(tenant).inc(s.newSeriesTotal - before);
      seenTotals.set(tenant, s.newSeriesTotal);
    }
    if (other > 0) active.labels(OTHER_TENANTS).set(other);
    const beforeOther = seenTotals.get(OTHER_TENANTS) ?? 0;
    if (otherNew > beforeOther) newSeries.labels(OTHER_TENANTS).inc(otherNew - beforeOther);
    seenTotals.set(OTHER_TENANTS, Math.max(beforeOther, otherNew));
    // A forgotten tenant's counter goes with it (its next series start a new counter, which rate() handles).
    for (const tenant of seenTotals.keys()) {
      if (tenant !== OTHER_TENANTS && !live.has(tenant)) {
        seenTotals.delete(tenant);
        newSeries.remove(tenant);
      }
    }
    memory.set(tracker.memoryBytes);
    tracked.set(tracker.trackedTenants);
    if (tracker.untracked > lastUntracked) untracked.inc(tracker.untracked - lastUntracked);
    lastUntracked = tracker.untracked;
    const handover = tracker.handover;
    if (handover !== undefined) {
      for (const reason of ['queue_full', 'worker_down'] as const) {
        const n = handover.dropped[reason];
        if (n > lastDropped[reason]) dropped.labels(reason).inc(n - lastDropped[reason]);
        lastDropped[reason] = n;
      }
      if (handover.restarts > lastRestarts) restarts.inc(handover.restarts - lastRestarts);
      lastRestarts = handover.restarts;
    }
  };
  // One collect for the whole group: prom-client calls each family's get() in registration order, synchronously up
  // to its collect, so the first family registered fills them all before any is read.
  (active as unknown as { collect?: () => void }).collect = collect;
  return {
    attach(source) {
      deps = source;
    },
  };
}
