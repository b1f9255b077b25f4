// GET /api/agreement: how the edge's decisions on forwarded writes compare with the upstream's answers, per
// tenant and reason, with the last disagreements and a sample of the upstream's text (src/observe/upstream-agreement.ts).
// Read-only and viewer-level: it reads counters the proxy writes when the upstream answers.

import type { FastifyInstance } from 'fastify';
import type { AdminContext } from './context.js';
import { sendError } from './http-errors.js';

export function registerAgreementRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get('/api/agreement', async (_req, reply) => {
    const agreement = ctx.agreement;
    if (agreement === undefined)
      return sendError(reply, 404, 'decision agreement is not recorded by this process');
    const mode = ctx.mode?.global ?? (ctx.settings.dryRun ? 'dry-run' : 'enforce');
    return { mode, ...agreement.json() };
  });
}
