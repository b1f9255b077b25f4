// The fallback's breaker in Redis Cluster mode: while one master is down, its tenants' failed round trips
// interleave with other masters' successes, and the replica must still move to its local share. Outside
// Cluster mode a success in between keeps the breaker closed, as before.
import { describe, expect, it } from 'vitest';
import { FallbackRateStore } from '../../../src/stores/fallback-rate-store.js';
import type { RoundTripListener } from '../../../src/lib/redis/circuit-breaker.js';
import type { SharedRateStore } from '../../../src/stores/fallback-rate-store.js';
import type { RateAnswer, RateQuery } from '../../../src/stores/rate-store.js';

const query: RateQuery = {
  requestRate: 0,
  requestBurst: 1,
  ingestionRate: 100,
  ingestionBurst: 100,
  cost: 1,
  requestEnforced: true,
};

/** A shared store whose tenants on the "down" list fail, as those on a dead Cluster master do. */
function clusterLike(down: ReadonlySet<string>): SharedRateStore {
  const listeners: RoundTripListener[] = [];
  return {
    kind: 'redis',
    inFallback: false,
    size: 0,
    onRoundTrip: (l) => listeners.push(l),
    take(tenant: string): Promise<RateAnswer> {
      const ok = !down.has(tenant);
      for (const l of listeners) l(ok, 1, 0.001);
      return ok
        ? Promise.resolve({ requestWaitMs: 0, ingestionWaitMs: 0 })
        : Promise.reject(new Error('CLUSTERDOWN'));
    },
    peek: () => undefined,
    probe: () => Promise.resolve(),
    reconcile: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

async function interleave(failureMemoryMs: number): Promise<FallbackRateStore> {
  let now = 0;
  const store = new FallbackRateStore(clusterLike(new Set(['on-dead-master'])), {
    breakerFailures: 3,
    breakerCooldownMs: 1000,
    replicas: () => 2,
    now: () => now,
    failureMemoryMs,
  });
  for (let i = 0; i < 6; i++) {
    now += 10;
    await store.take('on-live-master', query, now);
    await store.take('on-dead-master', query, now);
  }
  return store;
}

describe('fallback breaker with failure memory (Redis Cluster)', () => {
  it('opens when failures keep coming between successes of other masters', async () => {
    const store = await interleave(1000);
    expect(store.inFallback).toBe(true);
    expect(store.breaker.state).toBe('open');
    await store.close();
  });

  it('stays closed without failure memory, every failed check still answered locally', async () => {
    const store = await interleave(0);
    expect(store.inFallback).toBe(false);
    expect(store.localChecks).toBe(6);
    await store.close();
  });
});
