// Near-global mode against a real redis-server: three replicas (stores with their own connections)
// drive one hot tenant at once. Below the limit almost every check is answered from the local share
// with no round trip; above it, the fleet allows what the exact limit allows over the run (timed on
// Redis's clock) plus at most the documented bound, burst + rate × (sync interval + round trip).
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NearGlobalRateStore } from '../../src/stores/near-global-rate-store.js';
import type { RateQuery } from '../../src/stores/rate-store.js';
import { bucketKey, decodeBucketState } from '../../src/stores/redis/bucket-scripts.js';
import { RedisConnections } from '../../src/lib/redis/redis-connections.js';
import { RedisRateStore } from '../../src/stores/redis/redis-rate-store.js';
import { startRedisServer } from '../helpers/redis-server.js';
import type { RedisServer } from '../helpers/redis-server.js';

const SYNC_MS = 10;
const RATE = 20_000;
const BURST = 20_000;
const COST = 10;

let server: RedisServer;
let admin: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  admin = new Redis({ host: '127.0.0.1', port: server.port });
});

afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});

async function replicas(prefix: string): Promise<NearGlobalRateStore[]> {
  const out: NearGlobalRateStore[] = [];
  for (let i = 0; i < 3; i++) {
    const connections = new RedisConnections(
      {
        addresses: [{ host: '127.0.0.1', port: server.port }],
        mode: 'standalone',
        sentinelMaster: 'mymaster',
        username: '',
        password: '',
        poolSize: 2,
        minIdleConns: 2,
        timeoutMs: 5000,
        keyPrefix: prefix,
        fallback: 'none',
        fallbackReplicas: 3,
        breakerFailures: 3,
        breakerCooldownMs: 1000,
        localCache: true,
      },
      () => undefined,
    );
    const exact = new RedisRateStore(connections, { keyPrefix: prefix, localCache: true });
    expect(await exact.ready(5000)).toBe(true);
    out.push(
      new NearGlobalRateStore(exact, {
        tenants: ['hot'],
        syncMs: SYNC_MS,
        replicas: () => 3,
        now: () => performance.now(),
      }),
    );
  }
  return out;
}

const query: RateQuery = {
  requestRate: 0,
  requestBurst: 1,
  ingestionRate: RATE,
  ingestionBurst: BURST,
  cost: COST,
  requestEnforced: true,
};

/** Each replica offers `perReplicaPerS` samples/s in 1 ms ticks for `ms`; returns samples allowed. */
async function drive(stores: NearGlobalRateStore[], perReplicaPerS: number, ms: number): Promise<number> {
  let allowed = 0;
  const perTick = Math.max(1, Math.round(perReplicaPerS / 1000 / COST));
  const end = performance.now() + ms;
  const started = performance.now();
  let ticks = 0;
  while (performance.now() < end) {
    // Paced by elapsed time, so a stalled machine does not lower the offered load.
    const due = Math.floor(performance.now() - started) - ticks;
    ticks += due;
    const answers = [];
    for (let t = 0; t < due; t++)
      for (const s of stores)
        for (let i = 0; i < perTick; i++) answers.push(s.take('hot', query, Date.now()));
    for (const a of await Promise.all(answers)) if (a.ingestionWaitMs === 0) allowed += COST;
    await new Promise((r) => setTimeout(r, 1));
  }
  return allowed;
}

describe('near-global mode on Redis, three replicas', () => {
  it('answers a tenant below its limit locally, and holds the fleet to the limit plus the bound above it', async () => {
    const stores = await replicas('ng:');
    // Below the limit (half of it): allowed in full, mostly without a round trip.
    const below = await drive(stores, RATE / 6, 1500);
    const local = stores.reduce((a, s) => a + s.localChecks, 0);
    expect(below).toBeGreaterThan(0);
    expect(local, 'checks answered from the local share').toBeGreaterThan(0.8 * (below / COST));

    // Above the limit (2× it), measured on Redis's clock between two syncs.
    const key = bucketKey('ng:', 'hot');
    const start = decodeBucketState((await admin.getBuffer(key))!);
    const allowed = await drive(stores, (2 * RATE) / 3, 3000);
    await Promise.all(stores.map((s) => s.close()));
    const end = decodeBucketState((await admin.getBuffer(key))!);
    const runMs = end.ingestionUpdatedMs - start.ingestionUpdatedMs;
    // Whatever the bucket held at the start, plus refill, minus what it holds (or owes) at the end.
    const limitAllows = start.ingestionTokens + (RATE * runMs) / 1000 - Math.min(end.ingestionTokens, BURST);
    const overAdmitted = allowed - (limitAllows + Math.min(0, end.ingestionTokens));
    const bound = BURST + RATE * ((SYNC_MS + 50) / 1000);
    const detail = `allowed ${allowed} samples over ${runMs.toFixed(0)} ms (Redis clock); the exact limit allows ${(limitAllows + Math.min(0, end.ingestionTokens)).toFixed(0)}; over-admitted ${overAdmitted.toFixed(0)} (${((100 * overAdmitted) / (BURST + (RATE * runMs) / 1000)).toFixed(2)}% of burst + rate × run), debt left ${Math.min(0, end.ingestionTokens).toFixed(0)}`;
    process.stderr.write(`near-global accuracy: ${detail}\n`);
    expect(runMs).toBeGreaterThan(2000);
    expect(allowed, detail).toBeLessThanOrEqual(limitAllows + bound);
    expect(allowed, detail).toBeGreaterThanOrEqual(0.95 * (limitAllows + Math.min(0, end.ingestionTokens)));
  }, 60_000);
});
