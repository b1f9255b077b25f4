// What the write path, /metrics and the admin API ask of the active-series estimate (docs/active-series.md): the
// in-thread tracker (active-series.ts) and the one that reads writes in a worker thread (off-thread.ts) both
// answer it, synchronously.

import type { WriteFormat } from '../../remote-write/request-info.js';
import type { ActiveSeriesOptions, TenantActiveSeries } from './active-series.js';

/** Why a write to be read was not handed to the worker: its queue was full, or the worker was down. */
export type HandoverDropReason = 'queue_full' | 'worker_down';

export interface HandoverCounters {
  /** Writes meant for the worker but not handed over, by reason. */
  dropped: Record<HandoverDropReason, number>;
  /** Times the worker died (or failed to start) and was started again. */
  restarts: number;
}

export interface ActiveSeriesTracker {
  readonly options: ActiveSeriesOptions;
  /**
   * Reads a forwarded write's series into `tenant`'s estimate (every `sampleEvery`-th write unless `always`);
   * never waits. `decoded` is the body the scan accepted; `wire`, when given, is the body as received (the
   * off-thread tracker hands over whichever is smaller). Returns whether the write is read.
   */
  observe(
    tenant: string,
    decoded: Uint8Array,
    format: WriteFormat,
    nowMs: number,
    always?: boolean,
    wire?: Uint8Array,
  ): boolean;
  /** Which series of a write are new to `tenant` (1 in the mask, in body order), recording none. */
  newSeries(
    tenant: string,
    decoded: Uint8Array,
    format: WriteFormat,
    series: number,
    nowMs: number,
  ): Uint8Array;
  /** Counts a write refused in part for adding series over the limit. */
  refused(tenant: string): void;
  /** The estimate for the max_global_series_per_user check; 0 for a tenant not tracked. */
  activeSeries(tenant: string, nowMs: number): number;
  /** Tenants ranked by new series per second over `rangeMs`, highest first, at most `top`. */
  topGrowth(rangeMs: number, top: number, nowMs: number): { tenant: string; value: number }[];
  /** What /metrics and the admin API show of one tenant; undefined when it is not tracked. */
  snapshot(tenant: string, limit: number, nowMs: number): TenantActiveSeries | undefined;
  tenantNames(): Iterable<string>;
  readonly trackedTenants: number;
  readonly memoryBytes: number;
  /** Writes of tenants not tracked because maxTenants (or maxBytes) were. */
  readonly untracked: number;
  /** Brings the figures read by snapshot() up to date where they are kept elsewhere (a worker); never rejects. */
  sync?(): Promise<void>;
  /** The hand-over to a worker, when there is one. */
  readonly handover?: HandoverCounters;
}
