// The local over-limit cache only ever denies what the shared bucket would deny: whatever other replicas
// take meanwhile, and however late answers arrive, a cached denial is never a request Redis would allow.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newTokenBucket, refill, takeTokens } from '../../../src/lib/engine/token-bucket.js';
import type { RateQuery } from '../../../src/stores/rate-store.js';
import { OverLimitCache } from '../../../src/stores/redis/over-limit-cache.js';

const limits = fc.record({
  ingestionRate: fc.integer({ min: 1, max: 1000 }),
  ingestionBurst: fc.integer({ min: 1, max: 2000 }),
  requestRate: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 })),
  requestBurst: fc.integer({ min: 1, max: 10 }),
  requestEnforced: fc.boolean(),
});

describe('over-limit cache', () => {
  it('never denies a request the shared bucket would allow', () => {
    fc.assert(
      fc.property(
        limits,
        fc.array(
          fc.record({
            stepMs: fc.integer({ min: 0, max: 500 }),
            // Our own request (answered by the "Redis" bucket unless the cache answers) or another replica's.
            ours: fc.boolean(),
            cost: fc.integer({ min: 1, max: 2500 }),
            // Request tokens in one take (a ShouldRateLimit hits_addend), sometimes above the burst.
            requests: fc.integer({ min: 1, max: 12 }),
            // Redis runs our question this many ms after we sent it.
            delayMs: fc.integer({ min: 0, max: 50 }),
          }),
          { minLength: 1, maxLength: 80 },
        ),
        (l, ops) => {
          const cache = new OverLimitCache(10);
          let now = 0;
          const ing = newTokenBucket(l.ingestionBurst, 0);
          const req = newTokenBucket(l.requestBurst, 0);
          for (const op of ops) {
            now += op.stepMs;
            const q: RateQuery = { ...l, cost: op.cost, requests: op.requests };
            if (op.ours) {
              const cached = cache.answer('t', q, now);
              if (cached !== undefined) {
                // What Redis would have said right now (peek without taking).
                refill(ing, l.ingestionRate, l.ingestionBurst, now);
                refill(req, l.requestRate, l.requestBurst, now);
                const requestWouldPass = l.requestRate <= 0 || req.tokens >= op.requests;
                const ingestionWouldPass = op.cost <= ing.tokens;
                if (l.requestRate > 0 && cached.requestWaitMs > 0) expect(requestWouldPass).toBe(false);
                if (cached.ingestionWaitMs > 0) expect(ingestionWouldPass).toBe(false);
                expect(cached.requestWaitMs > 0 || cached.ingestionWaitMs > 0).toBe(true);
                continue;
              }
              // Sent now, run by Redis `delayMs` later; the level reported is the one after the take.
              const ranAt = now + op.delayMs;
              let reqLevel = -1;
              let ingLevel = -1;
              let skip = false;
              if (l.requestRate > 0) {
                const w = takeTokens(req, l.requestRate, l.requestBurst, op.requests, ranAt);
                reqLevel = req.tokens;
                skip = w > 0 && l.requestEnforced;
              }
              if (!skip) {
                takeTokens(ing, l.ingestionRate, l.ingestionBurst, op.cost, ranAt);
                ingLevel = ing.tokens;
              }
              cache.record('t', q, reqLevel, ingLevel, now);
              now = ranAt;
            } else {
              takeTokens(ing, l.ingestionRate, l.ingestionBurst, op.cost, now);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('forgets its bound when the limits change', () => {
    const cache = new OverLimitCache(10);
    const q: RateQuery = {
      requestRate: 0,
      requestBurst: 1,
      ingestionRate: 10,
      ingestionBurst: 100,
      cost: 50,
      requestEnforced: true,
    };
    cache.record('t', q, -1, 0, 0);
    expect(cache.answer('t', q, 0)?.ingestionWaitMs).toBe(5000);
    expect(cache.answer('t', { ...q, ingestionBurst: 200 }, 0)).toBeUndefined();
  });

  it('drops bounds that have refilled to the burst', () => {
    const cache = new OverLimitCache(10);
    const q: RateQuery = {
      requestRate: 0,
      requestBurst: 1,
      ingestionRate: 10,
      ingestionBurst: 100,
      cost: 50,
      requestEnforced: true,
    };
    cache.record('t', q, -1, 0, 0);
    expect(cache.sweep(5_000)).toBe(0);
    expect(cache.sweep(10_000)).toBe(1);
    expect(cache.size).toBe(0);
  });
});
