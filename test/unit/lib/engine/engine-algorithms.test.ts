// Property tests of every algorithm's guarantee, driven by fast-check with time passed in: the bound each
// one promises over any interval or window, that a denial consumes nothing, that the retry hint is
// truthful, and that peek() predicts check() without changing anything.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../../src/index.js';
import type { AlgorithmSpec, RateDecision } from '../../../../src/index.js';
import { newTokenBucket, takeTokens } from '../../../../src/lib/engine/token-bucket.js';

interface Step {
  dtMs: number;
  cost: number;
}

const steps = (maxCost: number, maxDt = 2_000): fc.Arbitrary<Step[]> =>
  fc.array(
    fc.record({ dtMs: fc.integer({ min: 0, max: maxDt }), cost: fc.integer({ min: 0, max: maxCost }) }),
    {
      minLength: 1,
      maxLength: 150,
    },
  );

const T0 = 1_700_000_000_000;

/** Runs `steps` against one key; returns the allowed (time, cost) pairs and every decision. */
function run(
  limiter: RateLimiter,
  s: Step[],
): { allowed: { t: number; cost: number }[]; decisions: RateDecision[] } {
  let t = T0;
  const allowed: { t: number; cost: number }[] = [];
  const decisions: RateDecision[] = [];
  for (const { dtMs, cost } of s) {
    t += dtMs;
    const d = limiter.check('k', t, cost);
    decisions.push({ ...d });
    if (d.allowed && cost > 0) allowed.push({ t, cost });
  }
  return { allowed, decisions };
}

/** Largest total cost allowed within any span of `spanMs` (start inclusive, end exclusive). */
function maxInSpan(allowed: { t: number; cost: number }[], spanMs: number): number {
  let best = 0;
  let sum = 0;
  let lo = 0;
  for (let hi = 0; hi < allowed.length; hi++) {
    sum += allowed[hi]!.cost;
    while (allowed[hi]!.t - allowed[lo]!.t >= spanMs) sum -= allowed[lo++]!.cost;
    if (sum > best) best = sum;
  }
  return best;
}

/** Checks allowed cost ≤ burst + rate × (t_j − t_i) for every pair of allowed requests i ≤ j. */
function expectRateBound(allowed: { t: number; cost: number }[], burst: number, perMs: number): void {
  for (let i = 0; i < allowed.length; i++) {
    let sum = 0;
    for (let j = i; j < allowed.length; j++) {
      sum += allowed[j]!.cost;
      const bound = burst + perMs * (allowed[j]!.t - allowed[i]!.t);
      expect(sum, `allowed ${sum} units between ${allowed[i]!.t} and ${allowed[j]!.t}`).toBeLessThanOrEqual(
        bound * (1 + 1e-9) + 1e-9,
      );
    }
  }
}

describe('token bucket, GCRA and leaky bucket (property)', () => {
  const params = fc.record({
    rate: fc.integer({ min: 1, max: 1000 }),
    burst: fc.integer({ min: 1, max: 200 }),
  });

  it('never allow more than burst + rate × elapsed over any interval', () => {
    fc.assert(
      fc.property(params, steps(250), ({ rate, burst }, s) => {
        const specs: AlgorithmSpec[] = [
          { algorithm: 'token_bucket', rate, burst },
          { algorithm: 'gcra', limit: rate, period: 1000, burst },
          { algorithm: 'leaky_bucket', rate, capacity: burst },
        ];
        for (const spec of specs) expectRateBound(run(new RateLimiter(spec), s).allowed, burst, rate / 1000);
      }),
      { numRuns: 200 },
    );
  });

  it('the library token bucket decides exactly as the service’s Mimir bucket does', () => {
    fc.assert(
      fc.property(params, steps(250), ({ rate, burst }, s) => {
        const limiter = new RateLimiter({ algorithm: 'token_bucket', rate, burst });
        const state = newTokenBucket(burst, T0);
        let t = T0;
        for (const { dtMs, cost } of s) {
          t += dtMs;
          const wait = takeTokens(state, rate, burst, cost, t);
          const d = limiter.check('k', t, cost);
          expect(d.allowed).toBe(wait === 0);
          // The same wait, up to the padding that makes the hint robust to rounding (well under 1 ms).
          if (d.allowed) continue;
          if (wait === Infinity) expect(d.retryAfterMs).toBe(Infinity);
          else expect(Math.abs(d.retryAfterMs - wait)).toBeLessThan(1e-3);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('GCRA and the token bucket agree on every decision for the same rate and burst', () => {
    fc.assert(
      fc.property(params, steps(250), ({ rate, burst }, s) => {
        const a = run(new RateLimiter({ algorithm: 'token_bucket', rate, burst }), s).decisions;
        const b = run(new RateLimiter({ algorithm: 'gcra', limit: rate, period: '1s', burst }), s).decisions;
        // Rounding differs in the last bits; disagreement is only allowed at an exact boundary.
        const differ = a.filter((d, i) => d.allowed !== b[i]!.allowed).length;
        expect(differ).toBeLessThanOrEqual(1);
      }),
      { numRuns: 200 },
    );
  });
});

describe('window algorithms (property)', () => {
  const params = fc.record({
    limit: fc.integer({ min: 1, max: 50 }),
    windowMs: fc.integer({ min: 10, max: 5_000 }),
  });

  it('fixed window: never more than limit in one aligned window', () => {
    fc.assert(
      fc.property(params, steps(60), ({ limit, windowMs }, s) => {
        const { allowed } = run(new RateLimiter({ algorithm: 'fixed_window', limit, window: windowMs }), s);
        const perWindow = new Map<number, number>();
        for (const a of allowed) {
          const w = Math.floor(a.t / windowMs);
          perWindow.set(w, (perWindow.get(w) ?? 0) + a.cost);
        }
        for (const total of perWindow.values()) expect(total).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 300 },
    );
  });

  it('sliding window log: never more than limit in any window, and never denies what fits', () => {
    fc.assert(
      fc.property(params, steps(60), ({ limit, windowMs }, s) => {
        const { allowed, decisions } = run(
          new RateLimiter({ algorithm: 'sliding_window_log', limit, window: windowMs }),
          s,
        );
        expect(maxInSpan(allowed, windowMs)).toBeLessThanOrEqual(limit);
        // Exactness: replay and check each denial against the true count in (t − window, t].
        let t = T0;
        const history: { t: number; cost: number }[] = [];
        s.forEach(({ dtMs, cost }, i) => {
          t += dtMs;
          const inWindow = history.filter((h) => h.t > t - windowMs).reduce((x, h) => x + h.cost, 0);
          expect(decisions[i]!.allowed).toBe(inWindow + cost <= limit);
          if (decisions[i]!.allowed && cost > 0) history.push({ t, cost });
        });
      }),
      { numRuns: 300 },
    );
  });

  it('sliding window counter: never more than limit in one aligned window', () => {
    fc.assert(
      fc.property(params, steps(60), ({ limit, windowMs }, s) => {
        const { allowed } = run(
          new RateLimiter({ algorithm: 'sliding_window_counter', limit, window: windowMs }),
          s,
        );
        const perWindow = new Map<number, number>();
        for (const a of allowed) {
          const w = Math.floor(a.t / windowMs);
          perWindow.set(w, (perWindow.get(w) ?? 0) + a.cost);
        }
        for (const total of perWindow.values()) expect(total).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 300 },
    );
  });
});

describe('concurrency limit (property)', () => {
  it('never has more than limit in flight, and frees units on release', () => {
    const ops = fc.array(fc.oneof(fc.constant('start' as const), fc.constant('finish' as const)), {
      maxLength: 200,
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), ops, (limit, sequence) => {
        const limiter = new RateLimiter({ algorithm: 'concurrency', limit });
        let inFlight = 0;
        let t = T0;
        for (const op of sequence) {
          t += 1;
          if (op === 'start') {
            const d = limiter.check('k', t);
            expect(d.allowed).toBe(inFlight < limit);
            if (d.allowed) inFlight++;
            expect(d.remaining).toBe(limit - inFlight);
          } else if (inFlight > 0) {
            limiter.release('k', t);
            inFlight--;
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a key whose releases were lost is freed once its lease has passed', () => {
    const limiter = new RateLimiter({ algorithm: 'concurrency', limit: 1, lease: '1m' });
    expect(limiter.check('k', T0).allowed).toBe(true);
    expect(limiter.check('k', T0 + 1000).allowed).toBe(false);
    expect(limiter.sweep(T0 + 61_000)).toBe(1);
    expect(limiter.check('k', T0 + 61_000).allowed).toBe(true);
  });
});

const ALL_SPECS: AlgorithmSpec[] = [
  { algorithm: 'token_bucket', rate: 5, burst: 10 },
  { algorithm: 'gcra', limit: 5, period: '1s', burst: 10 },
  { algorithm: 'fixed_window', limit: 10, window: '2s' },
  { algorithm: 'sliding_window_counter', limit: 10, window: '2s' },
  { algorithm: 'sliding_window_log', limit: 10, window: '2s' },
  { algorithm: 'leaky_bucket', rate: 5, capacity: 10 },
  { algorithm: 'calendar_quota', limit: 10, period: 'hour', time_zone: 'Europe/Paris' },
];

describe('every algorithm (property)', () => {
  for (const spec of ALL_SPECS) {
    describe(spec.algorithm, () => {
      it('a denial consumes nothing, and the retry hint is truthful', () => {
        fc.assert(
          fc.property(steps(12, 600), (s) => {
            const limiter = new RateLimiter(spec);
            let t = T0;
            for (const { dtMs, cost } of s) {
              t += dtMs;
              const before = limiter.peek('k', t, cost);
              const d = limiter.check('k', t, cost);
              expect(d.allowed).toBe(before.allowed);
              if (d.allowed) continue;
              expect(limiter.peek('k', t, cost).remaining).toBe(before.remaining);
              if (cost > d.limit) {
                expect(d.retryAfterMs).toBe(Infinity);
                continue;
              }
              expect(d.retryAfterMs).toBeGreaterThan(0);
              expect(
                limiter.peek('k', t + Math.ceil(d.retryAfterMs), cost).allowed,
                'allowed after the hint',
              ).toBe(true);
            }
          }),
          { numRuns: 150 },
        );
      });

      it('sweeping at any moment never changes a decision', () => {
        fc.assert(
          fc.property(
            steps(12, 3_000),
            fc.array(fc.boolean(), { minLength: 150, maxLength: 150 }),
            (s, sweeps) => {
              const plain = new RateLimiter(spec);
              const swept = new RateLimiter(spec);
              let t = T0;
              s.forEach(({ dtMs, cost }, i) => {
                t += dtMs;
                if (sweeps[i]) swept.sweep(t);
                const a = plain.check('k', t, cost);
                const b = swept.check('k', t, cost);
                expect(b.allowed).toBe(a.allowed);
                expect(b.remaining).toBe(a.remaining);
              });
            },
          ),
          { numRuns: 150 },
        );
      });

      it('peek() predicts check() and changes nothing', () => {
        fc.assert(
          fc.property(steps(12, 600), (s) => {
            const limiter = new RateLimiter(spec);
            let t = T0;
            for (const { dtMs, cost } of s) {
              t += dtMs;
              const p1 = { ...limiter.peek('k', t, cost) };
              const p2 = { ...limiter.peek('k', t, cost) };
              expect(p2).toEqual(p1);
              expect({ ...limiter.check('k', t, cost) }).toEqual(p1);
            }
          }),
          { numRuns: 100 },
        );
      });
    });
  }
});
