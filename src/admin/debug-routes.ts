// /api/debug/*: what the admin plane holds (routes, tracked tenants, memory of the aggregation) and,
// only with ADMIN_DEBUG=true and the admin role, synthetic test data. Never touches the rate buckets.

import type { FastifyInstance } from 'fastify';
import { ALLOWED, denial } from '../decision/catalogue.js';
import { rateLimitMessage } from '../decision/catalogue.js';
import { bytesPerTenant } from '../observe/stats/decision-aggregator.js';
import type { RequestInfo } from '../remote-write/request-info.js';
import type { AdminContext } from './context.js';
import { parseCount } from './http-errors.js';

function fakeInfo(series: number, samples: number): RequestInfo {
  return {
    format: 'prw1',
    series,
    floatSamples: samples,
    histogramSamples: 0,
    exemplars: 0,
    metadata: 0,
    maxLabelNames: 8,
    maxLabelNamesSeries: 0,
    maxLabelNameLength: 10,
    maxLabelNameSeries: 0,
    maxLabelValueLength: 20,
    maxLabelValueSeries: 0,
    bytesCompressed: samples * 4,
    bytesUncompressed: samples * 16,
  };
}

export function registerDebugRoutes(
  app: FastifyInstance,
  ctx: AdminContext,
  routes: () => readonly { method: string; url: string; role: string }[],
): void {
  app.get('/api/debug/routes', async () => ({ routes: routes() }));

  app.get('/api/debug/tenants', async () => ({
    aggregated_tenants: ctx.aggregator.tenantCount,
    counted_tenants: ctx.stats.size,
    store_tenants: ctx.store.size,
    bytes_per_tenant: bytesPerTenant(),
    aggregation_bytes: ctx.aggregator.tenantCount * bytesPerTenant(),
    tenants: [...ctx.aggregator.tenantNames()].sort().slice(0, 1000),
  }));

  app.post<{ Querystring: Record<string, string | undefined> }>(
    '/api/debug/add-test-data',
    { config: { role: 'admin' } },
    async (req, reply) => {
      if (!ctx.settings.admin.debug)
        return reply.code(403).send({
          error: 'debug endpoints that change state are off; start with ADMIN_DEBUG=true to use them',
        });
      const tenants = parseCount(req.query.tenants, 'tenants', 5, 100);
      const requests = parseCount(req.query.requests, 'requests', 20, 1000);
      const nowMs = ctx.now();
      const denied = denial(
        'ingestion_rate',
        rateLimitMessage('ingestion_rate', 100, 1000, 5000),
        100,
        5000,
        1,
      );
      for (let t = 0; t < tenants; t++) {
        for (let r = 0; r < requests; r++) {
          const decision = r % 10 === 9 ? denied : ALLOWED;
          ctx.aggregator.record(`debug-tenant-${t}`, nowMs, decision, fakeInfo(100 + t, 500 * (t + 1)), 50);
        }
      }
      ctx.log.warn({ actor: req.principal?.name, tenants, requests }, 'synthetic test data added');
      ctx.audit.append({
        time: new Date(nowMs).toISOString(),
        actor: req.principal!.name,
        role: req.principal!.role,
        action: 'debug.add-test-data',
        tenant: null,
        before: null,
        after: { tenants, requests },
        reason: null,
        version: null,
      });
      return {
        added: tenants * requests,
        tenants: Array.from({ length: tenants }, (_, t) => `debug-tenant-${t}`),
      };
    },
  );
}
