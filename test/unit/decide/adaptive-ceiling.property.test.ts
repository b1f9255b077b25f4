// The adaptive ceiling (docs/protection.md#method): it stays within its bounds whatever the upstream does, it
// goes down while the upstream is degraded and up again once it is healthy, and a window's p99 is measured
// well enough to judge against a target.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CeilingController,
  ceilingParamsProblem,
  nextCeiling,
} from '../../../src/decide/adaptive/ceiling-controller.js';
import type { CeilingParams, WindowSummary } from '../../../src/decide/adaptive/ceiling-controller.js';
import { LatencyWindow } from '../../../src/decide/adaptive/latency-window.js';

const params = fc
  .record({
    minCeiling: fc.integer({ min: 1, max: 50 }),
    span: fc.integer({ min: 0, max: 2000 }),
    latencyTargetMs: fc.integer({ min: 1, max: 5000 }),
    errorRatio: fc.double({ min: 0, max: 0.5, noNaN: true }),
    backoff: fc.double({ min: 0.5, max: 0.99, noNaN: true }),
    increase: fc.double({ min: 0.1, max: 50, noNaN: true }),
    windowMs: fc.integer({ min: 10, max: 5000 }),
  })
  .map(({ span, ...p }): CeilingParams => ({
    ...p,
    maxCeiling: p.minCeiling + span,
  }));

const anyWindow = fc.record({
  answers: fc.integer({ min: 0, max: 10_000 }),
  errorShare: fc.double({ min: 0, max: 1, noNaN: true }),
  p99Ms: fc.double({ min: 0, max: 600_000, noNaN: true }),
  inflight: fc.integer({ min: 0, max: 10_000 }),
});

function summary(w: { answers: number; errorShare: number; p99Ms: number; inflight: number }): WindowSummary {
  return {
    answers: w.answers,
    errors: Math.floor(w.answers * w.errorShare),
    p99Ms: w.answers === 0 ? 0 : w.p99Ms,
    inflight: w.inflight,
  };
}

/** A degraded window: slow, failing or stalled, as `p` judges it. */
const degradedWindow = (p: CeilingParams) =>
  fc.oneof(
    fc.record({
      answers: fc.integer({ min: 1, max: 1000 }),
      errors: fc.constant(0),
      p99Ms: fc.double({ min: p.latencyTargetMs * 1.01, max: p.latencyTargetMs * 100, noNaN: true }),
      inflight: fc.integer({ min: 0, max: 1000 }),
    }),
    fc.integer({ min: 1, max: 1000 }).map((answers) => ({
      answers,
      errors: answers,
      p99Ms: 1,
      inflight: 0,
    })),
    fc.integer({ min: 1, max: 1000 }).map((inflight) => ({ answers: 0, errors: 0, p99Ms: 0, inflight })),
  );

/** A healthy window: under the target, no errors (or none at all: idle). */
const healthyWindow = (p: CeilingParams) =>
  fc.record({
    answers: fc.integer({ min: 0, max: 1000 }),
    errors: fc.constant(0),
    p99Ms: fc.double({ min: 0, max: p.latencyTargetMs, noNaN: true }),
    inflight: fc.constant(0),
  });

describe('nextCeiling', () => {
  it('stays within [min, max] whatever the windows say', () => {
    fc.assert(
      fc.property(params, fc.array(anyWindow, { maxLength: 200 }), (p, windows) => {
        let c = p.maxCeiling;
        for (const w of windows) {
          c = nextCeiling(c, summary(w), p).ceiling;
          expect(c).toBeGreaterThanOrEqual(p.minCeiling);
          expect(c).toBeLessThanOrEqual(p.maxCeiling);
        }
      }),
    );
  });

  it('never rises on a degraded window, and reaches the minimum under sustained degradation', () => {
    fc.assert(
      fc.property(
        params.chain((p) =>
          fc.tuple(fc.constant(p), fc.array(degradedWindow(p), { minLength: 1, maxLength: 50 })),
        ),
        ([p, windows]) => {
          let c = p.maxCeiling;
          for (const w of windows) {
            const step = nextCeiling(c, w, p);
            expect(step.ceiling).toBeLessThanOrEqual(c);
            expect(['latency', 'errors', 'stalled']).toContain(step.reason);
            // Never more than halved in one window.
            expect(step.ceiling).toBeGreaterThanOrEqual(Math.min(c, Math.max(p.minCeiling, c * 0.5)));
            c = step.ceiling;
          }
          // Each degraded window multiplies by at most the backoff: log(min/max)/log(backoff) windows reach the min.
          const needed = Math.ceil(Math.log(p.minCeiling / p.maxCeiling) / Math.log(p.backoff)) + 1;
          let d = p.maxCeiling;
          for (let i = 0; i < needed; i++) d = nextCeiling(d, windows[i % windows.length]!, p).ceiling;
          expect(d).toBe(p.minCeiling);
        },
      ),
    );
  });

  it('recovers to the maximum once the upstream is healthy, and never falls while it is', () => {
    fc.assert(
      fc.property(
        params.chain((p) =>
          fc.tuple(
            fc.constant(p),
            fc.double({ min: p.minCeiling, max: p.maxCeiling, noNaN: true }),
            fc.array(healthyWindow(p), { minLength: 1, maxLength: 20 }),
          ),
        ),
        ([p, start, windows]) => {
          let c = start;
          const needed = Math.ceil((p.maxCeiling - start) / p.increase) + 1;
          let fell = 0;
          let unhealthy = 0;
          for (let i = 0; i < needed; i++) {
            const step = nextCeiling(c, windows[i % windows.length]!, p);
            if (step.ceiling < c) fell++;
            if (step.reason !== 'healthy' && step.reason !== 'idle') unhealthy++;
            c = step.ceiling;
          }
          expect([fell, unhealthy]).toEqual([0, 0]);
          expect(c).toBe(p.maxCeiling);
        },
      ),
    );
  });

  it('cuts deeper the further the p99 is over the target, down to half', () => {
    const p: CeilingParams = {
      minCeiling: 1,
      maxCeiling: 1000,
      latencyTargetMs: 100,
      errorRatio: 0.05,
      backoff: 0.9,
      increase: 10,
      windowMs: 1000,
    };
    const at = (p99Ms: number) =>
      nextCeiling(1000, { answers: 100, errors: 0, p99Ms, inflight: 50 }, p).ceiling;
    expect(at(100)).toBe(1000); // at the target: healthy, already at the max
    expect(at(105)).toBeCloseTo(900); // a small overshoot: the backoff
    expect(at(125)).toBeCloseTo(800); // target / p99
    expect(at(1000)).toBeCloseTo(500); // never below half
    // 5% errors is tolerated, 6% is not.
    expect(nextCeiling(500, { answers: 100, errors: 5, p99Ms: 10, inflight: 1 }, p).reason).toBe('healthy');
    expect(nextCeiling(500, { answers: 100, errors: 6, p99Ms: 10, inflight: 1 }, p)).toEqual({
      ceiling: 450,
      reason: 'errors',
      direction: 'down',
    });
    // Nothing answered while writes wait: stalled. Nothing in flight either: idle.
    expect(nextCeiling(500, { answers: 0, errors: 0, p99Ms: 0, inflight: 3 }, p).reason).toBe('stalled');
    expect(nextCeiling(500, { answers: 0, errors: 0, p99Ms: 0, inflight: 0 }, p).reason).toBe('idle');
  });

  it('refuses parameters that make no sense', () => {
    const ok: CeilingParams = {
      minCeiling: 4,
      maxCeiling: 100,
      latencyTargetMs: 100,
      errorRatio: 0.05,
      backoff: 0.9,
      increase: 1,
      windowMs: 1000,
    };
    expect(ceilingParamsProblem(ok)).toBeUndefined();
    expect(ceilingParamsProblem({ ...ok, maxCeiling: 3 })).toMatch(/max ceiling/);
    expect(ceilingParamsProblem({ ...ok, backoff: 1 })).toMatch(/backoff/);
    expect(ceilingParamsProblem({ ...ok, backoff: 0.4 })).toMatch(/backoff/);
    expect(ceilingParamsProblem({ ...ok, minCeiling: 0 })).toMatch(/min ceiling/);
    expect(() => new CeilingController({ ...ok, latencyTargetMs: 0 }, 0)).toThrow(/latency target/);
  });
});

describe('CeilingController', () => {
  const p: CeilingParams = {
    minCeiling: 2,
    maxCeiling: 64,
    latencyTargetMs: 50,
    errorRatio: 0.05,
    backoff: 0.8,
    increase: 4,
    windowMs: 1000,
  };

  it('judges a window only once it has lasted windowMs, on the write route alone', () => {
    const c = new CeilingController(p, 0);
    for (let i = 0; i < 100; i++) c.record('other', 5000, 503); // slow, failing reads do not lower the ceiling
    for (let i = 0; i < 100; i++) c.record('write', 10, 200);
    expect(c.tick(999, 10)).toBeUndefined();
    expect(c.tick(1000, 10)).toEqual({ ceiling: 64, reason: 'healthy', direction: 'hold' });
    expect(c.last.other.errorRatio).toBe(1);
    expect(c.last.write.answers).toBe(100);
    for (let i = 0; i < 100; i++) c.record('write', 200, 200);
    expect(c.tick(2000, 10)).toMatchObject({ reason: 'latency', direction: 'down' });
    expect(c.ceiling).toBe(32); // 200 ms against 50: halved
    expect(c.lastReason).toBe('latency');
    expect(c.lastChangeMs).toBe(2000);
    // The windows were reset: the next one, with nothing answered and nothing in flight, is idle.
    expect(c.tick(3000, 0)).toMatchObject({ reason: 'idle', ceiling: 36 });
    c.reset(4000);
    expect(c.ceiling).toBe(64);
    expect(c.lastReason).toBe('start');
  });

  it('cuts once per round trip: windows shorter than the p99 hold after a cut instead of cutting again', () => {
    const c = new CeilingController({ ...p, windowMs: 100 }, 0);
    const degraded = (t: number) => {
      for (let i = 0; i < 20; i++) c.record('write', 500, 200);
      return c.tick(t, 30);
    };
    expect(degraded(100)).toMatchObject({ direction: 'down', reason: 'latency' });
    expect(c.ceiling).toBe(32);
    // The writes in flight at the cut take 500 ms to be answered: the windows until then hold.
    for (const t of [200, 300, 400, 500])
      expect(degraded(t)).toMatchObject({ direction: 'hold', reason: 'latency' });
    expect(c.ceiling).toBe(32);
    expect(degraded(600)).toMatchObject({ direction: 'down' });
    expect(c.ceiling).toBe(16);
    // A healthy window still raises the ceiling during a hold.
    for (let i = 0; i < 20; i++) c.record('write', 10, 200);
    expect(c.tick(700, 5)).toMatchObject({ direction: 'up', reason: 'healthy' });
  });

  it('drives the upstream back under its target when latency grows with what is in flight', () => {
    // A closed loop: an upstream answering in base + k × in-flight ms, offered far more than it can take.
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.double({ min: 0.5, max: 5, noNaN: true }),
        fc.integer({ min: 100, max: 1000 }),
        (base, k, offered) => {
          const target = base + k * 20; // the upstream meets the target at 20 in flight
          const ctl = new CeilingController({ ...p, maxCeiling: 1000, latencyTargetMs: target }, 0);
          const p99s: number[] = [];
          for (let t = 1; t <= 200; t++) {
            const inflight = Math.min(offered, ctl.ceiling);
            const ms = base + k * inflight;
            for (let i = 0; i < 20; i++) ctl.record('write', ms, 200);
            ctl.tick(t * 1000, inflight);
            p99s.push(ms);
          }
          // Once settled, the p99 hovers around the target: at most one increase over it.
          const settled = p99s.slice(100);
          expect(Math.max(...settled)).toBeLessThanOrEqual(target + k * (p.increase + 1) + 1e-9);
          expect(Math.min(...settled)).toBeGreaterThan(target * 0.4);
        },
      ),
    );
  });
});

describe('LatencyWindow', () => {
  it('reports a p99 within 10% above the exact one, never above the slowest answer', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.01, max: 100_000, noNaN: true }), { minLength: 1, maxLength: 2000 }),
        (latencies) => {
          const w = new LatencyWindow();
          for (const ms of latencies) w.record(ms, 200);
          const sorted = [...latencies].sort((a, b) => a - b);
          const exact = sorted[Math.max(0, Math.ceil(0.99 * sorted.length) - 1)]!;
          const got = w.quantileMs(0.99);
          expect(got).toBeGreaterThanOrEqual(Math.min(exact, 0.1) - 1e-9);
          expect(got).toBeLessThanOrEqual(Math.max(exact * 1.1 + 1e-9, 0.1));
          expect(got).toBeLessThanOrEqual(sorted.at(-1)!);
        },
      ),
    );
  });

  it('counts 5xx, 429 and unanswered requests as errors, and nothing else', () => {
    const w = new LatencyWindow();
    for (const status of [200, 204, 400, 404, 413, 429, 500, 502, 503, 504, 0]) w.record(1, status);
    expect(w.errors).toBe(6);
    expect(w.errorRatio()).toBeCloseTo(6 / 11);
    w.reset();
    expect([w.answers, w.errors, w.quantileMs(0.99)]).toEqual([0, 0, 0]);
  });
});
