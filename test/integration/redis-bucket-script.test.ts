// The Lua token bucket against a real redis-server gives exactly the answers of the in-process bucket
// (Mimir's semantics) for any sequence of takes, limits and clock steps; keys carry hash tags and TTLs.
import { Redis } from 'ioredis';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessRateStore } from '../../src/stores/in-process-rate-store.js';
import type { RateAnswer, RateQuery } from '../../src/stores/rate-store.js';
import {
  MAX_TTL_MS,
  TAKE_SCRIPT_WITH_CLOCK_ARGUMENT,
  bucketKey,
  decodeBucketState,
  encodeTakeBatch,
  readTakeReply,
} from '../../src/stores/redis/bucket-scripts.js';
import { startRedisServer } from '../helpers/redis-server.js';
import type { RedisServer } from '../helpers/redis-server.js';

let server: RedisServer;
let client: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  client = new Redis({ host: '127.0.0.1', port: server.port, lazyConnect: true });
  await client.connect();
});

afterAll(async () => {
  client?.disconnect();
  await server?.stop();
});

/** Runs the take script for `items` at Redis-side time `nowMs` (the test clock). */
async function takeInRedis(
  prefix: string,
  items: readonly { tenant: string; q: RateQuery }[],
  nowMs: number,
): Promise<RateAnswer[]> {
  const { keys, blob } = encodeTakeBatch(
    prefix,
    items.map((i) => ({ tenant: i.tenant, query: i.q })),
  );
  const reply = (await client.callBuffer('EVAL', [
    TAKE_SCRIPT_WITH_CLOCK_ARGUMENT,
    keys.length,
    ...keys,
    blob,
    String(nowMs),
  ])) as Buffer;
  return items.map((_, i) => {
    const r = readTakeReply(reply, i);
    return { requestWaitMs: r.requestWaitMs, ingestionWaitMs: r.ingestionWaitMs };
  });
}

/** The in-process answer as the script reports it: whole milliseconds, rounded up, at least 1 when denied. */
function asReported(a: RateAnswer): RateAnswer {
  const r = (w: number) => (w === 0 || w === Infinity ? w : Math.max(1, Math.ceil(w)));
  return { requestWaitMs: r(a.requestWaitMs), ingestionWaitMs: r(a.ingestionWaitMs) };
}

const query = fc.record({
  requestRate: fc.oneof(
    fc.constant(0),
    fc.integer({ min: 1, max: 50 }),
    fc.double({ min: 0.5, max: 20, noNaN: true }),
  ),
  requestBurst: fc.integer({ min: 1, max: 20 }),
  ingestionRate: fc.oneof(
    fc.constant(0),
    fc.integer({ min: 1, max: 5000 }),
    fc.double({ min: 0.1, max: 100, noNaN: true }),
  ),
  ingestionBurst: fc.integer({ min: 1, max: 10_000 }),
  cost: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3000 })),
  requestEnforced: fc.boolean(),
  // Request tokens in one take (a ShouldRateLimit hits_addend), sometimes above the burst.
  requests: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 30 })),
});

let run = 0;

describe('Redis token bucket script', () => {
  it('answers every sequence of takes exactly as the in-process bucket does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            tenant: fc.integer({ min: 0, max: 2 }),
            q: query,
            stepMs: fc.oneof(
              fc.constant(0),
              fc.integer({ min: 1, max: 3000 }),
              fc.double({ min: 0, max: 50, noNaN: true }),
            ),
            batch: fc.integer({ min: 1, max: 3 }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        async (ops) => {
          const prefix = `prop${run++}:`;
          const local = new InProcessRateStore();
          let now = 1_700_000_000_000;
          for (const op of ops) {
            now += op.stepMs;
            // Several takes of one tenant in one script call (a batch) must equal the same takes in order.
            const items = Array.from({ length: op.batch }, () => ({ tenant: `t${op.tenant}`, q: op.q }));
            const fromRedis = await takeInRedis(prefix, items, now);
            for (let i = 0; i < items.length; i++) {
              const expected = asReported(local.take(items[i]!.tenant, op.q, now));
              expect(fromRedis[i], `take ${i} of ${JSON.stringify(op)} at ${now}`).toEqual(expected);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('hash-tags the tenant and lets its key expire once the bucket would be full again', async () => {
    const q: RateQuery = {
      requestRate: 2,
      requestBurst: 4,
      ingestionRate: 100,
      ingestionBurst: 1000,
      cost: 10,
      requestEnforced: true,
    };
    const key = bucketKey('ttl:', 'team-a');
    expect(key).toBe('ttl:{team-a}:tb');
    await takeInRedis('ttl:', [{ tenant: 'team-a', q }], Date.now());
    const ttl = await client.pttl(key);
    // Refill to full takes max(4/2, 1000/100) = 10 s; one more second of slack.
    expect(ttl).toBeGreaterThan(10_000);
    expect(ttl).toBeLessThanOrEqual(11_000);

    await takeInRedis(
      'ttl:',
      [{ tenant: 'never-refills', q: { ...q, requestRate: 0, ingestionRate: 0 } }],
      Date.now(),
    );
    expect(await client.pttl(bucketKey('ttl:', 'never-refills'))).toBeLessThanOrEqual(MAX_TTL_MS);
  });

  it('consumes nothing when the take is denied', async () => {
    const q: RateQuery = {
      requestRate: 0,
      requestBurst: 1,
      ingestionRate: 10,
      ingestionBurst: 100,
      cost: 500,
      requestEnforced: true,
    };
    const [a] = await takeInRedis('deny:', [{ tenant: 'big', q }], Date.now());
    expect(a!.ingestionWaitMs).toBe(Infinity);
    const stored = await client.getBuffer(bucketKey('deny:', 'big'));
    expect(decodeBucketState(stored!).ingestionTokens).toBe(100);
  });
});
