// The admin listener (port 8082): the fastify assembly of the admin API and UI. Here live the parts every
// route shares: bearer-token auth with roles, CORS (off by default), secure headers and one error shape.
// Routes are in src/admin/*; they read what the proxy writes and never block it.

import Fastify from 'fastify';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { Principal } from './access.js';
import type { Role } from '../observe/audit/roles.js';
import { roleAllows } from './access.js';
import type { AdminContext } from './context.js';
import { registerDebugRoutes } from './debug-routes.js';
import { registerEventStream } from './event-stream.js';
import { registerModeRoutes } from './mode-routes.js';
import { BadRequest, sendError } from './http-errors.js';
import { openApiDocument } from './openapi.js';
import { registerReadRoutes } from './read-routes.js';
import { TenantTable } from './tenant-views.js';
import { registerUiFiles } from './ui-files.js';
import { registerWriteRoutes } from './write-routes.js';
import { registerConfigRoutes } from './config-routes.js';

export type { AdminContext };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Least role a route needs; 'public' needs no token. Default: viewer. */
    role?: Role | 'public';
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

const SECURE_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

export function buildAdminServer(ctx: AdminContext): FastifyInstance {
  // Admin connections (SSE streams included) are closed at once on stop: no client may hold shutdown.
  // maxParamLength: Mimir tenant ids are up to 150 characters; fastify would answer 414 past 100.
  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    forceCloseConnections: true,
    routerOptions: { maxParamLength: 200 },
  });
  const table = new TenantTable(ctx);
  const cors = new Set(ctx.settings.admin.corsOrigins);
  const routes: { method: string; url: string; role: string }[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat())
      if (method !== 'HEAD') routes.push({ method, url: route.url, role: route.config?.role ?? 'viewer' });
  });

  app.addHook('onRequest', async (req, reply) => {
    void reply.headers(SECURE_HEADERS);
    const origin = req.headers.origin;
    if (origin !== undefined && cors.has(origin)) {
      void reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
      if (req.method === 'OPTIONS') {
        return reply
          .code(204)
          .header('access-control-allow-methods', 'GET, PUT, POST, DELETE')
          .header('access-control-allow-headers', 'authorization, content-type')
          .header('access-control-max-age', '600')
          .send();
      }
    }
    const role = req.routeOptions.config?.role ?? 'viewer';
    if (role === 'public') return;
    const principal = ctx.access.authenticate(req.headers.authorization);
    if (!principal) {
      void reply.header('www-authenticate', 'Bearer realm="mimir-edge-enforcement"');
      return sendError(
        reply,
        401,
        'missing or unknown bearer token: send "Authorization: Bearer <token>" (ADMIN_TOKEN, ADMIN_TOKENS_FILE, or the token logged at start)',
      );
    }
    if (!roleAllows(principal.role, role)) {
      return sendError(
        reply,
        403,
        `the ${principal.role} role cannot ${req.method} ${req.url.split('?')[0]}: it needs the ${role} role`,
      );
    }
    req.principal = principal;
  });

  app.setErrorHandler((err: FastifyError, _req, reply) => {
    if (err instanceof BadRequest) return sendError(reply, 400, err.message, err.path);
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return sendError(reply, status, err.message);
    ctx.log.error({ err: err.message }, 'admin request failed');
    return sendError(reply, 500, 'internal error in the admin API; see the service log');
  });

  const document = openApiDocument(ctx.version);
  app.get('/api/openapi.json', { config: { role: 'public' } }, async () => document);
  registerReadRoutes(app, ctx, table);
  registerWriteRoutes(app, ctx, table);
  registerConfigRoutes(app, ctx, table);
  registerModeRoutes(app, ctx, table);
  registerEventStream(app, ctx, table);
  registerDebugRoutes(app, ctx, () => routes);
  registerUiFiles(app, ctx);

  app.setNotFoundHandler((req, reply) => {
    void sendError(reply, 404, `no admin endpoint ${req.method} ${req.url.split('?')[0]}`);
  });
  return app;
}
