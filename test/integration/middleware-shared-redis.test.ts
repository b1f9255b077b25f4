// The rate-limit middleware of each real framework (node:http, Express, Fastify, Hono) with its counters
// in a real redis-server: two app instances, each with its own limiter and its own Redis connection (as
// two processes would have), enforce one limit between them — the RateLimit headers count down across
// both, the refusal is the same 429 with Retry-After and JSON body, and a concurrency unit held by one
// instance is seen by the other. With Redis killed, requests are still decided (locally), never failed.

import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fastifyRateLimit,
  honoRateLimit,
  HttpRateLimiter,
  RedisPolicyLimits,
  rateLimitMiddleware,
  withRateLimit,
} from '../../src/index.js';
import { startRedisServer } from '../helpers/redis-server.js';
import type { RedisServer } from '../helpers/redis-server.js';

const LIMIT = 4;
const POLICIES = `
policies:
  - name: per-client
    match: { scope: ip, path: /api/** }
    limit: { algorithm: fixed_window, limit: ${LIMIT}, window: 1h }
  - name: one-at-a-time
    match: { scope: global, path: /slow }
    limit: { algorithm: concurrency, limit: 1, lease: 1m }
`;

let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedisServer();
}, 20_000);

afterAll(async () => {
  await redis?.stop();
});

/** One "process": its own Redis connection, its own shared limits, its own limiter. */
interface Instance {
  limiter: HttpRateLimiter;
  shared: RedisPolicyLimits;
  client: Redis;
}

async function instance(keyPrefix: string): Promise<Instance> {
  // What docs/library.md asks of a client given to RedisPolicyLimits: fail at once while Redis is down.
  const client = new Redis({
    host: '127.0.0.1',
    port: redis.port,
    enableOfflineQueue: false,
    commandTimeout: 500,
    maxRetriesPerRequest: 0,
    retryStrategy: () => 100,
  });
  client.on('error', () => undefined); // Redis is killed on purpose below
  // Without an offline queue, a check sent before the connection is up fails and is decided locally.
  if (client.status !== 'ready') await once(client, 'ready');
  const shared = new RedisPolicyLimits(client, { keyPrefix, breakerCooldownMs: 200 });
  const limiter = new HttpRateLimiter({
    policies: POLICIES,
    shared,
    clientIp: { trustedProxies: ['127.0.0.1'] },
    headers: ['draft'],
  });
  return { limiter, shared, client };
}

interface Running {
  url: string;
  handled: () => number;
  releaseSlow: () => void;
  /** From now on /slow answers at once. */
  openSlow: () => void;
  close: () => Promise<void>;
}

function appState() {
  let count = 0;
  let waiting: (() => void)[] = [];
  let open = false;
  const releaseSlow = (): void => {
    for (const r of waiting) r();
    waiting = [];
  };
  return {
    hit: () => void count++,
    handled: () => count,
    slow: () => (open ? Promise.resolve() : new Promise<void>((resolve) => waiting.push(resolve))),
    releaseSlow,
    openSlow: () => {
      open = true;
      releaseSlow();
    },
  };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

async function until(condition: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const FRAMEWORKS: Record<string, (limiter: HttpRateLimiter) => Promise<Running>> = {
  'node:http': async (limiter) => {
    const s = appState();
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      s.hit();
      const done = (): void => void res.end('ok');
      if (req.url === '/slow') void s.slow().then(done);
      else done();
    };
    const server = createServer(withRateLimit(handler, limiter));
    return { url: await listen(server), ...s, close: () => closeServer(server) };
  },
  Express: async (limiter) => {
    const s = appState();
    const app = express();
    app.use(rateLimitMiddleware(limiter));
    app.get('/api/items', (_req, res) => {
      s.hit();
      res.send('ok');
    });
    app.get('/slow', (_req, res) => {
      s.hit();
      void s.slow().then(() => res.send('ok'));
    });
    const server = createServer(app);
    return { url: await listen(server), ...s, close: () => closeServer(server) };
  },
  Fastify: async (limiter) => {
    const s = appState();
    const app = Fastify();
    await app.register(fastifyRateLimit(limiter));
    app.get('/api/items', async () => {
      s.hit();
      return 'ok';
    });
    app.get('/slow', async () => {
      s.hit();
      await s.slow();
      return 'ok';
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    return {
      url,
      ...s,
      close: async () => {
        app.server.closeAllConnections();
        await app.close();
      },
    };
  },
  Hono: async (limiter) => {
    const s = appState();
    const app = new Hono();
    app.use('*', honoRateLimit(limiter));
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
      ...s,
      close: () => closeServer(server),
    };
  },
};

let prefixes = 0;

for (const [framework, start] of Object.entries(FRAMEWORKS)) {
  describe(`${framework} middleware, two instances sharing limits through Redis`, () => {
    const keyPrefix = `mw${prefixes++}:`;
    let instances: Instance[] = [];
    let apps: Running[] = [];

    beforeAll(async () => {
      instances = [await instance(keyPrefix), await instance(keyPrefix)];
      apps = [await start(instances[0]!.limiter), await start(instances[1]!.limiter)];
    });

    afterAll(async () => {
      for (const a of apps) {
        a.releaseSlow();
        await a.close();
      }
      for (const i of instances) {
        await i.shared.close();
        i.client.disconnect();
      }
    });

    const get = (i: number, path: string, headers: Record<string, string> = {}): Promise<Response> =>
      fetch(`${apps[i]!.url}${path}`, { headers });

    it('allow the limit once between them: headers count down across both, then 429 with Retry-After and JSON', async () => {
      const client = { 'x-forwarded-for': '198.51.100.1' };
      for (let n = 0; n < LIMIT; n++) {
        const r = await get(n % 2, '/api/items', client);
        expect(r.status, `request ${n + 1} (instance ${n % 2})`).toBe(200);
        expect(await r.text()).toBe('ok');
        expect(r.headers.get('ratelimit-policy')).toBe(`"per-client";q=${LIMIT};w=3600`);
        // The remaining count is the global one: each instance sees the other's requests.
        expect(r.headers.get('ratelimit')).toMatch(new RegExp(`^"per-client";r=${LIMIT - 1 - n};t=\\d+$`));
      }
      for (const i of [0, 1]) {
        const refused = await get(i, '/api/items', client);
        expect(refused.status, `instance ${i} after the shared limit`).toBe(429);
        const retryAfter = Number(refused.headers.get('retry-after'));
        expect(retryAfter).toBeGreaterThan(0);
        expect(retryAfter).toBeLessThanOrEqual(3600);
        expect(refused.headers.get('ratelimit')).toMatch(/^"per-client";r=0;t=\d+$/);
        expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
        const body = (await refused.json()) as {
          error: { code: string; details: Record<string, unknown>; recovery_suggestions: string[] };
        };
        expect(body.error.code).toBe('RATE_LIMIT_EXCEEDED');
        expect(body.error.details).toMatchObject({
          policy: 'per-client',
          limit: LIMIT,
          window_seconds: 3600,
          retry_after_seconds: retryAfter,
        });
        expect(body.error.recovery_suggestions.length).toBeGreaterThan(0);
      }
      expect(apps[0]!.handled() + apps[1]!.handled()).toBe(LIMIT);
      // The counter lives in Redis, under the prefix both instances were given.
      const keys = await instances[0]!.client.keys(`${keyPrefix}policy:*`);
      expect(keys).toContain(`${keyPrefix}policy:{per-client:fixed_window:198.51.100.1}`);
    });

    it('see a concurrency unit held by the other instance, and get it once that response completes', async () => {
      const before = apps[0]!.handled();
      const first = get(0, '/slow');
      await until(() => apps[0]!.handled() === before + 1);
      const second = await get(1, '/slow');
      expect(second.status, 'instance 1 while instance 0 holds the only unit').toBe(429);
      apps[0]!.releaseSlow();
      expect((await first).status).toBe(200);
      // The lease goes back to Redis when instance 0's response closes; instance 1 then gets in.
      apps[1]!.openSlow();
      await until(async () => (await get(1, '/slow')).status === 200);
    });
  });
}

describe('shared middleware while Redis is down', () => {
  it('keeps deciding from the local share (no request fails) and is shared again once Redis is back', async () => {
    const keyPrefix = 'down:';
    const instances = [await instance(keyPrefix), await instance(keyPrefix)];
    const apps = [
      await FRAMEWORKS['node:http']!(instances[0]!.limiter),
      await FRAMEWORKS['Express']!(instances[1]!.limiter),
    ];
    try {
      const get = async (i: number, client: string): Promise<number> => {
        const r = await fetch(`${apps[i]!.url}/api/items`, { headers: { 'x-forwarded-for': client } });
        await r.arrayBuffer();
        return r.status;
      };
      await redis.kill();
      const statuses: number[] = [];
      for (let n = 0; n < 3 * LIMIT; n++) statuses.push(await get(n % 2, '198.51.100.50'));
      expect(
        statuses.filter((s) => s !== 200 && s !== 429),
        'no request fails',
      ).toEqual([]);
      // Each instance falls back to the whole limit of its own (replicas defaults to 1).
      expect(statuses.filter((s) => s === 200).length).toBe(2 * LIMIT);
      expect(instances.map((i) => i.shared.status.fallback)).toEqual([true, true]);

      await redis.restart();
      await until(() => instances.every((i) => !i.shared.status.fallback), 10_000);
      const back: number[] = [];
      for (let n = 0; n < 2 * LIMIT; n++) back.push(await get(n % 2, '198.51.100.51'));
      expect(back.filter((s) => s === 200).length, 'one shared limit again').toBe(LIMIT);
    } finally {
      for (const a of apps) await a.close();
      for (const i of instances) {
        await i.shared.close();
        i.client.disconnect();
      }
    }
  }, 30_000);
});
