// The JSON the admin API answers about tenants and totals: since-start counters, windowed rates over a
// range, utilisation of each limit, trend and top-N. Field names are a stable, documented schema
// (docs/admin-api.md); add fields, never rename them.

import { rateQuery } from '../decide/stages/rates.js';
import { LIMIT_DEFINITIONS } from '../limits/limit-definitions.js';
import type { TenantCounters } from '../observe/traffic-stats.js';
import type { Trend, WindowView } from '../observe/stats/decision-aggregator.js';
import type { RangeName } from '../observe/stats/time-ranges.js';
import { RANGE_MS } from '../observe/stats/time-ranges.js';
import { burstJson } from './burst-json.js';
import type { AdminContext } from './context.js';

export function iso(ms: number | undefined): string | null {
  return ms !== undefined && ms > 0 ? new Date(ms).toISOString() : null;
}

function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function countersJson(c: TenantCounters, uptimeSeconds: number) {
  return {
    requests: c.requests,
    allowed: c.allowed,
    denied: c.denied,
    would_deny: c.wouldDeny,
    denied_by_reason: c.deniedByReason,
    samples_allowed: c.samplesAllowed,
    samples_denied: c.samplesDenied,
    series: c.series,
    bytes_compressed: c.bytesCompressed,
    bytes_uncompressed: c.bytesUncompressed,
    avg_samples_per_second: uptimeSeconds > 0 ? c.samplesAllowed / uptimeSeconds : 0,
    first_seen: iso(c.firstSeenMs),
    last_seen: iso(c.lastSeenMs),
    last_denial: c.lastDenial
      ? { time: iso(c.lastDenial.timeMs), reason: c.lastDenial.reason, message: c.lastDenial.message }
      : null,
  };
}

export type WindowJson = ReturnType<typeof windowJson>;

/** Rates over the range; `span_seconds` is the history actually covered (shorter just after start). */
export function windowJson(v: WindowView | undefined) {
  const span = v && v.spanMs > 0 ? v.spanMs / 1000 : 0;
  // Rates over less than a second of history are noise: a tenant first seen 1 ms ago would show a thousand
  // times its real rate and top every list. So rates divide by at least one second.
  const per = (n: number) => (span > 0 ? round(n / Math.max(span, 1)) : 0);
  const requests = v?.requests ?? 0;
  return {
    span_seconds: round(span),
    requests,
    allowed: v?.allowed ?? 0,
    denied: v?.denied ?? 0,
    denied_by_reason: v?.deniedByReason ?? {},
    would_deny_by_reason: v?.wouldDenyByReason ?? {},
    deny_ratio: requests > 0 ? round((v?.denied ?? 0) / requests, 4) : 0,
    requests_per_second: per(requests),
    /** Items offered against ingestion_rate (allowed and denied requests). */
    samples_per_second: per(v?.samples ?? 0),
    /** Items in allowed requests: what reached Mimir (what ingestion_rate is meant to bound). */
    accepted_samples_per_second: per((v?.samples ?? 0) - (v?.samplesDenied ?? 0)),
    /** Items in denied requests, retries counted again: the pressure above the limit. */
    rejected_samples_per_second: per(v?.samplesDenied ?? 0),
    bytes_per_second: per(v?.bytes ?? 0),
    avg_series_per_request: requests > 0 ? round((v?.series ?? 0) / requests, 2) : 0,
    max_series_per_request: v?.maxSeriesPerRequest ?? 0,
    max_label_names: v?.maxLabelNames ?? 0,
    avg_decision_latency_ms: requests > 0 ? round((v?.latencyUs ?? 0) / requests / 1000, 4) : 0,
  };
}

export function trendJson(t: Trend) {
  return {
    direction: t.direction,
    samples_per_second_before: round(t.before),
    samples_per_second_after: round(t.after),
    samples_per_second_change_per_minute: round(t.perMinute),
  };
}

/** A tenant as the admin API shows it: limits and their sources, switches, buckets, counters, window. */
export function tenantJson(ctx: AdminContext, id: string, range: RangeName) {
  const { limits, settings, store, aggregator, stats } = ctx;
  const nowMs = ctx.now();
  const resolved = limits.forTenant(id);
  const l = resolved.limits;
  const mode = ctx.mode?.effective(id) ?? (settings.dryRun ? 'dry-run' : 'enforce');
  const query = rateQuery(resolved, 0, mode !== 'enforce');
  const state = store.peek(id, query, nowMs);
  const burstPct = state ? 100 * (1 - state.ingestion / Math.max(1, query.ingestionBurst)) : 0;
  const buckets = state
    ? {
        samples: {
          tokens: state.ingestion,
          capacity: query.ingestionBurst,
          utilisation: 1 - state.ingestion / Math.max(1, query.ingestionBurst),
        },
        requests: query.requestRate > 0 ? { tokens: state.requests, capacity: query.requestBurst } : null,
      }
    : null;
  const rangeMs = RANGE_MS[range];
  const window = windowJson(aggregator.window(id, nowMs, rangeMs));
  const counters = stats.get(id);
  const uptime = (nowMs - stats.startedAtMs) / 1000;
  const sources = limits.limitSources(id);
  const runtime = Object.values(sources).includes('runtime');
  return {
    id,
    limits: l,
    limits_source: resolved.hasOverrides ? 'overrides' : 'defaults',
    limit_sources: sources,
    has_runtime_overrides: runtime,
    enforcement: {
      mode,
      tenant_mode: ctx.mode?.tenantMode(id) ?? null,
      enabled: mode === 'enforce' && resolved.enforcement.enabled,
      dry_run: mode === 'dry-run',
      tenant_enabled: resolved.enforcement.enabled,
      limits: Object.fromEntries(
        LIMIT_DEFINITIONS.map((d) => [d.name, resolved.enforcement.limits[d.name] !== false]),
      ),
    },
    buckets,
    stats: counters ? countersJson(counters, uptime) : null,
    range,
    window,
    utilisation: {
      ingestion_rate_pct:
        l.ingestion_rate > 0 ? round((100 * window.samples_per_second) / l.ingestion_rate, 2) : 0,
      /** Accepted samples/s against ingestion_rate: how much of the limit is really used. */
      ingestion_rate_accepted_pct:
        l.ingestion_rate > 0 ? round((100 * window.accepted_samples_per_second) / l.ingestion_rate, 2) : 0,
      request_rate_pct:
        l.request_rate > 0 ? round((100 * window.requests_per_second) / l.request_rate, 2) : 0,
      ingestion_burst_pct: round(Math.max(0, burstPct), 2),
    },
    trend: trendJson(aggregator.trend(id, nowMs, rangeMs)),
    /** Burst flag against the tenant's own baseline (docs/cost-and-bursts.md); null: not tracked or off. */
    burst: burstOf(ctx, id),
    first_seen: iso(aggregator.firstSeen(id)),
    last_seen: iso(aggregator.lastSeen(id)),
  };
}

export type TenantJson = ReturnType<typeof tenantJson>;

function burstOf(ctx: AdminContext, id: string) {
  const v = ctx.bursts?.state(id);
  return v ? burstJson(v) : null;
}

/** Every tenant known by the overrides (file or runtime) or seen in traffic, sorted by id. */
export function knownTenants(ctx: AdminContext): string[] {
  const snap = ctx.limits.current();
  const ids = new Set<string>(snap.overrides.keys());
  for (const id of snap.runtimeOverrides.keys()) ids.add(id);
  for (const id of ctx.aggregator.tenantNames()) ids.add(id);
  for (const [id] of ctx.stats.entries()) ids.add(id);
  return [...ids].sort();
}

/** All tenants' JSON for a range, computed at most once a second per range (the UI and SSE poll it). */
export class TenantTable {
  private readonly cache = new Map<RangeName, { atMs: number; version: number; rows: TenantJson[] }>();

  constructor(private readonly ctx: AdminContext) {}

  rows(range: RangeName): TenantJson[] {
    const nowMs = this.ctx.now();
    const version = this.ctx.limits.current().version;
    const hit = this.cache.get(range);
    if (hit && nowMs - hit.atMs < 1000 && hit.version === version) return hit.rows;
    const rows = knownTenants(this.ctx).map((id) => tenantJson(this.ctx, id, range));
    this.cache.set(range, { atMs: nowMs, version, rows });
    return rows;
  }

  invalidate(): void {
    this.cache.clear();
  }
}

export const SORT_KEYS = {
  id: (t: TenantJson) => t.id,
  samples_per_second: (t: TenantJson) => t.window.samples_per_second,
  accepted_samples_per_second: (t: TenantJson) => t.window.accepted_samples_per_second,
  rejected_samples_per_second: (t: TenantJson) => t.window.rejected_samples_per_second,
  requests_per_second: (t: TenantJson) => t.window.requests_per_second,
  denied: (t: TenantJson) => t.window.denied,
  deny_ratio: (t: TenantJson) => t.window.deny_ratio,
  utilisation: (t: TenantJson) => maxUtilisation(t),
  bytes_per_second: (t: TenantJson) => t.window.bytes_per_second,
} as const;
export type SortKey = keyof typeof SORT_KEYS;

export function maxUtilisation(t: TenantJson): number {
  const u = t.utilisation;
  return Math.max(u.ingestion_rate_pct, u.request_rate_pct, u.ingestion_burst_pct);
}

/** The `n` tenants with the highest value of `key` (non-zero only), highest first. */
export function topN(rows: readonly TenantJson[], key: Exclude<SortKey, 'id'>, n: number) {
  const value = SORT_KEYS[key];
  return rows
    .filter((t) => value(t) > 0)
    .sort((a, b) => value(b) - value(a) || a.id.localeCompare(b.id))
    .slice(0, n)
    .map((t) => ({ tenant: t.id, value: value(t) }));
}
