// Fixed-size ring buffers of per-bucket counters for many series (one series per tenant), stored
// column by column in pages of typed arrays so 10,000 tenants cost a few typed arrays, not 10,000 objects.
// Recording never allocates (except one page per PAGE_SERIES new series) and never reads the clock.

import type { Tier } from './time-ranges.js';
import { tierFor } from './time-ranges.js';

const PAGE_SERIES = 64;
const U32_MAX = 0xffff_ffff;

/** Sums over a time span of one series; reused by callers to avoid allocating per query. */
export interface WindowSums {
  requests: number;
  denied: number;
  /** Items counted against ingestion_rate (samples, exemplars, histogram samples, metadata). */
  samples: number;
  /** Of `samples`, those in denied requests: offered but not accepted (a retried request counts again). */
  samplesDenied: number;
  bytes: number;
  /** Of `bytes`, those of denied requests: received but not forwarded (what cost attribution leaves out). */
  bytesDenied: number;
  series: number;
  latencyUs: number;
  maxSeriesPerRequest: number;
  maxLabelNames: number;
  /** Milliseconds of history the sums cover (less than the range just after start). */
  spanMs: number;
}

export function emptySums(): WindowSums {
  return {
    requests: 0,
    denied: 0,
    samples: 0,
    samplesDenied: 0,
    bytes: 0,
    bytesDenied: 0,
    series: 0,
    latencyUs: 0,
    maxSeriesPerRequest: 0,
    maxLabelNames: 0,
    spanMs: 0,
  };
}

export interface BucketPoint {
  /** Start of the bucket, ms since the epoch. */
  t: number;
  requests: number;
  denied: number;
  samples: number;
  /** Of `samples`, those in denied requests. */
  samplesDenied: number;
  bytes: number;
  series: number;
  latencyUs: number;
}

class Page {
  readonly epoch: Uint32Array;
  readonly requests: Uint32Array;
  readonly denied: Uint32Array;
  readonly series: Uint32Array;
  readonly latencyUs: Uint32Array;
  readonly maxSeries: Uint32Array;
  readonly samples: Float64Array;
  readonly samplesDenied: Float64Array;
  readonly bytes: Float64Array;
  readonly bytesDenied: Float64Array;
  readonly maxLabels: Uint8Array;

  constructor(slots: number) {
    this.epoch = new Uint32Array(slots);
    this.requests = new Uint32Array(slots);
    this.denied = new Uint32Array(slots);
    this.series = new Uint32Array(slots);
    this.latencyUs = new Uint32Array(slots);
    this.maxSeries = new Uint32Array(slots);
    this.samples = new Float64Array(slots);
    this.samplesDenied = new Float64Array(slots);
    this.bytes = new Float64Array(slots);
    this.bytesDenied = new Float64Array(slots);
    this.maxLabels = new Uint8Array(slots);
  }
}

/** Bytes one series' buckets take in a RingColumns with these tiers (the typed-array payload). */
export function bytesPerSeries(tiers: readonly Tier[]): number {
  const buckets = tiers.reduce((n, t) => n + t.buckets, 0);
  // epoch, requests, denied, series, latencyUs, maxSeries: 4 bytes; samples, samplesDenied, bytes,
  // bytesDenied: 8; maxLabels: 1.
  return buckets * (6 * 4 + 4 * 8 + 1);
}

function addU32(a: Uint32Array, i: number, v: number): void {
  const next = a[i]! + v;
  a[i] = next > U32_MAX ? U32_MAX : next;
}

export class RingColumns {
  private readonly pages: Page[] = [];
  private readonly offsets: number[] = [];
  private readonly slotsPerSeries: number;
  private count = 0;

  constructor(readonly tiers: readonly Tier[]) {
    let offset = 0;
    for (const t of tiers) {
      this.offsets.push(offset);
      offset += t.buckets;
    }
    this.slotsPerSeries = offset;
  }

  get size(): number {
    return this.count;
  }

  /** Adds a series and returns its index. */
  allocate(): number {
    const index = this.count++;
    if (index >= this.pages.length * PAGE_SERIES)
      this.pages.push(new Page(PAGE_SERIES * this.slotsPerSeries));
    return index;
  }

  /**
   * Empties series `index` so it can be handed to another tenant: a bucket counts only when its stored epoch
   * matches, and no real bucket has epoch 0 (1970), so resetting the epochs is enough.
   */
  clear(index: number): void {
    if (index >= this.count) return;
    const page = this.pages[(index / PAGE_SERIES) | 0]!;
    const base = (index % PAGE_SERIES) * this.slotsPerSeries;
    page.epoch.fill(0, base, base + this.slotsPerSeries);
  }

  /** Adds one decided request to every tier of series `index` at time `nowMs`. */
  add(
    index: number,
    nowMs: number,
    denied: boolean,
    samples: number,
    bytes: number,
    series: number,
    latencyUs: number,
    labelNames: number,
  ): void {
    const page = this.pages[(index / PAGE_SERIES) | 0]!;
    const base = (index % PAGE_SERIES) * this.slotsPerSeries;
    for (let t = 0; t < this.tiers.length; t++) {
      const tier = this.tiers[t]!;
      const epoch = Math.floor(nowMs / tier.widthMs);
      const i = base + this.offsets[t]! + (epoch % tier.buckets);
      if (page.epoch[i] !== epoch) {
        page.epoch[i] = epoch;
        page.requests[i] = 0;
        page.denied[i] = 0;
        page.series[i] = 0;
        page.latencyUs[i] = 0;
        page.maxSeries[i] = 0;
        page.samples[i] = 0;
        page.samplesDenied[i] = 0;
        page.bytes[i] = 0;
        page.bytesDenied[i] = 0;
        page.maxLabels[i] = 0;
      }
      addU32(page.requests, i, 1);
      if (denied) addU32(page.denied, i, 1);
      addU32(page.series, i, series);
      addU32(page.latencyUs, i, latencyUs);
      if (series > page.maxSeries[i]!) page.maxSeries[i] = series;
      page.samples[i] = page.samples[i]! + samples;
      if (denied) page.samplesDenied[i] = page.samplesDenied[i]! + samples;
      page.bytes[i] = page.bytes[i]! + bytes;
      if (denied) page.bytesDenied[i] = page.bytesDenied[i]! + bytes;
      if (labelNames > page.maxLabels[i]!) page.maxLabels[i] = labelNames > 255 ? 255 : labelNames;
    }
  }

  /**
   * Sums series `index` over the buckets that start in (nowMs - rangeMs, nowMs], from the finest tier
   * that remembers that long. `startedAtMs` clips the span just after start. Writes into `out`.
   */
  sum(index: number, nowMs: number, rangeMs: number, startedAtMs: number, out: WindowSums): WindowSums {
    return this.sumBetween(index, nowMs - rangeMs, nowMs, nowMs, startedAtMs, rangeMs, out);
  }

  /**
   * Like sum(), over the buckets starting in (fromMs, toMs], choosing the tier by `rangeMs`. The span runs
   * to the end of the last bucket (or `nowMs`), so counts and span always cover the same buckets.
   */
  sumBetween(
    index: number,
    fromMs: number,
    toMs: number,
    nowMs: number,
    startedAtMs: number,
    rangeMs: number,
    out: WindowSums,
  ): WindowSums {
    out.requests = 0;
    out.denied = 0;
    out.samples = 0;
    out.samplesDenied = 0;
    out.bytes = 0;
    out.bytesDenied = 0;
    out.series = 0;
    out.latencyUs = 0;
    out.maxSeriesPerRequest = 0;
    out.maxLabelNames = 0;
    const t = tierFor(this.tiers, rangeMs);
    const tier = this.tiers[t]!;
    const last = Math.floor(toMs / tier.widthMs);
    const first = Math.max(Math.floor(fromMs / tier.widthMs) + 1, last - tier.buckets + 1);
    const spanStart = Math.max(first * tier.widthMs, startedAtMs);
    out.spanMs = Math.max(0, Math.min(nowMs, (last + 1) * tier.widthMs) - spanStart);
    if (index >= this.count) return out;
    const page = this.pages[(index / PAGE_SERIES) | 0]!;
    const base = (index % PAGE_SERIES) * this.slotsPerSeries + this.offsets[t]!;
    for (let epoch = first; epoch <= last; epoch++) {
      const i = base + (epoch % tier.buckets);
      if (page.epoch[i] !== epoch) continue;
      out.requests += page.requests[i]!;
      out.denied += page.denied[i]!;
      out.samples += page.samples[i]!;
      out.samplesDenied += page.samplesDenied[i]!;
      out.bytes += page.bytes[i]!;
      out.bytesDenied += page.bytesDenied[i]!;
      out.series += page.series[i]!;
      out.latencyUs += page.latencyUs[i]!;
      if (page.maxSeries[i]! > out.maxSeriesPerRequest) out.maxSeriesPerRequest = page.maxSeries[i]!;
      if (page.maxLabels[i]! > out.maxLabelNames) out.maxLabelNames = page.maxLabels[i]!;
    }
    return out;
  }

  /** One point per bucket (empty buckets included) over the range, oldest first: for charts. */
  points(index: number, nowMs: number, rangeMs: number): { widthMs: number; points: BucketPoint[] } {
    const t = tierFor(this.tiers, rangeMs);
    const tier = this.tiers[t]!;
    const last = Math.floor(nowMs / tier.widthMs);
    const first = Math.max(last - Math.ceil(rangeMs / tier.widthMs) + 1, last - tier.buckets + 1);
    const points: BucketPoint[] = [];
    const page = index < this.count ? this.pages[(index / PAGE_SERIES) | 0] : undefined;
    const base = (index % PAGE_SERIES) * this.slotsPerSeries + this.offsets[t]!;
    for (let epoch = first; epoch <= last; epoch++) {
      const i = base + (epoch % tier.buckets);
      const live = page !== undefined && page.epoch[i] === epoch;
      points.push({
        t: epoch * tier.widthMs,
        requests: live ? page.requests[i]! : 0,
        denied: live ? page.denied[i]! : 0,
        samples: live ? page.samples[i]! : 0,
        samplesDenied: live ? page.samplesDenied[i]! : 0,
        bytes: live ? page.bytes[i]! : 0,
        series: live ? page.series[i]! : 0,
        latencyUs: live ? page.latencyUs[i]! : 0,
      });
    }
    return { widthMs: tier.widthMs, points };
  }
}

/** A single ring counter (denials of one reason for one tenant), allocated only when first used. */
export class RingCounter {
  private readonly epoch: Uint32Array;
  private readonly counts: Uint32Array;
  private readonly offsets: number[] = [];

  constructor(private readonly tiers: readonly Tier[]) {
    let offset = 0;
    for (const t of tiers) {
      this.offsets.push(offset);
      offset += t.buckets;
    }
    this.epoch = new Uint32Array(offset);
    this.counts = new Uint32Array(offset);
  }

  static bytesFor(tiers: readonly Tier[]): number {
    return tiers.reduce((n, t) => n + t.buckets, 0) * 8;
  }

  add(nowMs: number, n: number): void {
    for (let t = 0; t < this.tiers.length; t++) {
      const tier = this.tiers[t]!;
      const epoch = Math.floor(nowMs / tier.widthMs);
      const i = this.offsets[t]! + (epoch % tier.buckets);
      if (this.epoch[i] !== epoch) {
        this.epoch[i] = epoch;
        this.counts[i] = 0;
      }
      addU32(this.counts, i, n);
    }
  }

  sum(nowMs: number, rangeMs: number): number {
    const t = tierFor(this.tiers, rangeMs);
    const tier = this.tiers[t]!;
    const last = Math.floor(nowMs / tier.widthMs);
    const first = Math.max(Math.floor((nowMs - rangeMs) / tier.widthMs) + 1, last - tier.buckets + 1);
    let total = 0;
    for (let epoch = first; epoch <= last; epoch++) {
      const i = this.offsets[t]! + (epoch % tier.buckets);
      if (this.epoch[i] === epoch) total += this.counts[i]!;
    }
    return total;
  }

  /** Counts per bucket over the range, oldest first, aligned with RingColumns.points() of the same tiers. */
  points(nowMs: number, rangeMs: number): number[] {
    const t = tierFor(this.tiers, rangeMs);
    const tier = this.tiers[t]!;
    const last = Math.floor(nowMs / tier.widthMs);
    const first = Math.max(last - Math.ceil(rangeMs / tier.widthMs) + 1, last - tier.buckets + 1);
    const out: number[] = [];
    for (let epoch = first; epoch <= last; epoch++) {
      const i = this.offsets[t]! + (epoch % tier.buckets);
      out.push(this.epoch[i] === epoch ? this.counts[i]! : 0);
    }
    return out;
  }
}
