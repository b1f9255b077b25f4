// GET /api/events: a server-sent-events stream of live updates (overview and the last minute's flow) for
// the UI. One timer per connection, a cap on connections, and everything stops when the client leaves.

import type { FastifyInstance } from 'fastify';
import type { AdminContext } from './context.js';
import { parseCount, parseRange } from './http-errors.js';
import { flowSeries, overview } from './read-routes.js';
import type { TenantTable } from './tenant-views.js';

const MAX_STREAMS = 64;

export function registerEventStream(app: FastifyInstance, ctx: AdminContext, table: TenantTable): void {
  let open = 0;
  app.get<{ Querystring: Record<string, string | undefined> }>('/api/events', async (req, reply) => {
    const range = parseRange(req.query.range, '5m');
    const intervalMs = parseCount(req.query.interval, 'interval', 2, 60) * 1000;
    if (open >= MAX_STREAMS)
      return reply
        .code(503)
        .header('retry-after', '5')
        .send({ error: `too many event streams open (${MAX_STREAMS}); close one or poll /api/overview` });
    open++;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
      ...corsHeaders(ctx, req.headers.origin),
    });
    const send = () => {
      const data = {
        time: new Date(ctx.now()).toISOString(),
        overview: overview(ctx, table, range, 5),
        flow: flowSeries(ctx, '1m', undefined),
      };
      res.write(`event: update\ndata: ${JSON.stringify(data)}\n\n`);
    };
    res.write(`retry: ${intervalMs}\n\n`);
    send();
    const timer = setInterval(send, intervalMs);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      open--;
    };
    req.raw.on('close', close);
    res.on('close', close);
  });
}

/** CORS headers for an allowed origin (the hijacked stream bypasses the onSend hook that adds them). */
function corsHeaders(ctx: AdminContext, origin: string | undefined): Record<string, string> {
  if (origin === undefined || !ctx.settings.admin.corsOrigins.includes(origin)) return {};
  return { 'access-control-allow-origin': origin, vary: 'Origin' };
}
