// Read-only admin endpoints (viewer role): overview, system status, tenants, denials, cardinality,
// traffic flow and chart series. They read the aggregator, the limits snapshot and (for the system status) the
// STATE_DIR files' sizes; never the hot path.

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { parseConfigMapRef } from '../limits/kubernetes-configmap-source.js';
import { LIMIT_DEFINITIONS } from '../limits/limit-definitions.js';
import type { ReloadStatus } from '../limits/overrides-applier.js';
import { HISTORY_FILE, STATE_FILE } from '../limits/state-file.js';
import { bytesPerTenant, denialReasonBytes } from '../observe/stats/decision-aggregator.js';
import { RANGE_MS } from '../observe/stats/time-ranges.js';
import type { RangeName } from '../observe/stats/time-ranges.js';
import type { AdminContext } from './context.js';
import { tenantActiveSeries } from './active-series-routes.js';
import { BadRequest, checkTenantId, parseCount, parseRange } from './http-errors.js';
import { redactUrl } from '../lib/redact-url.js';
import { burstJson } from './burst-json.js';
import { recentCostRows } from './insight-views.js';
import { SORT_KEYS, countersJson, iso, tenantJson, topN, trendJson, windowJson } from './tenant-views.js';
import type { SortKey, TenantTable } from './tenant-views.js';

type Query = Record<string, string | undefined>;
/** The audit log's file under STATE_DIR, as src/app/limits-config-wiring.ts opens it. */
const AUDIT_FILE = 'audit.jsonl';

/** Where the overrides layer comes from, and how its last reads went. */
function overridesSource(ctx: AdminContext, nowMs: number) {
  const reload = (st: ReloadStatus) => ({
    last_success: iso(st.lastSuccessMs),
    last_applied: iso(st.lastAppliedMs),
    tenants: st.tenants,
    ignored_limits: st.ignoredLimits,
    last_error: st.lastError ? { time: iso(st.lastError.timeMs), message: st.lastError.message } : null,
  });
  if (ctx.watcher) {
    const st = ctx.watcher.status;
    return {
      kind: 'file' as const,
      path: st.file,
      stale_seconds: st.lastSuccessMs > 0 ? (nowMs - st.lastSuccessMs) / 1000 : null,
      ...reload(st),
    };
  }
  if (ctx.configMap) {
    const { namespace, name } = parseConfigMapRef(ctx.settings.overridesConfigMap);
    return {
      kind: 'configmap' as const,
      namespace,
      name,
      key: ctx.settings.overridesConfigMapKey,
      // watch: a watch stream is open, so the content is current; poll: the watch cannot connect.
      connection: ctx.configMap.mode,
      stale_seconds: ctx.configMap.staleSeconds(nowMs),
      ...reload(ctx.configMap.status),
    };
  }
  return { kind: 'none' as const };
}

/** The upstream's health: the probe's last answer, or only the target when there is no probe. */
function upstreamHealth(ctx: AdminContext) {
  return (
    ctx.upstreamHealth?.toJSON() ?? {
      target: redactUrl(ctx.upstreamTarget),
      probe_url: null,
      status: 'unknown' as const,
      last_check: null,
      latency_ms: null,
      last_status_code: null,
      last_error: null,
      since: null,
      interval_seconds: null,
      recent_forward_failures: 0,
      recent_seconds: 0,
    }
  );
}

/** The live replicas: from the shared Redis when set, else this process alone. */
function replicaList(ctx: AdminContext) {
  if (ctx.replicas) return ctx.replicas.toJSON();
  return {
    source: 'process' as const,
    replicas: [{ id: process.pid.toString(), self: true, started: iso(ctx.stats.startedAtMs) }],
    last_read: null,
    last_error: null,
  };
}

export function systemStatus(ctx: AdminContext) {
  const snap = ctx.limits.current();
  const w = ctx.watcher?.status;
  const nowMs = ctx.now();
  const uptime = (nowMs - ctx.stats.startedAtMs) / 1000;
  const source = overridesSource(ctx, nowMs);
  const lastError = source.kind === 'none' ? null : source.last_error;
  const last = ctx.limits.history.list(1)[0];
  const health = upstreamHealth(ctx);
  const replicaSet = replicaList(ctx);
  const policyLimits = ctx.policies?.();
  const policies = { shared: policyLimits?.shared ?? false, fallback: policyLimits?.fallback ?? false };
  return {
    status:
      lastError || ctx.store.inFallback || policies.fallback || health.status === 'down' ? 'degraded' : 'ok',
    version: ctx.version,
    uptime_seconds: uptime,
    upstream: redactUrl(ctx.upstreamTarget),
    upstream_health: health,
    mode: ctx.mode?.global ?? (ctx.settings.dryRun ? 'dry-run' : 'enforce'),
    mode_changed_at: ctx.mode ? iso(ctx.mode.changedAt) : null,
    replicas: replicaSet.replicas,
    replicas_source: replicaSet.source,
    replicas_last_read: replicaSet.last_read,
    replicas_error: replicaSet.last_error,
    store: { kind: ctx.store.kind, fallback: ctx.store.inFallback, tenants: ctx.store.size },
    policies,
    limits: {
      version: snap.version,
      oldest_version: ctx.limits.history.oldest ?? null,
      last_change: last
        ? {
            version: last.version,
            time: iso(last.timeMs),
            actor: last.actor,
            source: last.source,
            reason: last.reason,
          }
        : null,
      tenants_with_overrides: snap.overrides.size,
      tenants_with_runtime_overrides: snap.runtimeOverrides.size,
      defaults: snap.defaults,
      stale_seconds: source.kind === 'none' ? null : source.stale_seconds,
      source,
      overrides_file: w
        ? {
            path: w.file,
            last_success: iso(w.lastSuccessMs),
            last_applied: iso(w.lastAppliedMs),
            ignored_limits: w.ignoredLimits,
            last_error: w.lastError ? { time: iso(w.lastError.timeMs), message: w.lastError.message } : null,
          }
        : null,
    },
    aggregation: {
      tenants: ctx.aggregator.tenantCount,
      bytes_per_tenant: bytesPerTenant(),
      bytes_per_denial_reason: denialReasonBytes(),
    },
    admin: {
      tokens: ctx.access.size,
      cors_origins: ctx.settings.admin.corsOrigins,
      debug_endpoints: ctx.settings.admin.debug,
    },
    listeners: ctx.settings.ports,
  };
}

async function fileFacts(path: string) {
  try {
    const st = await stat(path);
    return { path, bytes: st.size, modified: st.mtime.toISOString() };
  } catch {
    // Not written yet (no change since STATE_DIR was set) is normal, not an error.
    return { path, bytes: null, modified: null };
  }
}

/**
 * Whether runtime changes survive a restart: STATE_DIR, its files, and whether the last save (and audit write)
 * worked. A save still running counts as `saving`; an admin read never waits for the disk.
 */
export async function persistenceStatus(ctx: AdminContext) {
  const dir = ctx.settings.stateDir;
  if (!dir) return { state_dir: null, persistent: false, save: 'memory-only', last_error: null, files: [] };
  // An already-settled saved() resolves within microtasks, before setImmediate runs.
  const save = await Promise.race([
    ctx.limits.saved().then(
      () => ({ save: 'saved', last_error: null }),
      (err: Error) => ({ save: 'failed', last_error: err.message }),
    ),
    new Promise<{ save: string; last_error: null }>((resolve) =>
      setImmediate(() => resolve({ save: 'saving', last_error: null })),
    ),
  ]);
  const files = await Promise.all(
    [STATE_FILE, HISTORY_FILE, AUDIT_FILE].map((name) => fileFacts(join(dir, name))),
  );
  return {
    state_dir: dir,
    persistent: true,
    ...save,
    audit_write_error: ctx.audit.lastWriteError?.message ?? null,
    files,
  };
}

export function overview(ctx: AdminContext, table: TenantTable, range: RangeName, top: number) {
  const nowMs = ctx.now();
  const rows = table.rows(range);
  const rangeMs = RANGE_MS[range];
  const status = systemStatus(ctx);
  return {
    range,
    since: iso(ctx.stats.startedAtMs),
    tenants: ctx.stats.size,
    totals: countersJson(ctx.stats.total, (nowMs - ctx.stats.startedAtMs) / 1000),
    window: windowJson(ctx.aggregator.window(undefined, nowMs, rangeMs)),
    trend: trendJson(ctx.aggregator.trend(undefined, nowMs, rangeMs)),
    active_tenants: rows.filter((t) => t.window.requests > 0).length,
    top: {
      by_samples: topN(rows, 'samples_per_second', top),
      by_accepted_samples: topN(rows, 'accepted_samples_per_second', top),
      by_rejected_samples: topN(rows, 'rejected_samples_per_second', top),
      by_denials: topN(rows, 'denied', top),
      by_utilisation: topN(rows, 'utilisation', top),
      by_cost: recentCostRows(ctx, range)
        .filter((r) => r.total_cost > 0)
        .slice(0, top)
        .map((r) => ({ tenant: r.tenant, value: r.total_cost })),
    },
    currency: ctx.settings.insight.cost.currency,
    bursting: (ctx.bursts?.flagged() ?? []).map(burstJson),
    health: {
      status: status.status,
      upstream: status.upstream_health,
      store: status.store,
      limits_stale_seconds: status.limits.stale_seconds,
    },
  };
}

/** Chart points over a range, overall or for one tenant. */
export function flowSeries(ctx: AdminContext, range: RangeName, tenant: string | undefined) {
  const nowMs = ctx.now();
  const series = ctx.aggregator.points(tenant, nowMs, RANGE_MS[range]);
  const width = series?.widthMs ?? 1000;
  const secs = width / 1000;
  return {
    range,
    tenant: tenant ?? null,
    bucket_seconds: secs,
    // Buckets that ended before this start hold no measurement at all, not zero traffic.
    since: iso(ctx.aggregator.startedAtMs),
    points: (series?.points ?? []).map((p) => ({
      time: new Date(p.t).toISOString(),
      // The bucket holding now is still filling: its rates are not comparable with finished buckets.
      partial: p.t + width > nowMs,
      requests: p.requests,
      allowed: p.requests - p.denied,
      denied: p.denied,
      requests_per_second: p.requests / secs,
      samples_per_second: p.samples / secs,
      accepted_samples_per_second: (p.samples - p.samplesDenied) / secs,
      rejected_samples_per_second: p.samplesDenied / secs,
      bytes_per_second: p.bytes / secs,
      avg_series_per_request: p.requests > 0 ? p.series / p.requests : 0,
      avg_decision_latency_ms: p.requests > 0 ? p.latencyUs / p.requests / 1000 : 0,
    })),
    denied_by_reason: series?.deniedByReason ?? {},
  };
}

export function registerReadRoutes(app: FastifyInstance, ctx: AdminContext, table: TenantTable): void {
  app.get('/api/health', { config: { role: 'public' } }, async (_req, reply) => {
    const time = new Date(ctx.now()).toISOString();
    // Draining (SIGTERM): fail readiness so load balancers move traffic away before the listener closes.
    if (ctx.draining?.() === true) return reply.code(503).send({ status: 'draining', time });
    return { status: 'ok', time };
  });

  app.get('/api/whoami', async (req) => ({ name: req.principal?.name, role: req.principal?.role }));

  app.get('/api/system/status', async () => ({
    ...systemStatus(ctx),
    persistence: await persistenceStatus(ctx),
  }));

  app.get<{ Querystring: Query }>('/api/overview', async (req) =>
    overview(ctx, table, parseRange(req.query.range, '1h'), parseCount(req.query.top, 'top', 5, 100)),
  );

  app.get('/api/limits', async () => ({
    version: ctx.limits.current().version,
    defaults: ctx.limits.current().defaults,
    definitions: LIMIT_DEFINITIONS.map((d) => ({
      name: d.name,
      kind: d.kind,
      values: d.values ?? null,
      default: d.defaultValue,
      zero_means: d.zeroMeans ?? null,
      max: d.max ?? null,
      description: d.description,
    })),
  }));

  app.get<{ Querystring: Query }>('/api/tenants', async (req) => {
    const range = parseRange(req.query.range, '1h');
    const sort = (req.query.sort ?? 'id') as SortKey;
    // Own keys only: `in` would accept `constructor`, `toString` and the like from Object.prototype.
    if (!Object.hasOwn(SORT_KEYS, sort))
      throw new BadRequest(
        'sort',
        `must be one of ${Object.keys(SORT_KEYS).join(', ')}, got ${JSON.stringify(sort)}`,
      );
    const order = req.query.order ?? (sort === 'id' ? 'asc' : 'desc');
    if (order !== 'asc' && order !== 'desc')
      throw new BadRequest('order', `must be asc or desc, got ${JSON.stringify(order)}`);
    const limit = parseCount(req.query.limit, 'limit', 10_000, 100_000);
    const q = (req.query.q ?? '').toLowerCase();
    let rows = table.rows(range);
    if (q) rows = rows.filter((t) => t.id.toLowerCase().includes(q));
    const key = SORT_KEYS[sort] as (t: (typeof rows)[number]) => number | string;
    const sign = order === 'asc' ? 1 : -1;
    const sorted = [...rows].sort((a, b) => {
      const x = key(a);
      const y = key(b);
      const c = typeof x === 'string' ? x.localeCompare(y as string) : x - (y as number);
      return c !== 0 ? sign * c : a.id.localeCompare(b.id);
    });
    return { range, total: rows.length, tenants: sorted.slice(0, limit) };
  });

  app.get<{ Params: { id: string }; Querystring: Query }>('/api/tenants/:id', async (req) => {
    checkTenantId(req.params.id);
    // The tenant's decisions against the upstream's answers (GET /api/agreement has every tenant).
    const agreement = ctx.agreement?.tenant(req.params.id) ?? null;
    await ctx.activeSeries?.sync?.();
    return {
      ...tenantJson(ctx, req.params.id, parseRange(req.query.range, '1h')),
      agreement,
      active_series: tenantActiveSeries(ctx, req.params.id),
    };
  });

  app.get<{ Querystring: Query }>('/api/denials', async (req) => {
    const range = parseRange(req.query.range, '1h');
    const tenant = req.query.tenant;
    if (tenant !== undefined) checkTenantId(tenant);
    const reason = req.query.reason;
    const limit = parseCount(req.query.limit, 'limit', 100, 1000);
    const nowMs = ctx.now();
    const since = nowMs - RANGE_MS[range];
    const w = windowJson(ctx.aggregator.window(tenant, nowMs, RANGE_MS[range]));
    const rows = table.rows(range);
    return {
      range,
      tenant: tenant ?? null,
      denied: w.denied,
      denied_by_reason: w.denied_by_reason,
      would_deny_by_reason: w.would_deny_by_reason,
      by_tenant: topN(rows, 'denied', 20).map((t) => {
        const row = rows.find((r) => r.id === t.tenant)!;
        return { tenant: t.tenant, denied: t.value, denied_by_reason: row.window.denied_by_reason };
      }),
      recent: ctx.aggregator
        .recentDenials(
          limit,
          (e) =>
            e.timeMs > since &&
            (tenant === undefined || e.tenant === tenant) &&
            (reason === undefined || e.reason === reason),
        )
        .map((e) => ({
          time: new Date(e.timeMs).toISOString(),
          tenant: e.tenant || null,
          reason: e.reason,
          status: e.status,
          would_deny: e.wouldDeny,
          limit: e.limit,
          observed: e.observed,
          message: e.message,
        })),
    };
  });

  app.get<{ Querystring: Query }>('/api/denials/groups', async (req) => {
    const range = parseRange(req.query.range, '1h');
    const tenant = req.query.tenant;
    if (tenant !== undefined) checkTenantId(tenant);
    const reason = req.query.reason;
    const limit = parseCount(req.query.limit, 'limit', 100, 1000);
    const nowMs = ctx.now();
    const groups = ctx.aggregator.denials.grouped(
      nowMs,
      RANGE_MS[range],
      limit,
      (g) => (tenant === undefined || g.tenant === tenant) && (reason === undefined || g.reason === reason),
    );
    return {
      range,
      tenant: tenant ?? null,
      groups: groups.map(({ group: g, inRange }) => ({
        tenant: g.tenant || null,
        reason: g.reason,
        would_deny: g.wouldDeny,
        status: g.last.status,
        message_pattern: g.pattern,
        last_message: g.last.message,
        count: inRange,
        count_since_first_seen: g.count,
        first_seen: iso(g.firstMs),
        last_seen: iso(g.last.timeMs),
        limit: g.last.limit,
        observed: g.last.observed,
      })),
    };
  });

  app.get<{ Querystring: Query }>('/api/denials/trends', async (req) => {
    const range = parseRange(req.query.range, '1h');
    const series = flowSeries(ctx, range, undefined);
    const rows = table.rows(range);
    return {
      range,
      bucket_seconds: series.bucket_seconds,
      points: series.points.map((p, i) => ({
        time: p.time,
        denied: p.denied,
        by_reason: Object.fromEntries(
          Object.entries(series.denied_by_reason).map(([reason, counts]) => [reason, counts[i] ?? 0]),
        ),
      })),
      tenants: topN(rows, 'denied', 10).map((t) => {
        const trend = ctx.aggregator.trend(t.tenant, ctx.now(), RANGE_MS[range]);
        return { tenant: t.tenant, denied: t.value, samples_trend: trend.direction };
      }),
    };
  });

  app.get<{ Querystring: Query }>('/api/cardinality', async (req) => {
    const range = parseRange(req.query.range, '1h');
    const rows = table.rows(range);
    return {
      range,
      tenants: rows
        .filter((t) => t.window.requests > 0)
        .map((t) => ({
          tenant: t.id,
          requests: t.window.requests,
          avg_series_per_request: t.window.avg_series_per_request,
          max_series_per_request: t.window.max_series_per_request,
          max_label_names: t.window.max_label_names,
          limits: {
            max_series_per_request: t.limits.max_series_per_request,
            max_label_names_per_series: t.limits.max_label_names_per_series,
          },
          violations: {
            max_series_per_request: t.window.denied_by_reason.max_series_per_request ?? 0,
            max_label_names_per_series: t.window.denied_by_reason.max_label_names_per_series ?? 0,
            max_label_name_length: t.window.denied_by_reason.max_label_name_length ?? 0,
            max_label_value_length: t.window.denied_by_reason.max_label_value_length ?? 0,
          },
        }))
        .sort(
          (a, b) => b.max_series_per_request - a.max_series_per_request || a.tenant.localeCompare(b.tenant),
        ),
    };
  });

  app.get<{ Querystring: Query }>('/api/traffic/flow', async (req) => {
    const range = parseRange(req.query.range, '5m');
    const w = windowJson(ctx.aggregator.window(undefined, ctx.now(), RANGE_MS[range]));
    const wouldDeny = Object.values(w.would_deny_by_reason).reduce((a, b) => a + (b ?? 0), 0);
    return {
      range,
      upstream: redactUrl(ctx.upstreamTarget),
      mode: ctx.mode?.global ?? (ctx.settings.dryRun ? 'dry-run' : 'enforce'),
      flow: {
        received: w.requests,
        allowed: w.allowed,
        forwarded: w.allowed,
        denied: w.denied,
        would_deny: wouldDeny,
      },
      rates: {
        requests_per_second: w.requests_per_second,
        samples_per_second: w.samples_per_second,
        bytes_per_second: w.bytes_per_second,
      },
      denied_by_reason: w.denied_by_reason,
    };
  });

  app.get<{ Params: { range: string }; Querystring: Query }>('/api/timeseries/:range/flow', async (req) => {
    const range = parseRange(req.params.range, '1h');
    const tenant = req.query.tenant;
    if (tenant !== undefined) checkTenantId(tenant);
    return flowSeries(ctx, range, tenant);
  });

  app.get<{ Querystring: Query }>('/api/audit', async (req) => {
    const tenant = req.query.tenant;
    if (tenant !== undefined) checkTenantId(tenant);
    return { entries: ctx.audit.list(parseCount(req.query.limit, 'limit', 100, 1000), tenant) };
  });
}
