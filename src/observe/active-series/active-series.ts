// Each tenant's active series, estimated at the edge (docs/active-series.md): series hashes of the requests it
// sends (src/remote-write/series-hash.ts) in HyperLogLog slices over Mimir's active-series window, which series
// are new (a generational Bloom filter), how many new series a minute, and which metric names bring them. Fed
// after a write is decided; read by /metrics, the admin API and the max_global_series_per_user check.
//
// Bounded: at most `maxTenants` tenants tracked (a tenant idle for a whole window is forgotten); per tenant, 11
// sketches of at most 16 KiB and a filter of at most `filterMaxBytes` per generation (three generations).

import { hashBytes, hashSeries } from '../../remote-write/series-hash.js';
import type { SeriesHashSink } from '../../remote-write/series-hash.js';
import type { WriteFormat } from '../../remote-write/request-info.js';
import { NEW, SEEN_NOW, SeenFilter } from './seen-filter.js';
import { SlicedSketch } from './sliced-sketch.js';
import { TopNames } from './top-names.js';
import type { NameCount } from './top-names.js';
import type { ActiveSeriesTracker } from './tracker.js';

/** Slices per window: the estimate covers the window plus at most one slice (a 20 m window: 20 to 22 minutes). */
export const SLICES_PER_WINDOW = 10;
const MINUTE_MS = 60_000;
/** Minutes of new-series counts kept. */
export const NEW_MINUTES = 60;
/** Estimates kept for the trend (one per slice): the last hour with a 20-minute window. */
const TREND_POINTS = 30;
const TOP_NAMES = 10;

export interface ActiveSeriesOptions {
  /** Mimir's -ingester.active-series-metrics-idle-timeout: a series is active if sent within it. */
  windowMs: number;
  maxTenants: number;
  /** Requests of a tenant read for the estimate: every n-th (1: all). Enforcing tenants read every request. */
  sampleEvery: number;
  /** Most bytes one generation of a tenant's new-series filter may take. */
  filterMaxBytes: number;
  /** How long an estimate is reused before the slices are merged again. */
  refreshMs: number;
  /** Past this many bytes for all tenants together, no further tenant is tracked (0: no bound but maxTenants). */
  maxBytes?: number;
}

/** Where a shared estimate lives (Redis: PFADD into per-slice keys, PFCOUNT over the window); see redis-sketch.ts. */
export interface SharedSketch {
  /** Queues one series hash of `tenant` in slice `sliceId`; never waits. */
  add(tenant: string, sliceId: number, hi: number, lo: number): void;
  /** The last estimate read for `tenant` (all replicas' series), undefined before the first read. */
  estimate(tenant: string): number | undefined;
  /** Asks for `tenant`'s estimate in the background (read by estimate() once answered). */
  refresh(tenant: string, sliceIds: readonly number[]): void;
}

export interface TenantActiveSeries {
  tenant: string;
  /** Distinct series over the window; from Redis when shared (all replicas), else this replica's. */
  activeSeries: number;
  /** This replica's own estimate. */
  localActiveSeries: number;
  shared: boolean;
  /** max_global_series_per_user (0: unlimited). */
  limit: number;
  /** activeSeries / limit; 0 when unlimited. */
  utilisation: number;
  /** Series never seen within the window before, per minute: over the last minute, 10 minutes, and in total. */
  newSeriesLastMinute: number;
  newSeriesPerMinute10m: number;
  newSeriesTotal: number;
  /** Metric names bringing the most new series over the last 10 to 20 minutes. */
  topNewMetrics: NameCount[];
  /** Growth of the estimate per minute over the trend (least squares), and the seconds until the limit at it. */
  growthPerMinute: number;
  /** Seconds until activeSeries reaches the limit at the current growth; null when not growing or unlimited. */
  secondsToLimit: number | null;
  /** Writes refused in part because they would add series over the limit (enforce_max_series_at_edge). */
  newSeriesRefused: number;
  /** Bytes of sketches and filter held for the tenant. */
  memoryBytes: number;
  /** Every n-th request is read (1: all). */
  sampleEvery: number;
}

class TenantState {
  readonly sketch: SlicedSketch;
  readonly seen: SeenFilter;
  /** Top names of the current and the previous half window. */
  topCurrent = new TopNames(TOP_NAMES);
  topPrevious = new TopNames(TOP_NAMES);
  topGeneration = -1;
  readonly newPerMinute = new Float64Array(NEW_MINUTES);
  readonly newMinuteIds = new Float64Array(NEW_MINUTES).fill(-1);
  newTotal = 0;
  refused = 0;
  readonly trendTimes = new Float64Array(TREND_POINTS);
  readonly trendValues = new Float64Array(TREND_POINTS);
  trendCount = 0;
  lastTrendSlice = -1;
  requests = 0;
  lastSeenMs = 0;
  cachedEstimate = 0;
  cachedAtMs = Number.NEGATIVE_INFINITY;

  constructor(options: ActiveSeriesOptions) {
    this.sketch = new SlicedSketch(options.windowMs / SLICES_PER_WINDOW, SLICES_PER_WINDOW);
    this.seen = new SeenFilter(options.windowMs / 2, options.filterMaxBytes);
  }

  countNew(nowMs: number): void {
    const minute = Math.floor(nowMs / MINUTE_MS);
    const slot = minute % NEW_MINUTES;
    if (this.newMinuteIds[slot] !== minute) {
      this.newMinuteIds[slot] = minute;
      this.newPerMinute[slot] = 0;
    }
    this.newPerMinute[slot]!++;
    this.newTotal++;
  }

  newOver(nowMs: number, minutes: number): number {
    const minute = Math.floor(nowMs / MINUTE_MS);
    let total = 0;
    for (let m = minute - minutes + 1; m <= minute; m++) {
      const slot = m % NEW_MINUTES;
      if (this.newMinuteIds[slot] === m) total += this.newPerMinute[slot]!;
    }
    return total;
  }
}

const decoder = new TextDecoder();

export class ActiveSeries implements ActiveSeriesTracker {
  private readonly tenants = new Map<string, TenantState>();
  /** Tenants turned away because `maxTenants` were tracked. */
  untracked = 0;
  /** Writes read for the estimate, and series hashed. */
  requestsRead = 0;
  seriesRead = 0;

  // The sink the hash pass calls, bound to the tenant being read; one object, no closure per request.
  private current: TenantState | undefined;
  private currentTenant = '';
  private nowMs = 0;
  /** Set while deciding which series are new for enforcement: 1 per new series, in body order. */
  private newMask: Uint8Array | undefined;
  private seriesIndex = 0;
  private readonly sink: SeriesHashSink = {
    series: (hi, lo, name, nameStart, nameLength) => this.onSeries(hi, lo, name, nameStart, nameLength),
  };

  constructor(
    readonly options: ActiveSeriesOptions,
    private readonly shared?: SharedSketch,
  ) {}

  /**
   * Reads a forwarded write's series into `tenant`'s estimate (every `sampleEvery`-th write unless `always`).
   * Synchronous; the body must be the decompressed buffer the scan accepted. Returns whether it was read.
   */
  observe(tenant: string, decoded: Uint8Array, format: WriteFormat, nowMs: number, always = false): boolean {
    const state = this.stateOf(tenant, nowMs);
    if (state === undefined) return false;
    state.lastSeenMs = nowMs;
    if (!always && state.requests++ % this.options.sampleEvery !== 0) return false;
    this.read(tenant, state, decoded, format, nowMs);
    return true;
  }

  /**
   * Which series of a write are new to `tenant` (1 in the returned mask, in body order), without recording any:
   * for the max_global_series_per_user check. Known series (and false positives of the filter) are 0.
   */
  newSeries(
    tenant: string,
    decoded: Uint8Array,
    format: WriteFormat,
    series: number,
    nowMs: number,
  ): Uint8Array {
    const mask = new Uint8Array(series);
    const state = this.tenants.get(tenant);
    if (state === undefined) return mask.fill(1);
    this.newMask = mask;
    this.current = state;
    this.nowMs = nowMs;
    this.seriesIndex = 0;
    try {
      hashSeries(decoded, format, this.sink);
    } finally {
      this.newMask = undefined;
      this.current = undefined;
    }
    return mask;
  }

  /** Counts a write refused in part for adding series over the limit. */
  refused(tenant: string): void {
    const state = this.tenants.get(tenant);
    if (state) state.refused++;
  }

  private stateOf(tenant: string, nowMs: number): TenantState | undefined {
    let state = this.tenants.get(tenant);
    if (state !== undefined) return state;
    const maxBytes = this.options.maxBytes ?? 0;
    if (this.tenants.size >= this.options.maxTenants || (maxBytes > 0 && this.memoryBytes >= maxBytes)) {
      this.untracked++;
      return undefined;
    }
    state = new TenantState(this.options);
    state.lastSeenMs = nowMs;
    this.tenants.set(tenant, state);
    return state;
  }

  private read(
    tenant: string,
    state: TenantState,
    decoded: Uint8Array,
    format: WriteFormat,
    nowMs: number,
  ): void {
    this.current = state;
    this.currentTenant = tenant;
    this.nowMs = nowMs;
    const generation = Math.floor(nowMs / (this.options.windowMs / 2));
    if (state.topGeneration !== generation) {
      state.topPrevious = state.topGeneration === generation - 1 ? state.topCurrent : new TopNames(TOP_NAMES);
      state.topCurrent = new TopNames(TOP_NAMES);
      state.topGeneration = generation;
    }
    try {
      this.seriesRead += hashSeries(decoded, format, this.sink);
      this.requestsRead++;
    } finally {
      this.current = undefined;
    }
    this.recordTrend(state, nowMs);
  }

  private onSeries(hi: number, lo: number, name: Uint8Array, nameStart: number, nameLength: number): void {
    const state = this.current!;
    const now = this.nowMs;
    const mask = this.newMask;
    if (mask !== undefined) {
      mask[this.seriesIndex++] = state.seen.has(hi, lo, now) ? 0 : 1;
      return;
    }
    state.sketch.add(hi, lo, now);
    const seen = state.seen.add(hi, lo, now);
    // Once per filter generation (half a window) is enough for the shared sketch: the window always holds the slice
    // of a series' latest generation, so its union still counts every series sent within it.
    if (seen !== SEEN_NOW) this.shared?.add(this.currentTenant, state.sketch.sliceId(now), hi, lo);
    if (seen === NEW) {
      state.countNew(now);
      state.topCurrent.add(hashBytes(name, nameStart, nameStart + nameLength), () =>
        decoder.decode(name.subarray(nameStart, nameStart + nameLength)),
      );
    }
  }

  /** One trend point per slice: the estimate when the slice's first write was read. */
  private recordTrend(state: TenantState, nowMs: number): void {
    const slice = state.sketch.sliceId(nowMs);
    if (slice === state.lastTrendSlice) return;
    state.lastTrendSlice = slice;
    const slot = state.trendCount++ % TREND_POINTS;
    state.trendTimes[slot] = nowMs;
    state.trendValues[slot] = this.estimateOf(state, nowMs, true);
  }

  private estimateOf(state: TenantState, nowMs: number, fresh = false): number {
    if (fresh || nowMs - state.cachedAtMs >= this.options.refreshMs) {
      state.cachedEstimate = state.sketch.estimate(nowMs);
      state.cachedAtMs = nowMs;
    }
    return state.cachedEstimate;
  }

  /**
   * The tenant's active series for a check on the write path: the shared estimate when there is one, else this
   * replica's (merged at most every refreshMs). 0 for a tenant not tracked.
   */
  activeSeries(tenant: string, nowMs: number): number {
    const state = this.tenants.get(tenant);
    if (state === undefined) return 0;
    const local = this.estimateOf(state, nowMs);
    const shared = this.shared?.estimate(tenant);
    return shared === undefined ? local : Math.max(shared, local);
  }

  /**
   * Tenants ranked by new series per second over the last `rangeMs` (at most the hour the per-minute counts
   * keep), highest first, at most `top`: the "top offenders by series growth" of GET /api/top-offenders.
   */
  topGrowth(rangeMs: number, top: number, nowMs: number): { tenant: string; value: number }[] {
    const minutes = Math.max(1, Math.min(NEW_MINUTES, Math.round(rangeMs / MINUTE_MS)));
    const out: { tenant: string; value: number }[] = [];
    for (const [tenant, state] of this.tenants) {
      const added = state.newOver(nowMs, minutes);
      if (added > 0) out.push({ tenant, value: added / (minutes * 60) });
    }
    out.sort((a, b) => b.value - a.value || (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0));
    return out.slice(0, top);
  }

  /** Asks the shared store for fresh estimates of every tracked tenant (from a timer). */
  refreshShared(nowMs: number): void {
    if (!this.shared) return;
    const sliceMs = this.options.windowMs / SLICES_PER_WINDOW;
    const current = Math.floor(nowMs / sliceMs);
    const ids: number[] = [];
    for (let id = current - SLICES_PER_WINDOW; id <= current; id++) ids.push(id);
    for (const tenant of this.tenants.keys()) this.shared.refresh(tenant, ids);
  }

  /**
   * What /metrics and the admin API show of one tenant; undefined when it is not tracked. `fresh`: the slices are
   * merged again even within refreshMs (the worker's mirror, built once per refresh anyway).
   */
  snapshot(tenant: string, limit: number, nowMs: number, fresh = false): TenantActiveSeries | undefined {
    const state = this.tenants.get(tenant);
    if (state === undefined) return undefined;
    const local = this.estimateOf(state, nowMs, fresh);
    const sharedEstimate = this.shared?.estimate(tenant);
    const active = sharedEstimate === undefined ? local : Math.max(sharedEstimate, local);
    const growth = trendSlope(state) * MINUTE_MS;
    const { utilisation, secondsToLimit } = limitFigures(active, growth, limit);
    return {
      tenant,
      activeSeries: active,
      localActiveSeries: local,
      shared: sharedEstimate !== undefined,
      limit,
      utilisation,
      newSeriesLastMinute: state.newOver(nowMs, 1),
      newSeriesPerMinute10m: state.newOver(nowMs, 10) / 10,
      newSeriesTotal: state.newTotal,
      topNewMetrics: TopNames.merge([state.topCurrent.top(), state.topPrevious.top()], TOP_NAMES),
      growthPerMinute: growth,
      secondsToLimit,
      newSeriesRefused: state.refused,
      memoryBytes: state.sketch.bytes + state.seen.bytes,
      sampleEvery: this.options.sampleEvery,
    };
  }

  /** Whether `tenant` is tracked. */
  has(tenant: string): boolean {
    return this.tenants.has(tenant);
  }

  /** `tenant`'s new series of each of the last `minutes` minutes, the current one first (empty: not tracked). */
  newCounts(tenant: string, nowMs: number, minutes: number): number[] {
    const state = this.tenants.get(tenant);
    if (state === undefined) return [];
    const minute = Math.floor(nowMs / MINUTE_MS);
    const out = new Array<number>(Math.min(minutes, NEW_MINUTES)).fill(0);
    for (let i = 0; i < out.length; i++) {
      const slot = (minute - i) % NEW_MINUTES;
      if (state.newMinuteIds[slot] === minute - i) out[i] = state.newPerMinute[slot]!;
    }
    return out;
  }

  /** The tracked tenants. */
  tenantNames(): IterableIterator<string> {
    return this.tenants.keys();
  }

  get trackedTenants(): number {
    return this.tenants.size;
  }

  /** Bytes of every tenant's sketches and filters. */
  get memoryBytes(): number {
    let total = 0;
    for (const s of this.tenants.values()) total += s.sketch.bytes + s.seen.bytes;
    return total;
  }

  /** Frees what left the window, and forgets tenants that sent nothing for a whole window. */
  sweep(nowMs: number): void {
    for (const [tenant, state] of this.tenants) {
      state.seen.sweep(nowMs);
      const empty = state.sketch.sweep(nowMs);
      if (empty && nowMs - state.lastSeenMs > this.options.windowMs) this.tenants.delete(tenant);
    }
  }
}

/** utilisation and secondsToLimit of TenantActiveSeries, from the estimate, its growth per minute and the limit. */
export function limitFigures(
  active: number,
  growthPerMinute: number,
  limit: number,
): { utilisation: number; secondsToLimit: number | null } {
  const utilisation = limit > 0 ? active / limit : 0;
  const secondsToLimit =
    limit > 0 && growthPerMinute > 0
      ? Math.max(0, ((limit - active) / growthPerMinute) * 60)
      : limit > 0 && active >= limit
        ? 0
        : null;
  return { utilisation, secondsToLimit };
}

/** Least-squares slope (series per ms) of the trend points of the last window; 0 with fewer than 3. */
function trendSlope(state: TenantState): number {
  const n = Math.min(state.trendCount, TREND_POINTS);
  if (n < 3) return 0;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += state.trendTimes[i]!;
    sy += state.trendValues[i]!;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const dx = state.trendTimes[i]! - mx;
    num += dx * (state.trendValues[i]! - my);
    den += dx * dx;
  }
  return den > 0 ? num / den : 0;
}
