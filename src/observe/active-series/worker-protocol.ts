// What the event loop and the active-series worker (active-series-worker.ts) say to each other: the worker's
// settings, the messages both ways, and the mirror of the worker's figures that the event loop answers from.

import type { RedisSettings } from '../../lib/redis/redis-settings.js';
import type { ActiveSeries, ActiveSeriesOptions, TenantActiveSeries } from './active-series.js';
import { NEW_MINUTES } from './active-series.js';

export interface WorkerSettings {
  options: ActiveSeriesOptions;
  /** Present when the estimate is shared through Redis: the worker opens a connection of its own. */
  redis: RedisSettings | undefined;
  /** The hand-over ring (handover-ring.ts). */
  ring: SharedArrayBuffer;
  /** How often what left the window is swept (on the ticks that reach that far). */
  sweepMs: number;
}

/** Event loop → worker. The clock is the event loop's (tests set it): the worker reads time only from here. */
export type ToWorker =
  /** Every refresh: ask Redis for the shared estimates, sweep when due, post the mirror. */
  | { type: 'tick'; nowMs: number }
  /** Read every queued write, then post the mirror with this id. */
  | { type: 'sync'; id: number; nowMs: number }
  /** Read what is queued, send the Redis batch, close, then post 'closed'. */
  | { type: 'close' };

/** Worker → event loop. */
export type FromWorker =
  /** Loaded and reading. */
  | { type: 'ready' }
  | { type: 'mirror'; id: number; mirror: Mirror }
  | { type: 'log'; level: 'warn' | 'error'; msg: string; err: string }
  | { type: 'closed' };

/** One tenant as the worker sees it: its snapshot without a limit, and its new series per minute. */
export interface MirrorTenant {
  snapshot: TenantActiveSeries;
  /** New series of each of the last NEW_MINUTES minutes, the current one (at `nowMs`) first. */
  newPerMinute: number[];
}

export interface Mirror {
  nowMs: number;
  tenants: MirrorTenant[];
  trackedTenants: number;
  memoryBytes: number;
  untracked: number;
  requestsRead: number;
  seriesRead: number;
  /** Writes the worker could not read (a bug if ever above 0: the scan accepted them). */
  readErrors: number;
}

/**
 * The mirror of `tracker` at `nowMs` (bounded by maxTenants: one entry per tracked tenant), with every estimate
 * merged afresh: it is built once per refresh or on demand, never per write.
 */
export function buildMirror(tracker: ActiveSeries, nowMs: number, readErrors: number): Mirror {
  const tenants: MirrorTenant[] = [];
  for (const tenant of tracker.tenantNames()) {
    const snapshot = tracker.snapshot(tenant, 0, nowMs, true);
    if (snapshot === undefined) continue;
    tenants.push({ snapshot, newPerMinute: tracker.newCounts(tenant, nowMs, NEW_MINUTES) });
  }
  return {
    nowMs,
    tenants,
    trackedTenants: tracker.trackedTenants,
    memoryBytes: tracker.memoryBytes,
    untracked: tracker.untracked,
    requestsRead: tracker.requestsRead,
    seriesRead: tracker.seriesRead,
    readErrors,
  };
}
