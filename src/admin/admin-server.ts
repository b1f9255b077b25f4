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
import { registerInsightRoutes } from './insight-routes.js';
import { registerModeRoutes } from './mode-routes.js';
import { registerAgreementRoutes } from './agreement-routes.js';
import { registerBlockRoutes } from './block-routes.js';
import { registerListRoutes } from './list-routes.js';
import { registerProtectionRoutes } from './protection-routes.js';
import { registerActiveSeriesRoutes } from './active-series-routes.js';
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

/**
 * The query string as an object without a prototype, so `?sort=__proto__` or `?__proto__=x` are plain
 * parameters like any other. A name given more than once becomes a list, which the request hook refuses.
 */
function parseQuery(text: string): Record<string, string | string[]> {
  const out = Object.create(null) as Record<string, string | string[]>;
  for (const [key, value] of new URLSearchParams(text)) {
    const seen = out[key];
    out[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return out;
}

/**
 * JSON bodies: a syntax error is a 400 naming the body, and a key that would reach an object's prototype
 * (`__proto__`, or `constructor` holding `prototype`) a 400 naming that key, rather than fastify's generic
 * "not valid JSON" for both.
 */
function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw new BadRequest('body', 'is empty; send a JSON object, or no Content-Type');
  try {
    return JSON.parse(text, (key, value: unknown) => {
      if (
        key === '__proto__' ||
        (key === 'constructor' && typeof value === 'object' && value !== null && 'prototype' in value)
      )
        throw new BadRequest(key, 'a JSON key that names an object prototype is refused');
      return value;
    });
  } catch (err) {
    if (err instanceof BadRequest) throw err;
    throw new BadRequest('body', `not valid JSON: ${(err as Error).message}`);
  }
}

export function buildAdminServer(ctx: AdminContext): FastifyInstance {
  // Admin connections (SSE streams included) are closed at once on stop: no client may hold shutdown.
  // maxParamLength: Mimir tenant ids are up to 150 characters; fastify would answer 414 past 100.
  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    forceCloseConnections: true,
    routerOptions: { maxParamLength: 200, querystringParser: parseQuery },
  });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
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
    // A parameter given twice is ambiguous (which one did the client mean?): refused, naming it.
    const query = req.query as Record<string, unknown>;
    for (const key in query)
      if (Array.isArray(query[key])) return sendError(reply, 400, `${key}: given more than once`, key);
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
  registerAgreementRoutes(app, ctx);
  registerBlockRoutes(app, ctx);
  registerListRoutes(app, ctx);
  registerProtectionRoutes(app, ctx);
  registerActiveSeriesRoutes(app, ctx);
  registerEventStream(app, ctx, table);
  registerInsightRoutes(app, ctx);
  registerDebugRoutes(app, ctx, () => routes);
  registerUiFiles(app, ctx);

  app.setNotFoundHandler((req, reply) => {
    void sendError(reply, 404, `no admin endpoint ${req.method} ${req.url.split('?')[0]}`);
  });
  return app;
}
