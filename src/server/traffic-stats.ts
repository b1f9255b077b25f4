// Counts of what each tenant sent and what the edge decided, for the admin API.
// Bounded: at most `maxTenants` tenants are tracked by name; the rest are pooled under OTHER_TENANTS,
// so a sender inventing tenant ids cannot grow memory (or metric label sets) without limit.

import type { DecisionReason } from '../engine/decision.js';

/** '<' cannot appear in a Mimir tenant id, so no real tenant collides with the pool. */
export const OTHER_TENANTS = '<other>';

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

  constructor(
    private readonly maxTenants: number,
    nowMs: number,
  ) {
    this.total = emptyCounters(nowMs);
    this.startedAtMs = nowMs;
  }

  /** The name under which `tenant` is tracked: itself, or OTHER_TENANTS once the table is full. */
  trackedName(tenant: string): string {
    if (this.tenants.has(tenant) || this.tenants.size < this.maxTenants) return tenant;
    return OTHER_TENANTS;
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
