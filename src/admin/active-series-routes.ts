// The active-series endpoints (viewer): every tracked tenant's estimated active series against
// max_global_series_per_user, the time to reach it, its new-series rate and the metric names bringing new series,
// and the top offenders by series growth across tenants. docs/active-series.md says how the figures are made.

import type { FastifyInstance } from 'fastify';
import type { TenantActiveSeries } from '../observe/active-series/active-series.js';
import type { AdminContext } from './context.js';
import { BadRequest, checkTenantId, sendError } from './http-errors.js';

/** One tenant's figures as the API shows them (snake_case). */
export function activeSeriesJson(s: TenantActiveSeries): Record<string, unknown> {
  return {
    tenant: s.tenant,
    active_series: s.activeSeries,
    local_active_series: s.localActiveSeries,
    shared: s.shared,
    max_global_series_per_user: s.limit,
    utilisation: s.utilisation,
    growth_per_minute: Math.round(s.growthPerMinute * 10) / 10,
    seconds_to_limit: s.secondsToLimit === null ? null : Math.round(s.secondsToLimit),
    new_series_last_minute: s.newSeriesLastMinute,
    new_series_per_minute_10m: s.newSeriesPerMinute10m,
    new_series_total: s.newSeriesTotal,
    top_new_metrics: s.topNewMetrics.map((m) => ({ name: m.name, new_series: m.count, error: m.error })),
    new_series_refused_requests: s.newSeriesRefused,
    memory_bytes: s.memoryBytes,
    sample_every: s.sampleEvery,
  };
}

/** The tenant's figures, or null when active series are off or the tenant is not tracked. */
export function tenantActiveSeries(ctx: AdminContext, tenant: string): Record<string, unknown> | null {
  const tracker = ctx.activeSeries;
  if (tracker === undefined) return null;
  const limit = ctx.limits.forTenant(tenant).limits.max_global_series_per_user;
  const s = tracker.snapshot(tenant, limit, ctx.now());
  return s === undefined ? null : activeSeriesJson(s);
}

const SORTS = ['utilisation', 'active_series', 'growth', 'new_series'] as const;
type Sort = (typeof SORTS)[number];

function sortKey(sort: Sort, s: TenantActiveSeries): number {
  if (sort === 'utilisation') return s.utilisation;
  if (sort === 'active_series') return s.activeSeries;
  if (sort === 'growth') return s.growthPerMinute;
  return s.newSeriesPerMinute10m;
}

export function registerActiveSeriesRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get<{ Querystring: { sort?: string; limit?: string } }>('/api/active-series', async (req) => {
    const tracker = ctx.activeSeries;
    await tracker?.sync?.();
    const sort = (req.query.sort ?? 'utilisation') as Sort;
    if (!SORTS.includes(sort))
      throw new BadRequest(
        'sort',
        `must be one of ${SORTS.join(', ')}, got ${JSON.stringify(req.query.sort)}`,
      );
    const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
      throw new BadRequest(
        'limit',
        `must be a whole number from 1 to 10000, got ${JSON.stringify(req.query.limit)}`,
      );
    if (tracker === undefined)
      return { enabled: false, tenants: [], top_growth: [], tracked_tenants: 0, memory_bytes: 0 };
    const now = ctx.now();
    const all: TenantActiveSeries[] = [];
    for (const tenant of tracker.tenantNames()) {
      const s = tracker.snapshot(tenant, ctx.limits.forTenant(tenant).limits.max_global_series_per_user, now);
      if (s !== undefined) all.push(s);
    }
    const by = (key: Sort) => (a: TenantActiveSeries, b: TenantActiveSeries) =>
      sortKey(key, b) - sortKey(key, a) || a.tenant.localeCompare(b.tenant);
    // Top offenders by series growth: new series per minute over 10 minutes, the tenants that bring any.
    const growth = all
      .filter((s) => s.newSeriesPerMinute10m > 0)
      .sort(by('new_series'))
      .slice(0, 20);
    return {
      enabled: true,
      window_seconds: tracker.options.windowMs / 1000,
      sample_every: tracker.options.sampleEvery,
      tracked_tenants: tracker.trackedTenants,
      max_tenants: tracker.options.maxTenants,
      memory_bytes: tracker.memoryBytes,
      sort,
      tenants: all.sort(by(sort)).slice(0, limit).map(activeSeriesJson),
      top_growth: growth.map((s) => ({
        tenant: s.tenant,
        new_series_per_minute_10m: s.newSeriesPerMinute10m,
        new_series_last_minute: s.newSeriesLastMinute,
        active_series: s.activeSeries,
        top_new_metrics: s.topNewMetrics.slice(0, 3).map((m) => ({ name: m.name, new_series: m.count })),
      })),
    };
  });

  app.get<{ Params: { id: string } }>('/api/active-series/:id', async (req, reply) => {
    checkTenantId(req.params.id);
    await ctx.activeSeries?.sync?.();
    const json = tenantActiveSeries(ctx, req.params.id);
    if (json === null)
      return sendError(
        reply,
        404,
        `no active series tracked for tenant ${JSON.stringify(req.params.id)} (no write within the window, or ACTIVE_SERIES_ENABLED=false)`,
      );
    return json;
  });
}
