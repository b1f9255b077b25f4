// The store against a real 3-master Redis Cluster (each master with a replica): tenants spread over the
// masters keep exact buckets, and when the master holding a tenant's slot is killed, checks keep being
// answered (local share meanwhile) and return to the shared bucket once its replica has taken over.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FallbackRateStore } from '../../src/stores/fallback-rate-store.js';
import type { RateQuery } from '../../src/stores/rate-store.js';
import { bucketKey } from '../../src/stores/redis/bucket-scripts.js';
import { RedisConnections } from '../../src/lib/redis/redis-connections.js';
import { RedisRateStore } from '../../src/stores/redis/redis-rate-store.js';
import type { RedisSettings } from '../../src/lib/redis/redis-settings.js';
import { sleep } from '../helpers/child-process.js';
import { startRedisCluster } from '../helpers/redis-server.js';
import type { RedisCluster } from '../helpers/redis-server.js';

let cluster: RedisCluster;
let shared: RedisRateStore;
let store: FallbackRateStore;

const q = (cost: number): RateQuery => ({
  requestRate: 0,
  requestBurst: 1,
  ingestionRate: 1,
  ingestionBurst: 1000,
  cost,
  requestEnforced: true,
});

beforeAll(async () => {
  cluster = await startRedisCluster(3, 1);
  const settings: RedisSettings = {
    addresses: cluster.seeds.split(',').map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) })),
    mode: 'cluster',
    sentinelMaster: 'mymaster',
    username: '',
    password: '',
    poolSize: 1,
    minIdleConns: 1,
    timeoutMs: 500,
    keyPrefix: 'cluster-test:',
    fallback: 'local',
    fallbackReplicas: 1,
    breakerFailures: 3,
    breakerCooldownMs: 300,
    localCache: false,
  };
  shared = new RedisRateStore(new RedisConnections(settings, () => undefined), {
    keyPrefix: settings.keyPrefix,
    localCache: false,
  });
  store = new FallbackRateStore(shared, {
    breakerFailures: 3,
    breakerCooldownMs: 300,
    replicas: () => 1,
    now: Date.now,
  });
  expect(await shared.ready(10_000)).toBe(true);
}, 120_000);

afterAll(async () => {
  await store?.close();
  await cluster?.stop();
});

describe('Redis Cluster', () => {
  it('keeps every tenant exact whichever master holds it', async () => {
    const tenants = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];
    const masters = new Set<number>();
    for (const t of tenants) masters.add((await cluster.masterFor(bucketKey('cluster-test:', t))).port);
    expect(masters.size, 'the tenants are spread over several masters').toBeGreaterThan(1);
    const answers = await Promise.all(
      tenants.flatMap((t) => Array.from({ length: 150 }, () => store.take(t, q(10), Date.now()))),
    );
    // Each tenant: burst 1000, 10 per request → exactly 100 of its 150 pass.
    expect(answers.filter((a) => a.ingestionWaitMs === 0)).toHaveLength(100 * tenants.length);
  });

  it('keeps answering through a master failover and returns to the shared bucket', async () => {
    const key = bucketKey('cluster-test:', 'failover');
    await store.take('failover', q(1), Date.now());
    const master = await cluster.masterFor(key);
    await master.kill();
    const failures: string[] = [];
    const deadline = Date.now() + 20_000;
    let sharedAgain = false;
    while (Date.now() < deadline) {
      try {
        await store.take('failover', q(1), Date.now());
      } catch (err) {
        failures.push((err as Error).message);
      }
      const before = shared.counters.checks;
      if (!store.inFallback) {
        await store.take('failover', q(1), Date.now());
        if (shared.counters.checks > before) {
          const newMaster = await cluster.masterFor(key).catch(() => undefined);
          if (newMaster && newMaster.port !== master.port) {
            sharedAgain = true;
            break;
          }
        }
      }
      await sleep(50);
    }
    expect(failures, 'no check failed').toEqual([]);
    expect(sharedAgain, 'back on the shared bucket after the replica took over').toBe(true);
  }, 40_000);
});
