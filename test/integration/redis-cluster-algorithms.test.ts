// The engine's algorithms on a real 3-master Redis Cluster: keys spread over the masters, each check's
// key stays on one slot (its hash tag), and limits hold exactly, as on one server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlgorithmSpec } from '../../src/lib/engine/algorithm-spec.js';
import { RedisConnections } from '../../src/lib/redis/redis-connections.js';
import type { RedisSettings } from '../../src/lib/redis/redis-settings.js';
import { SharedRateLimiter } from '../../src/lib/redis/shared-rate-limiter.js';
import { startRedisCluster } from '../helpers/redis-server.js';
import type { RedisCluster } from '../helpers/redis-server.js';

let cluster: RedisCluster;
let connections: RedisConnections;

beforeAll(async () => {
  cluster = await startRedisCluster(3, 0);
  const settings: RedisSettings = {
    addresses: cluster.seeds.split(',').map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) })),
    mode: 'cluster',
    sentinelMaster: 'mymaster',
    username: '',
    password: '',
    poolSize: 1,
    minIdleConns: 1,
    timeoutMs: 2000,
    keyPrefix: 'c:',
    fallback: 'local',
    fallbackReplicas: 1,
    breakerFailures: 3,
    breakerCooldownMs: 1000,
    localCache: false,
  };
  connections = new RedisConnections(settings, () => undefined);
  expect(await connections.waitReady(10_000)).toBe(true);
}, 60_000);

afterAll(async () => {
  await connections?.close();
  await cluster?.stop();
});

describe('shared limiter on Redis Cluster', () => {
  const specs: AlgorithmSpec[] = [
    { algorithm: 'gcra', limit: 7, period: '1h' },
    { algorithm: 'sliding_window_log', limit: 7, window: '1h' },
    { algorithm: 'concurrency', limit: 7 },
  ];
  for (const spec of specs) {
    it(`${spec.algorithm}: each of 12 keys (spread over the masters) allows exactly its limit`, async () => {
      const limiter = new SharedRateLimiter(spec, connections, { name: 'cl', keyPrefix: 'c:' });
      const keys = Array.from({ length: 12 }, (_, i) => `user-${i}`);
      const masters = new Set(
        await Promise.all(keys.map(async (k) => (await cluster.masterFor(limiter.redisKey(k))).port)),
      );
      expect(masters.size, 'the keys should land on more than one master').toBeGreaterThan(1);
      const decisions = await Promise.all(
        keys.flatMap((k) => Array.from({ length: 10 }, () => limiter.check(k).then((d) => [k, d] as const))),
      );
      for (const k of keys) {
        const allowed = decisions.filter(([key, d]) => key === k && d.allowed).length;
        expect(allowed, `${k}: ${allowed} allowed against a limit of 7`).toBe(7);
      }
    }, 30_000);
  }
});
