// Property tests of the token bucket: Mimir's guarantee (over any interval, allowed cost ≤ burst + rate × time),
// no over-denial (a request that fits is allowed), and the retry hint is truthful.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newTokenBucket, takeTokens } from '../../../../src/lib/engine/token-bucket.js';

const scenario = fc.record({
  rate: fc.double({ min: 0.5, max: 10_000, noNaN: true }),
  burst: fc.integer({ min: 1, max: 100_000 }),
  steps: fc.array(
    fc.record({ dtMs: fc.integer({ min: 0, max: 5_000 }), cost: fc.integer({ min: 1, max: 120_000 }) }),
    {
      minLength: 1,
      maxLength: 200,
    },
  ),
});

describe('token bucket (property)', () => {
  it('never allows more than burst + rate × elapsed over any window', () => {
    fc.assert(
      fc.property(scenario, ({ rate, burst, steps }) => {
        const state = newTokenBucket(burst, 0);
        let t = 0;
        const allowed: { t: number; cost: number }[] = [];
        for (const s of steps) {
          t += s.dtMs;
          if (takeTokens(state, rate, burst, s.cost, t) === 0) allowed.push({ t, cost: s.cost });
        }
        // Every window [allowed[i].t, allowed[j].t].
        for (let i = 0; i < allowed.length; i++) {
          let sum = 0;
          for (let j = i; j < allowed.length; j++) {
            sum += allowed[j]!.cost;
            const bound = burst + (rate * (allowed[j]!.t - allowed[i]!.t)) / 1000;
            expect(sum).toBeLessThanOrEqual(bound + 1e-6 * bound);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('allows a request as soon as the retry hint has passed, and never before the bucket holds its cost', () => {
    fc.assert(
      fc.property(scenario, ({ rate, burst, steps }) => {
        const state = newTokenBucket(burst, 0);
        let t = 0;
        for (const s of steps) {
          t += s.dtMs;
          const before = { ...state };
          const wait = takeTokens(state, rate, burst, s.cost, t);
          if (wait === 0) continue;
          if (s.cost > burst) {
            expect(wait).toBe(Infinity);
            continue;
          }
          // Denied: nothing consumed, and after `wait` the same request passes.
          expect(state.tokens).toBeGreaterThanOrEqual(before.tokens - 1e-9);
          const probe = { ...state };
          expect(takeTokens(probe, rate, burst, s.cost, t + Math.ceil(wait) + 1)).toBe(0);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('starts full, as Mimir’s limiter does: the first burst passes at once', () => {
    const state = newTokenBucket(1000, 0);
    expect(takeTokens(state, 10, 1000, 1000, 0)).toBe(0);
    expect(takeTokens(state, 10, 1000, 1, 0)).toBeGreaterThan(0);
  });

  it('a cost above the burst can never pass, however long the sender waits', () => {
    const state = newTokenBucket(100, 0);
    expect(takeTokens(state, 1_000_000, 100, 101, 10_000_000)).toBe(Infinity);
  });
});
