// Counts of what each tenant sent and what the edge decided, for the admin API.
// Bounded by the shared TenantLabelCap: tenants past MAX_TENANT_LABELS are pooled under OTHER_TENANTS and
// idle unknown tenants are forgotten, so a sender inventing tenant ids cannot grow memory without limit.

import type { DecisionReason } from '../decision/decision.js';
import { OTHER_TENANTS, TenantLabelCap } from './tenant-label-cap.js';

// One name for the pooled tenants everywhere (counters, metrics, figures, admin routes).
export { OTHER_TENANTS };

export interface TenantCounters {
  requests: number;
  allowed: number;
  denied: number;
  wouldDeny: number;
  deniedByReason: Partial<Record<DecisionReason, number>>;
  /** Items counted against ingestion_rate (samples, histogram samples, exemplars, metadata) of allowed requests. */
  samplesAllowed: number;
  samplesDenied: number;
  series: number;
  bytesCompressed: number;
  bytesUncompressed: number;
  firstSeenMs: number;
  lastSeenMs: number;
  lastDenial?: { timeMs: number; reason: DecisionReason; message: string };
}

function emptyCounters(nowMs: number): TenantCounters {
  return {
    requests: 0,
    allowed: 0,
    denied: 0,
    wouldDeny: 0,
    deniedByReason: {},
    samplesAllowed: 0,
    samplesDenied: 0,
    series: 0,
    bytesCompressed: 0,
    bytesUncompressed: 0,
    firstSeenMs: nowMs,
    lastSeenMs: nowMs,
  };
}

export class TrafficStats {
  private readonly tenants = new Map<string, TenantCounters>();
  readonly total: TenantCounters;
  readonly startedAtMs: number;

  readonly cap: TenantLabelCap;

  /** `cap`: the cap shared with metrics and the aggregator, or a bound for a private one (tests, benches). */
  constructor(cap: TenantLabelCap | number, nowMs: number) {
    this.cap =
      typeof cap === 'number'
        ? new TenantLabelCap({ maxLabels: cap, now: () => this.total.lastSeenMs })
        : cap;
    this.total = emptyCounters(nowMs);
    this.startedAtMs = nowMs;
    this.cap.onEvict((name) => this.tenants.delete(name));
  }

  /** The name under which `tenant` is tracked: itself, or OTHER_TENANTS past the cap (see TenantLabelCap). */
  trackedName(tenant: string): string {
    return this.cap.label(tenant);
  }

  counters(tenant: string, nowMs: number): TenantCounters {
    const name = this.trackedName(tenant);
    let c = this.tenants.get(name);
    if (!c) {
      c = emptyCounters(nowMs);
      this.tenants.set(name, c);
    }
    return c;
  }

  get(tenant: string): TenantCounters | undefined {
    return this.tenants.get(tenant);
  }

  entries(): IterableIterator<[string, TenantCounters]> {
    return this.tenants.entries();
  }

  get size(): number {
    return this.tenants.size;
  }
}

function add(
  t: TenantCounters,
  nowMs: number,
  outcome: { allowed: boolean; wouldDeny: boolean; reason: DecisionReason; message: string },
  samples: number,
  series: number,
  bytesCompressed: number,
  bytesUncompressed: number,
): void {
  t.requests++;
  t.lastSeenMs = nowMs;
  if (outcome.allowed) {
    t.allowed++;
    t.samplesAllowed += samples;
    t.series += series;
    t.bytesCompressed += bytesCompressed;
    t.bytesUncompressed += bytesUncompressed;
    if (outcome.wouldDeny) t.wouldDeny++;
  } else {
    t.denied++;
    t.samplesDenied += samples;
    t.deniedByReason[outcome.reason] = (t.deniedByReason[outcome.reason] ?? 0) + 1;
    t.lastDenial = { timeMs: nowMs, reason: outcome.reason, message: outcome.message };
  }
}

/** Adds one request's outcome to the tenant's counters `c` and to the total. */
export function countRequest(
  stats: TrafficStats,
  c: TenantCounters,
  nowMs: number,
  outcome: { allowed: boolean; wouldDeny: boolean; reason: DecisionReason; message: string },
  samples: number,
  series: number,
  bytesCompressed: number,
  bytesUncompressed: number,
): void {
  add(c, nowMs, outcome, samples, series, bytesCompressed, bytesUncompressed);
  add(stats.total, nowMs, outcome, samples, series, bytesCompressed, bytesUncompressed);
}
