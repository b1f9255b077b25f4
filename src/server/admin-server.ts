// The admin HTTP API (port 8082): health, system status, overview and per-tenant views, as JSON with
// stable field names. Read-only here; it reads the same objects the proxy writes and never blocks it.

import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { Settings } from '../config/settings.js';
import { LIMIT_DEFINITIONS } from '../limits/limit-definitions.js';
import type { LimitsRegistry } from '../limits/limits-registry.js';
import type { OverridesWatcher } from '../limits/overrides-watcher.js';
import { tenantIdProblem } from '../identify/tenant-id.js';
import type { RateStore } from '../stores/rate-store.js';
import { rateQuery } from '../decide/enforcer.js';
import type { TenantCounters, TrafficStats } from './traffic-stats.js';

export interface AdminDeps {
  settings: Settings;
  limits: LimitsRegistry;
  store: RateStore;
  stats: TrafficStats;
  watcher: OverridesWatcher | undefined;
  upstreamTarget: string;
  version: string;
  now?: () => number;
}

function iso(ms: number): string | null {
  return ms > 0 ? new Date(ms).toISOString() : null;
}

function countersJson(c: TenantCounters, uptimeSeconds: number) {
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

export function buildAdminServer(deps: AdminDeps): FastifyInstance {
  const now = deps.now ?? Date.now;
  const app = Fastify({ logger: false });
  const uptime = () => (now() - deps.stats.startedAtMs) / 1000;

  const tenantJson = (id: string) => {
    const resolved = deps.limits.forTenant(id);
    const l = resolved.limits;
    const counters = deps.stats.get(id);
    const query = rateQuery(resolved, 0, deps.settings.dryRun);
    const state = deps.store.peek(id, query, now());
    let buckets = null;
    if (state) {
      buckets = {
        samples: {
          tokens: state.ingestion,
          capacity: query.ingestionBurst,
          utilisation: 1 - state.ingestion / Math.max(1, query.ingestionBurst),
        },
        requests: query.requestRate > 0 ? { tokens: state.requests, capacity: query.requestBurst } : null,
      };
    }
    return {
      id,
      limits: l,
      limits_source: resolved.hasOverrides ? 'overrides' : 'defaults',
      enforcement: {
        enabled: !deps.settings.dryRun && resolved.enforcement.enabled,
        dry_run: deps.settings.dryRun,
        limits: Object.fromEntries(
          LIMIT_DEFINITIONS.map((d) => [d.name, resolved.enforcement.limits[d.name] !== false]),
        ),
      },
      buckets,
      stats: counters ? countersJson(counters, uptime()) : null,
    };
  };

  app.get('/api/health', async () => ({ status: 'ok', time: new Date(now()).toISOString() }));

  app.get('/api/system/status', async () => {
    const snap = deps.limits.current();
    const w = deps.watcher?.status;
    return {
      status: w?.lastError ? 'degraded' : 'ok',
      version: deps.version,
      uptime_seconds: uptime(),
      upstream: deps.upstreamTarget,
      mode: deps.settings.dryRun ? 'dry-run' : 'enforce',
      store: { kind: deps.store.kind, fallback: deps.store.inFallback, tenants: deps.store.size },
      limits: {
        version: snap.version,
        tenants_with_overrides: snap.overrides.size,
        defaults: snap.defaults,
        overrides_file: w
          ? {
              path: w.file,
              last_success: iso(w.lastSuccessMs),
              last_applied: iso(w.lastAppliedMs),
              ignored_limits: w.ignoredLimits,
              last_error: w.lastError
                ? { time: iso(w.lastError.timeMs), message: w.lastError.message }
                : null,
            }
          : null,
      },
      listeners: deps.settings.ports,
    };
  });

  app.get('/api/overview', async () => {
    const t = deps.stats.total;
    return {
      range: 'since_start',
      since: iso(deps.stats.startedAtMs),
      tenants: deps.stats.size,
      totals: countersJson(t, uptime()),
    };
  });

  app.get('/api/tenants', async () => {
    const ids = new Set<string>([...deps.limits.current().overrides.keys()]);
    for (const [id] of deps.stats.entries()) ids.add(id);
    const tenants = [...ids].sort().map((id) => tenantJson(id));
    return { range: 'since_start', tenants };
  });

  app.get<{ Params: { id: string } }>('/api/tenants/:id', async (req, reply) => {
    const id = req.params.id;
    const problem = tenantIdProblem(id);
    if (problem && id !== '__other__')
      return reply.code(400).send({ error: `invalid tenant id: ${problem}` });
    return tenantJson(id);
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: `no admin endpoint ${req.method} ${req.url}` });
  });
  return app;
}
