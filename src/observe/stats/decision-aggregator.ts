// Time-based aggregation of decisions, per tenant and overall, over 1m … 7d: fed once per decision by
// the WriteChecker, read by the admin API. Memory is fixed per tenant (bytesPerTenant()); recording an
// allowed request allocates nothing and never waits on anything. A forgotten tenant's rings are reused.

import type { Decision, DecisionReason } from '../../decision/decision.js';
import type { RequestInfo } from '../../remote-write/request-info.js';
import { ingestionCost } from '../../remote-write/request-info.js';
import { OTHER_TENANTS } from '../tenant-label-cap.js';
import { RecentDenials } from './recent-denials.js';
import type { DenialEvent } from './recent-denials.js';
import { RingColumns, RingCounter, bytesPerSeries, emptySums } from './ring-columns.js';
import type { BucketPoint, WindowSums } from './ring-columns.js';
import { TENANT_TIERS, TOTAL_TIERS } from './time-ranges.js';

// One name for the pooled tenants everywhere (counters, metrics, figures).
export { OTHER_TENANTS };
/** Counts requests refused before a tenant was known (missing or invalid tenant). */
const TOTAL = 0;

interface TenantEntry {
  index: number;
  firstSeenMs: number;
  lastSeenMs: number;
  /** Denials by reason ("deny:<reason>") and observed-only ones ("would:<reason>"), allocated on first use. */
  reasons: Map<string, RingCounter> | undefined;
}

export interface WindowView extends WindowSums {
  allowed: number;
  deniedByReason: Partial<Record<DecisionReason, number>>;
  wouldDenyByReason: Partial<Record<DecisionReason, number>>;
}

export interface Trend {
  /** Samples per second in the older and in the newer half of the range. */
  before: number;
  after: number;
  /** Change of samples/s per minute over the range (rate of change); 0 when flat or unknown. */
  perMinute: number;
  direction: 'up' | 'down' | 'flat';
}

/** Bytes of ring buffers one tenant costs, without denials; each denial reason seen adds denialReasonBytes(). */
export function bytesPerTenant(): number {
  return bytesPerSeries(TENANT_TIERS);
}

export function denialReasonBytes(): number {
  return RingCounter.bytesFor(TENANT_TIERS);
}

export class DecisionAggregator {
  private readonly tenants = new Map<string, TenantEntry>();
  private readonly columns = new RingColumns(TENANT_TIERS);
  private readonly total = new RingColumns(TOTAL_TIERS);
  private readonly totalReasons = new Map<string, RingCounter>();
  /** Ring indices of forgotten tenants, handed to the next new tenant so evicting bounds memory too. */
  private readonly freeIndices: number[] = [];
  readonly denials: RecentDenials;

  constructor(
    private readonly maxTenants: number,
    readonly startedAtMs: number,
    recentDenials = 1000,
  ) {
    this.total.allocate();
    this.denials = new RecentDenials(recentDenials);
  }

  get tenantCount(): number {
    return this.tenants.size;
  }

  tenantNames(): IterableIterator<string> {
    return this.tenants.keys();
  }

  has(tenant: string): boolean {
    return this.tenants.has(tenant);
  }

  firstSeen(tenant: string): number | undefined {
    return this.tenants.get(tenant)?.firstSeenMs;
  }

  lastSeen(tenant: string): number | undefined {
    return this.tenants.get(tenant)?.lastSeenMs;
  }

  private entry(tenant: string, nowMs: number): TenantEntry {
    let e = this.tenants.get(tenant);
    if (e) return e;
    if (this.tenants.size >= this.maxTenants) {
      e = this.tenants.get(OTHER_TENANTS);
      if (e) return e;
      tenant = OTHER_TENANTS;
    }
    const index = this.freeIndices.pop() ?? this.columns.allocate();
    e = { index, firstSeenMs: nowMs, lastSeenMs: nowMs, reasons: undefined };
    this.tenants.set(tenant, e);
    return e;
  }

  /**
   * Drops `tenant`'s history (an idle tenant evicted by the TenantLabelCap). Its rings are emptied and kept
   * for the next new tenant; the overall series and the recent denials keep what it did.
   */
  forget(tenant: string): void {
    const e = this.tenants.get(tenant);
    if (!e) return;
    this.tenants.delete(tenant);
    this.columns.clear(e.index);
    this.freeIndices.push(e.index);
  }

  /**
   * Records one decision. `tenant` is undefined when the request named no valid tenant; `latencyUs` is the
   * time to measure and decide (0 when not measured).
   */
  record(
    tenant: string | undefined,
    nowMs: number,
    decision: Decision,
    info: RequestInfo | undefined,
    latencyUs: number,
  ): void {
    const denied = !decision.allowed;
    const samples = info ? ingestionCost(info) : 0;
    const bytes = info ? info.bytesCompressed : 0;
    const series = info ? info.series : 0;
    const labels = info ? info.maxLabelNames : 0;
    const us = latencyUs > 0 ? Math.round(latencyUs) : 0;
    this.total.add(TOTAL, nowMs, denied, samples, bytes, series, us, labels);
    let e: TenantEntry | undefined;
    if (tenant !== undefined) {
      e = this.entry(tenant, nowMs);
      e.lastSeenMs = nowMs;
      this.columns.add(e.index, nowMs, denied, samples, bytes, series, us, labels);
    }
    if (!denied && !decision.wouldDeny) return;

    const key = (denied ? 'deny:' : 'would:') + decision.reason;
    counter(this.totalReasons, key, TOTAL_TIERS).add(nowMs, 1);
    if (e) counter((e.reasons ??= new Map()), key, TENANT_TIERS).add(nowMs, 1);
    this.denials.push({
      timeMs: nowMs,
      tenant: tenant ?? '',
      reason: decision.reason,
      status: decision.status,
      message: decision.message,
      limit: decision.limit,
      observed: decision.observed,
      wouldDeny: !denied,
    });
  }

  /** Sums over the last `rangeMs` for `tenant`, or overall when `tenant` is undefined. */
  window(tenant: string | undefined, nowMs: number, rangeMs: number): WindowView | undefined {
    const sums = emptySums();
    let reasons: Map<string, RingCounter> | undefined;
    if (tenant === undefined) {
      this.total.sum(TOTAL, nowMs, rangeMs, this.startedAtMs, sums);
      reasons = this.totalReasons;
    } else {
      const e = this.tenants.get(tenant);
      if (!e) return undefined;
      this.columns.sum(e.index, nowMs, rangeMs, Math.max(this.startedAtMs, e.firstSeenMs), sums);
      reasons = e.reasons;
    }
    const view: WindowView = {
      ...sums,
      allowed: sums.requests - sums.denied,
      deniedByReason: {},
      wouldDenyByReason: {},
    };
    if (reasons) {
      for (const [key, ring] of reasons) {
        const n = ring.sum(nowMs, rangeMs);
        if (n === 0) continue;
        const colon = key.indexOf(':');
        const reason = key.slice(colon + 1) as DecisionReason;
        if (key.startsWith('deny:')) view.deniedByReason[reason] = n;
        else view.wouldDenyByReason[reason] = n;
      }
    }
    return view;
  }

  /**
   * Sums over the last `rangeMs` for `tenant` into `out`, without denial reasons or a new object: for views
   * that walk every tenant (cost). False when the tenant is unknown.
   */
  sumsInto(tenant: string, nowMs: number, rangeMs: number, out: WindowSums): boolean {
    const e = this.tenants.get(tenant);
    if (!e) return false;
    this.columns.sum(e.index, nowMs, rangeMs, Math.max(this.startedAtMs, e.firstSeenMs), out);
    return true;
  }

  /** Rate of change of samples/s: the newer half of the range against the older half. */
  trend(tenant: string | undefined, nowMs: number, rangeMs: number): Trend {
    const half = rangeMs / 2;
    const older = emptySums();
    const newer = emptySums();
    const cols = tenant === undefined ? this.total : this.columns;
    const index = tenant === undefined ? TOTAL : this.tenants.get(tenant)?.index;
    if (index === undefined) return { before: 0, after: 0, perMinute: 0, direction: 'flat' };
    cols.sumBetween(index, nowMs - rangeMs, nowMs - half, nowMs, this.startedAtMs, rangeMs, older);
    cols.sumBetween(index, nowMs - half, nowMs, nowMs, this.startedAtMs, rangeMs, newer);
    const before = older.spanMs > 0 ? (older.samples * 1000) / older.spanMs : 0;
    const after = newer.spanMs > 0 ? (newer.samples * 1000) / newer.spanMs : 0;
    const perMinute = ((after - before) * 60_000) / half;
    // Without history in the older half there is nothing to compare with.
    if (older.spanMs <= 0 || newer.spanMs <= 0) return { before, after, perMinute: 0, direction: 'flat' };
    const scale = Math.max(before, after);
    const direction =
      scale === 0 || Math.abs(after - before) < 0.05 * scale ? 'flat' : after > before ? 'up' : 'down';
    return { before, after, perMinute: direction === 'flat' ? 0 : perMinute, direction };
  }

  /** Points per bucket for charts, with denials per reason aligned to the same buckets. */
  points(
    tenant: string | undefined,
    nowMs: number,
    rangeMs: number,
  ): { widthMs: number; points: BucketPoint[]; deniedByReason: Record<string, number[]> } | undefined {
    let reasons: Map<string, RingCounter> | undefined;
    let result: { widthMs: number; points: BucketPoint[] };
    if (tenant === undefined) {
      result = this.total.points(TOTAL, nowMs, rangeMs);
      reasons = this.totalReasons;
    } else {
      const e = this.tenants.get(tenant);
      if (!e) return undefined;
      result = this.columns.points(e.index, nowMs, rangeMs);
      reasons = e.reasons;
    }
    const deniedByReason: Record<string, number[]> = {};
    for (const [key, ring] of reasons ?? []) {
      if (!key.startsWith('deny:')) continue;
      const counts = ring.points(nowMs, rangeMs);
      if (counts.some((n) => n > 0)) deniedByReason[key.slice(5)] = counts;
    }
    return { ...result, deniedByReason };
  }

  recentDenials(limit: number, keep?: (e: DenialEvent) => boolean): DenialEvent[] {
    return this.denials.list(limit, keep);
  }
}

function counter(map: Map<string, RingCounter>, key: string, tiers: typeof TENANT_TIERS): RingCounter {
  let ring = map.get(key);
  if (!ring) {
    ring = new RingCounter(tiers);
    map.set(key, ring);
  }
  return ring;
}
