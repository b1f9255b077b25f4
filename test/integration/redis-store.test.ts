// The Redis store as the service uses it, against a real redis-server: checks of one tick share one
// round trip, Mimir's bucket semantics hold across the batch, a tenant over its limit is answered
// without Redis, and a server that lost our script (SCRIPT FLUSH, restart) is handled without an error.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RateAnswer, RateQuery } from '../../src/stores/rate-store.js';
import { bucketKey } from '../../src/stores/redis/bucket-scripts.js';
import { RedisConnections } from '../../src/lib/redis/redis-connections.js';
import type { RedisClient } from '../../src/lib/redis/redis-connections.js';
import { RedisRateStore } from '../../src/stores/redis/redis-rate-store.js';
import type { RedisSettings } from '../../src/lib/redis/redis-settings.js';
import { startRedisServer } from '../helpers/redis-server.js';
import type { RedisServer } from '../helpers/redis-server.js';

let server: RedisServer;
let client: Redis;
const stores: RedisRateStore[] = [];

function redisSettings(port: number, overrides: Partial<RedisSettings> = {}): RedisSettings {
  return {
    addresses: [{ host: '127.0.0.1', port }],
    mode: 'standalone',
    sentinelMaster: 'mymaster',
    username: '',
    password: '',
    poolSize: 2,
    minIdleConns: 1,
    timeoutMs: 1000,
    keyPrefix: 'store-test:',
    fallback: 'local',
    fallbackReplicas: 0,
    breakerFailures: 3,
    breakerCooldownMs: 1000,
    localCache: true,
    ...overrides,
  };
}

async function newStore(overrides: Partial<RedisSettings> = {}): Promise<RedisRateStore> {
  const s = redisSettings(server.port, overrides);
  const connections = new RedisConnections(s, () => undefined);
  const store = new RedisRateStore(connections, { keyPrefix: s.keyPrefix, localCache: s.localCache });
  stores.push(store);
  expect(await store.ready(5000)).toBe(true);
  return store;
}

/** Disconnects a pool client and resolves once it has closed. */
function closed(c: RedisClient): Promise<void> {
  return new Promise((resolve) => {
    c.once('end', () => resolve());
    c.disconnect();
  });
}

const ingestion = (cost: number): RateQuery => ({
  requestRate: 0,
  requestBurst: 1,
  ingestionRate: 1,
  ingestionBurst: 1000,
  cost,
  requestEnforced: true,
});

beforeAll(async () => {
  server = await startRedisServer();
  client = new Redis({ host: '127.0.0.1', port: server.port });
});

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  client?.disconnect();
  await server?.stop();
});

describe('Redis rate store', () => {
  it('sends the checks of one tick in one round trip and allows exactly the burst', async () => {
    const store = await newStore({ localCache: false });
    const before = store.counters.roundTrips;
    // 250 requests of 10 samples against a burst of 1000 (refill 1/s): exactly 100 fit.
    const answers = await Promise.all(
      Array.from({ length: 250 }, () => store.take('batch-tenant', ingestion(10), Date.now())),
    );
    expect(store.counters.roundTrips - before).toBe(1);
    expect(answers.filter((a) => a.ingestionWaitMs === 0)).toHaveLength(100);
    const denied = answers.filter((a) => a.ingestionWaitMs > 0);
    // A denial says how long until 10 samples have refilled at 1/s: about 10 s.
    expect(Math.min(...denied.map((a) => a.ingestionWaitMs))).toBeGreaterThan(9000);
    const key = bucketKey('store-test:', 'batch-tenant');
    expect(await client.pttl(key)).toBeGreaterThan(0);
  });

  it('sends a large tick as two pipelined calls that together allow exactly the burst', async () => {
    const store = await newStore({ localCache: false });
    const before = store.counters.roundTrips;
    // 600 requests of 10 samples against a burst of 1000: exactly 100 fit, whichever call runs first.
    const answers = await Promise.all(
      Array.from({ length: 600 }, () => store.take('split-tenant', ingestion(10), Date.now())),
    );
    expect(store.counters.roundTrips - before).toBe(2);
    expect(answers.filter((a) => a.ingestionWaitMs === 0)).toHaveLength(100);
  });

  it('answers a tenant already over its limit locally, and asks Redis once refill may cover a request', async () => {
    const store = await newStore();
    const q = (cost: number): RateQuery => ({ ...ingestion(cost), ingestionRate: 1000 });
    await Promise.all(Array.from({ length: 100 }, () => store.take('hot-tenant', q(10), Date.now())));
    const trips = store.counters.roundTrips;
    // At most ~1000 samples/s have refilled since: 500 certainly do not fit.
    const answer = store.take('hot-tenant', q(500), Date.now());
    expect(answer).not.toBeInstanceOf(Promise);
    expect((answer as RateAnswer).ingestionWaitMs).toBeGreaterThan(0);
    expect(store.counters.roundTrips).toBe(trips);
    expect(store.counters.cacheHits).toBe(1);
    await new Promise((r) => setTimeout(r, 30));
    // 30 ms at 1000/s may have refilled 30 samples: 10 might fit, so only Redis can say.
    const asked = store.take('hot-tenant', q(10), Date.now());
    expect(asked).toBeInstanceOf(Promise);
    expect((await asked).ingestionWaitMs).toBe(0);
  });

  it('shares the buckets between two stores (two replicas)', async () => {
    const a = await newStore({ localCache: false });
    const b = await newStore({ localCache: false });
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        (i % 2 === 0 ? a : b).take('shared-tenant', ingestion(10), Date.now()),
      ),
    );
    expect(answers.filter((x) => x.ingestionWaitMs === 0)).toHaveLength(100);
  });

  it('loads the script again after SCRIPT FLUSH and keeps answering', async () => {
    const store = await newStore({ localCache: false });
    await store.take('flush-tenant', ingestion(1), Date.now());
    const reloads = store.counters.scriptReloads;
    await client.script('FLUSH');
    const answer = await store.take('flush-tenant', ingestion(1), Date.now());
    expect(answer.ingestionWaitMs).toBe(0);
    expect(store.counters.scriptReloads).toBe(reloads + 1);
  });

  it('fails fast, without waiting for a timeout, when Redis is gone', async () => {
    const lone = await startRedisServer();
    try {
      const s = redisSettings(lone.port, { timeoutMs: 5000 });
      const store = new RedisRateStore(new RedisConnections(s, () => undefined), {
        keyPrefix: 'gone:',
        localCache: false,
      });
      stores.push(store);
      expect(await store.ready(5000)).toBe(true);
      await lone.kill();
      const started = Date.now();
      await expect(store.take('t', ingestion(1), Date.now())).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      await lone.stop();
    }
  });

  it('probes and reconciles recovery through whichever pool connection is back, not only the first', async () => {
    const s = redisSettings(server.port, { poolSize: 2, minIdleConns: 2, keyPrefix: 'probe-any:' });
    const connections = new RedisConnections(s, () => undefined);
    const store = new RedisRateStore(connections, { keyPrefix: s.keyPrefix, localCache: false });
    stores.push(store);
    const deadline = Date.now() + 5000;
    while (!connections.clients.every((c) => c.status === 'ready')) {
      if (Date.now() > deadline) throw new Error('the pool did not open both connections');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // The first connection is still away (as while it waits out its reconnect delay after a failover).
    await closed(connections.clients[0]!);
    await store.probe();
    expect((await store.take('t', ingestion(10), Date.now())).ingestionWaitMs).toBe(0);
    await store.reconcile([{ tenant: 't', query: ingestion(10), requestCeiling: -1, ingestionCeiling: 0 }]);
    // The reconcile reached Redis: the bucket was lowered to empty, so the next take must wait.
    expect((await store.take('t', ingestion(10), Date.now())).ingestionWaitMs).toBeGreaterThan(0);
    await closed(connections.clients[1]!);
    await expect(store.probe()).rejects.toThrow();
  });
});
