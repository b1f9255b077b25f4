// After a Redis outage, policy counters resume without a fresh burst: two replicas (each its own
// RedisPolicyLimits and Redis connection) decide from their local shares while a real redis-server is
// killed, Redis comes back empty, and on recovery each replica charges what it allowed meanwhile, so the
// fleet allows only what is left of the limit, not the whole limit again.
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyEngine } from '../../src/lib/policy/policy-engine.js';
import { loadPolicySet } from '../../src/lib/policy/policy-set.js';
import type { RequestContext } from '../../src/lib/policy/request-context.js';
import { RedisPolicyLimits } from '../../src/lib/redis/redis-policy-limits.js';
import { sleep } from '../helpers/child-process.js';
import { startRedisServer } from '../helpers/redis-server.js';
import type { RedisServer } from '../helpers/redis-server.js';

const LIMIT = 10;
const POLICIES = `
policies:
  - name: window
    match: { scope: ip, path: /w }
    limit: { algorithm: fixed_window, limit: ${LIMIT}, window: 1h }
  - name: bucket
    match: { scope: ip, path: /b }
    limit: { algorithm: token_bucket, rate: 0.001, burst: ${LIMIT} }
  - name: log
    match: { scope: ip, path: /l }
    limit: { algorithm: sliding_window_log, limit: ${LIMIT}, window: 1h }
`;

interface Replica {
  engine: PolicyEngine;
  limits: RedisPolicyLimits;
  client: Redis;
}

let redis: RedisServer;
const replicas: Replica[] = [];

async function replica(): Promise<Replica> {
  const client = new Redis({
    host: '127.0.0.1',
    port: redis.port,
    enableOfflineQueue: false,
    commandTimeout: 500,
    maxRetriesPerRequest: 0,
    retryStrategy: () => 50,
  });
  client.on('error', () => undefined); // killed on purpose
  if (client.status !== 'ready') await once(client, 'ready');
  const limits = new RedisPolicyLimits(client, {
    keyPrefix: 'rec:',
    breakerCooldownMs: 200,
    replicas: () => 2,
  });
  return { engine: new PolicyEngine(loadPolicySet(POLICIES), limits), limits, client };
}

beforeAll(async () => {
  redis = await startRedisServer();
  replicas.push(await replica(), await replica());
}, 20_000);

afterAll(async () => {
  for (const r of replicas) {
    await r.limits.close();
    r.client.disconnect();
  }
  await redis?.stop();
});

/** Sends `n` requests for `path` from `ip`, alternating replicas; returns how many were allowed. */
async function allowed(path: string, ip: string, n: number): Promise<number> {
  let count = 0;
  for (let i = 0; i < n; i++) {
    const ctx: RequestContext = { method: 'GET', path, headers: {}, ip };
    const e = await replicas[i % 2]!.engine.decide(ctx, Date.now());
    if (e.allowed) count++;
  }
  return count;
}

describe('policy counters after a Redis outage', () => {
  it('are charged with what the replicas allowed locally, so no fresh burst follows', async () => {
    // Shared before the outage: 3 of the limit used through Redis (lost when it restarts empty).
    for (const path of ['/w', '/b', '/l']) expect(await allowed(path, '10.0.0.1', 3)).toBe(3);

    await redis.kill();
    // Each replica holds half the limit while it cannot reach the other.
    for (const path of ['/w', '/b', '/l'])
      expect(await allowed(path, '10.0.0.1', 3 * LIMIT), `${path} during the outage`).toBe(LIMIT);
    expect(replicas.map((r) => r.limits.status.fallback)).toEqual([true, true]);

    await redis.restart();
    const deadline = Date.now() + 10_000;
    while (replicas.some((r) => r.limits.status.fallback) && Date.now() < deadline) await sleep(50);
    expect(replicas.map((r) => r.limits.status.fallback)).toEqual([false, false]);

    // Redis came back empty; the replicas charged the 2 × LIMIT/2 they allowed: nothing is left.
    for (const path of ['/w', '/b', '/l'])
      expect(await allowed(path, '10.0.0.1', LIMIT), `${path} after recovery`).toBe(0);
    // A client that was not seen during the outage has its whole limit.
    expect(await allowed('/w', '10.0.0.2', 2 * LIMIT)).toBe(LIMIT);
  }, 30_000);
});
