// Read-only cost and behaviour endpoints (viewer role): GET /api/cost (JSON or CSV), GET /api/bursts,
// GET /api/top-offenders. See docs/cost-and-bursts.md.

import type { FastifyInstance } from 'fastify';
import type { AdminContext } from './context.js';
import { BadRequest, parseCount, parseRange } from './http-errors.js';
import { burstsReport, costCsv, costReport, topOffenders } from './insight-views.js';

type Query = Record<string, string | undefined>;

export function registerInsightRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get<{ Querystring: Query }>('/api/cost', async (req, reply) => {
    const range = parseRange(req.query.range, '24h');
    const format = req.query.format ?? 'json';
    if (format !== 'json' && format !== 'csv')
      throw new BadRequest('format', `must be json or csv, got ${JSON.stringify(format)}`);
    const report = costReport(ctx, range);
    if (format === 'json') return report;
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="cost-${range}.csv"`)
      .send(costCsv(report));
  });

  app.get('/api/bursts', async () => burstsReport(ctx));

  app.get<{ Querystring: Query }>('/api/top-offenders', async (req) => {
    // Series growth comes from the active-series worker's figures: brought up to date first.
    await ctx.activeSeries?.sync?.();
    return topOffenders(ctx, parseRange(req.query.range, '24h'), parseCount(req.query.top, 'top', 10, 100));
  });
}
