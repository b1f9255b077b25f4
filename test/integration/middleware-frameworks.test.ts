// The rate-limit middleware in each real framework — node:http, Express, Fastify and Hono (on
// @hono/node-server) — over real sockets on 127.0.0.1: what a client sees (headers, 429 + Retry-After +
// JSON body, 403 for a blocked address), per-client counting behind a trusted proxy and per JWT user,
// and concurrency units given back when a response completes.

import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fastifyRateLimit,
  honoRateLimit,
  HttpRateLimiter,
  rateLimitMiddleware,
  withRateLimit,
} from '../../src/index.js';
import type { HttpRateLimitOptions } from '../../src/index.js';

const POLICIES = `
block: { ips: ["203.0.113.0/24"] }
policies:
  - name: per-client
    match: { scope: user, path: /api/** }
    limit: { algorithm: fixed_window, limit: 2, window: 1h }
  - name: one-at-a-time
    match: { scope: global, path: /slow }
    limit: { algorithm: concurrency, limit: 1 }
`;
const secret = new TextEncoder().encode('middleware-test-secret-0123456789abcdef');

function options(): HttpRateLimitOptions {
  return {
    policies: POLICIES,
    clientIp: { trustedProxies: ['127.0.0.1'] },
    jwt: { secret, userClaim: 'company_id' },
    headers: ['draft', 'legacy', 'x-ratelimit'],
  };
}

interface Running {
  url: string;
  handled: () => number;
  /** Lets every request waiting in /slow finish. */
  releaseSlow: () => void;
  close: () => Promise<void>;
}

/** Shared handler state: how many requests reached the app, and a gate for /slow. */
function appState(): {
  hit: () => void;
  handled: () => number;
  slow: () => Promise<void>;
  releaseSlow: () => void;
} {
  let count = 0;
  let waiting: (() => void)[] = [];
  return {
    hit: () => void count++,
    handled: () => count,
    slow: () => new Promise<void>((resolve) => waiting.push(resolve)),
    releaseSlow: () => {
      for (const r of waiting) r();
      waiting = [];
    },
  };
}

/** Resolves once `condition` holds; rejects after `ms`. */
async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

const FRAMEWORKS: Record<string, () => Promise<Running>> = {
  'node:http': async () => {
    const s = appState();
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      s.hit();
      const done = (): void => void res.end('ok');
      if (req.url === '/slow') void s.slow().then(done);
      else done();
    };
    const server = createServer(withRateLimit(handler, options()));
    return {
      url: await listen(server),
      handled: s.handled,
      releaseSlow: s.releaseSlow,
      close: () => closeServer(server),
    };
  },
  Express: async () => {
    const s = appState();
    const app = express();
    app.use(rateLimitMiddleware(options()));
    app.get('/api/items', (_req, res) => {
      s.hit();
      res.send('ok');
    });
    app.get('/slow', (_req, res) => {
      s.hit();
      void s.slow().then(() => res.send('ok'));
    });
    const server = createServer(app);
    return {
      url: await listen(server),
      handled: s.handled,
      releaseSlow: s.releaseSlow,
      close: () => closeServer(server),
    };
  },
  Fastify: async () => {
    const s = appState();
    const app = Fastify();
    await app.register(fastifyRateLimit(options()));
    app.get('/api/items', async () => {
      s.hit();
      return 'ok';
    });
    app.get('/slow', async () => {
      s.hit();
      await s.slow();
      return 'ok';
    });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    return {
      url: address,
      handled: s.handled,
      releaseSlow: s.releaseSlow,
      close: async () => {
        app.server.closeAllConnections();
        await app.close();
      },
    };
  },
  Hono: async () => {
    const s = appState();
    const app = new Hono();
    app.use('*', honoRateLimit(new HttpRateLimiter(options())));
    app.get('/api/items', (c) => {
      s.hit();
      return c.text('ok');
    });
    app.get('/slow', async (c) => {
      s.hit();
      await s.slow();
      return c.text('ok');
    });
    const server = await new Promise<Server>((resolve) => {
      const srv = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(srv as Server));
    });
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      handled: s.handled,
      releaseSlow: s.releaseSlow,
      close: () => closeServer(server),
    };
  },
};

for (const [framework, start] of Object.entries(FRAMEWORKS)) {
  describe(`rate-limit middleware with ${framework}`, () => {
    let app: Running;

    beforeAll(async () => {
      app = await start();
    });

    afterAll(async () => {
      app.releaseSlow();
      await app.close();
    });

    const get = (path: string, headers: Record<string, string> = {}): Promise<Response> =>
      fetch(`${app.url}${path}`, { headers });

    it('lets requests through with RateLimit headers until the limit, then answers 429 with Retry-After and a JSON body', async () => {
      const client = { 'x-forwarded-for': '198.51.100.1' };
      const before = app.handled();
      const first = await get('/api/items', client);
      expect(first.status).toBe(200);
      expect(await first.text()).toBe('ok');
      expect(first.headers.get('ratelimit-policy')).toBe('"per-client";q=2;w=3600');
      expect(first.headers.get('ratelimit')).toMatch(/^"per-client";r=1;t=\d+$/);
      expect(first.headers.get('ratelimit-remaining')).toBe('1');
      expect(first.headers.get('x-ratelimit-limit')).toBe('2');
      expect((await get('/api/items', client)).status).toBe(200);

      const refused = await get('/api/items', client);
      expect(refused.status).toBe(429);
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(3600);
      expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await refused.json()) as {
        error: {
          code: string;
          message: string;
          details: Record<string, unknown>;
          recovery_suggestions: string[];
        };
      };
      expect(body.error.code).toBe('RATE_LIMIT_EXCEEDED');
      expect(body.error.message).toContain('"per-client"');
      expect(body.error.details).toMatchObject({
        policy: 'per-client',
        limit: 2,
        window_seconds: 3600,
        retry_after_seconds: retryAfter,
      });
      expect(body.error.recovery_suggestions.length).toBeGreaterThan(0);
      // The refused request never reached the application.
      expect(app.handled() - before).toBe(2);
    });

    it('counts each client behind the trusted proxy separately, and ignores what an untrusted hop claims', async () => {
      expect((await get('/api/items', { 'x-forwarded-for': '198.51.100.2' })).status).toBe(200);
      expect((await get('/api/items', { 'x-forwarded-for': '198.51.100.3' })).status).toBe(200);
      // "Spoofed" entry left of a real client: the rightmost untrusted address (the real client) counts.
      expect((await get('/api/items', { 'x-forwarded-for': '198.51.100.99, 198.51.100.2' })).status).toBe(
        200,
      );
      expect((await get('/api/items', { 'x-forwarded-for': '198.51.100.77, 198.51.100.2' })).status).toBe(
        429,
      );
    });

    it('refuses a blocked address with 403', async () => {
      const r = await get('/api/items', { 'x-forwarded-for': '203.0.113.50' });
      expect(r.status).toBe(403);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('ACCESS_BLOCKED');
    });

    it('counts by the verified JWT user, and falls back to the address for a forged token', async () => {
      const token = (company: string): Promise<string> =>
        new SignJWT({ company_id: company })
          .setProtectedHeader({ alg: 'HS256' })
          .setExpirationTime('5m')
          .sign(secret);
      const shared = { 'x-forwarded-for': '198.51.100.10' };
      for (const company of ['acme', 'globex']) {
        const auth = { ...shared, authorization: `Bearer ${await token(company)}` };
        expect((await get('/api/items', auth)).status).toBe(200);
        expect((await get('/api/items', auth)).status).toBe(200);
        expect((await get('/api/items', auth)).status).toBe(429);
      }
      const forged = `Bearer ${await new SignJWT({ company_id: 'acme' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('not-the-secret-not-the-secret-123'))}`;
      expect((await get('/api/items', { ...shared, authorization: forged })).status).toBe(200);
    });

    it('holds a concurrency unit while a response is in flight and gives it back when it completes', async () => {
      const before = app.handled();
      const first = get('/slow');
      await until(() => app.handled() === before + 1);
      const second = await get('/slow');
      expect(second.status).toBe(429);
      expect(app.handled()).toBe(before + 1);
      app.releaseSlow();
      expect((await first).status).toBe(200);
      // The unit comes back when the first response has been sent: a new request then gets in.
      let admitted = false;
      for (let attempt = 0; attempt < 100 && !admitted; attempt++) {
        const next = get('/slow');
        await until(() => app.handled() === before + 2, 50).catch(() => undefined);
        admitted = app.handled() === before + 2;
        app.releaseSlow();
        expect((await next).status).toBe(admitted ? 200 : 429);
      }
      expect(admitted).toBe(true);
    });
  });
}

describe('a request weight in the middleware (node:http)', () => {
  it('charges each request its Content-Length against a byte budget, and refuses a bad weight clearly', async () => {
    const limiter = new HttpRateLimiter({
      policies: `
policies:
  - name: upload-bytes
    match: { scope: ip }
    limit: { algorithm: token_bucket, rate: 1, burst: 1000 }
`,
      weight: (facts) => Number(facts.headers['content-length'] ?? 0),
    });
    const server = createServer(
      withRateLimit((_req: IncomingMessage, res: ServerResponse) => {
        res.end('ok');
      }, limiter),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/upload`;
    try {
      const send = (bytes: number) => fetch(url, { method: 'POST', body: 'x'.repeat(bytes) });
      expect((await send(600)).status).toBe(200);
      const refused = await send(600);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).not.toBeNull();
      expect((await send(400)).status, 'the refused 600 bytes took nothing').toBe(200);
      expect(() =>
        limiter.context({
          method: 'POST',
          url: '/',
          headers: { 'content-length': 'abc' },
          remoteAddress: '127.0.0.1',
        }),
      ).toThrow(/weight option must return a finite number >= 0, got NaN/);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
