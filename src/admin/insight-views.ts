// The cost and behaviour views of the admin API: cost per tenant over a range (JSON or CSV), burst flags, and
// the top offenders by denials, cost and (when the active-series estimate fills it) series growth. Every
// figure comes from the 1m…7d rings and the burst detector; a request computes, nothing is stored.

import { costOf } from '../observe/insight/cost.js';
import { emptySums } from '../observe/stats/ring-columns.js';
import type { RangeName } from '../observe/stats/time-ranges.js';
import { RANGE_MS } from '../observe/stats/time-ranges.js';
import { burstJson, pastBurstJson } from './burst-json.js';
import type { AdminContext } from './context.js';
import type { CsvCell } from './csv.js';
import { toCsv } from './csv.js';

export interface CostRow {
  tenant: string;
  /** Items in accepted requests over the range. */
  samples: number;
  /** Compressed bytes of accepted requests over the range. */
  bytes: number;
  samples_cost: number;
  bytes_cost: number;
  total_cost: number;
  /** Offered but refused: not charged, shown so a tenant's bill can be read next to its denials. */
  samples_rejected: number;
  bytes_rejected: number;
  /** History the figures cover (shorter than the range just after start or for a new tenant). */
  span_seconds: number;
}

/** Tenant ids are ASCII (Mimir's rules): code-unit order, without localeCompare's cost on 10,000 rows. */
function byId(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** How long a computed table of cost rows is reused: the overview (SSE, every 2 s per UI) asks for it often. */
const COST_ROWS_TTL_MS = 5000;
const costRowsCache = new WeakMap<AdminContext, Map<RangeName, { atMs: number; rows: CostRow[] }>>();

/**
 * costRows() computed at most once per COST_ROWS_TTL_MS per range, for the overview: a walk over every
 * tenant's rings costs tens of ms at 10,000 tenants (BENCHMARKS.md), too much to repeat for each UI's update.
 */
export function recentCostRows(ctx: AdminContext, range: RangeName): CostRow[] {
  const nowMs = ctx.now();
  let byRange = costRowsCache.get(ctx);
  if (!byRange) costRowsCache.set(ctx, (byRange = new Map()));
  const hit = byRange.get(range);
  if (hit && nowMs >= hit.atMs && nowMs - hit.atMs < COST_ROWS_TTL_MS) return hit.rows;
  const rows = costRows(ctx, range, nowMs);
  byRange.set(range, { atMs: nowMs, rows });
  return rows;
}

/** Accepted usage and cost of every tenant with traffic in the range, highest cost first. */
export function costRows(ctx: AdminContext, range: RangeName, nowMs = ctx.now()): CostRow[] {
  const rangeMs = RANGE_MS[range];
  const prices = ctx.settings.insight.cost;
  const rows: CostRow[] = [];
  const w = emptySums();
  for (const tenant of ctx.aggregator.tenantNames()) {
    if (!ctx.aggregator.sumsInto(tenant, nowMs, rangeMs, w) || w.requests === 0) continue;
    const samples = w.samples - w.samplesDenied;
    const bytes = w.bytes - w.bytesDenied;
    const cost = costOf({ samples, bytes }, prices);
    rows.push({
      tenant,
      samples,
      bytes,
      samples_cost: cost.samplesCost,
      bytes_cost: cost.bytesCost,
      total_cost: cost.total,
      samples_rejected: w.samplesDenied,
      bytes_rejected: w.bytesDenied,
      span_seconds: w.spanMs / 1000,
    });
  }
  return rows.sort(
    (a, b) =>
      b.total_cost - a.total_cost || b.samples - a.samples || b.bytes - a.bytes || byId(a.tenant, b.tenant),
  );
}

export function costReport(ctx: AdminContext, range: RangeName) {
  const nowMs = ctx.now();
  const prices = ctx.settings.insight.cost;
  const tenants = costRows(ctx, range, nowMs);
  const samples = tenants.reduce((n, r) => n + r.samples, 0);
  const bytes = tenants.reduce((n, r) => n + r.bytes, 0);
  const total = costOf({ samples, bytes }, prices);
  return {
    range,
    from: new Date(nowMs - RANGE_MS[range]).toISOString(),
    to: new Date(nowMs).toISOString(),
    /** Figures before this time were not measured (this replica started then). */
    since: new Date(ctx.aggregator.startedAtMs).toISOString(),
    currency: prices.currency,
    prices: { per_million_samples: prices.perMillionSamples, per_gib: prices.perGiB },
    tenants,
    total: {
      samples,
      bytes,
      samples_cost: total.samplesCost,
      bytes_cost: total.bytesCost,
      total_cost: total.total,
    },
  };
}

const CSV_COLUMNS = [
  'tenant',
  'range',
  'from',
  'to',
  'currency',
  'samples',
  'bytes',
  'samples_cost',
  'bytes_cost',
  'total_cost',
  'samples_rejected',
  'bytes_rejected',
] as const;

/** The cost report as CSV: one row per tenant, the same figures as the JSON. */
export function costCsv(report: ReturnType<typeof costReport>): string {
  const rows: CsvCell[][] = report.tenants.map((t) => [
    t.tenant,
    report.range,
    report.from,
    report.to,
    report.currency,
    t.samples,
    t.bytes,
    t.samples_cost,
    t.bytes_cost,
    t.total_cost,
    t.samples_rejected,
    t.bytes_rejected,
  ]);
  return toCsv(CSV_COLUMNS, rows);
}

export function burstsReport(ctx: AdminContext) {
  const b = ctx.bursts;
  const s = ctx.settings.insight.bursts;
  return {
    enabled: b !== undefined,
    settings: {
      factor: s.factor,
      clear_factor: b?.clearFactor ?? 1 + (s.factor - 1) / 2,
      min_rate: s.minRate,
      window_seconds: s.windowMs / 1000,
      baseline_seconds: s.baselineMs / 1000,
      warmup_seconds: s.warmupMs / 1000,
      interval_seconds: s.intervalMs / 1000,
    },
    flagged: (b?.flagged() ?? []).map(burstJson),
    tenants: b?.size ?? 0,
    recent: (b?.recent() ?? []).map(pastBurstJson),
  };
}

/** Tenants ranked by denials, by cost and by series growth over the range, plus those bursting now. */
export function topOffenders(ctx: AdminContext, range: RangeName, top: number) {
  const nowMs = ctx.now();
  const rangeMs = RANGE_MS[range];
  const denials: { tenant: string; denied: number; deny_ratio: number; samples_rejected: number }[] = [];
  const w = emptySums();
  for (const tenant of ctx.aggregator.tenantNames()) {
    if (!ctx.aggregator.sumsInto(tenant, nowMs, rangeMs, w) || w.denied === 0) continue;
    denials.push({
      tenant,
      denied: w.denied,
      deny_ratio: Math.round((w.denied / w.requests) * 10_000) / 10_000,
      samples_rejected: w.samplesDenied,
    });
  }
  denials.sort(
    (a, b) => b.denied - a.denied || b.samples_rejected - a.samples_rejected || byId(a.tenant, b.tenant),
  );
  const growth = ctx.seriesGrowth?.(rangeMs, top);
  return {
    range,
    currency: ctx.settings.insight.cost.currency,
    by_denials: denials.slice(0, top),
    by_cost: costRows(ctx, range)
      .filter((r) => r.total_cost > 0)
      .slice(0, top)
      .map((r) => ({ tenant: r.tenant, total_cost: r.total_cost, samples: r.samples, bytes: r.bytes })),
    /** null: no series-growth estimate in this build or configuration (docs/cost-and-bursts.md). */
    by_series_growth: growth ? growth.slice(0, top) : null,
    bursting: (ctx.bursts?.flagged() ?? []).slice(0, top).map(burstJson),
  };
}
