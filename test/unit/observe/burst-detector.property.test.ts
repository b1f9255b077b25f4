// The burst detector on a held clock: a steady tenant is never flagged, a step to k times its baseline is
// flagged within a bounded time, and the flag clears once the rate is back. Time and counters are driven by
// the test; nothing here sleeps.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BurstDetector } from '../../../src/observe/insight/burst-detector.js';
import type { BurstOptions } from '../../../src/observe/insight/burst-detector.js';

const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const MINUTE = 60_000;
const HOUR = 3_600_000;

/** One tenant fed by cumulative totals every `intervalMs`, like the service's timer. */
class Feed {
  total = 0;
  now = T0;
  constructor(
    readonly detector: BurstDetector,
    readonly intervalMs: number,
    readonly tenant = 't',
  ) {
    detector.update(this.now, [[tenant, 0]]);
  }

  /** Sends `rate` items/s (times a per-interval noise factor) for `ms`; returns when it was first flagged. */
  run(
    rate: number,
    ms: number,
    noise: () => number = () => 1,
  ): { firstFlagMs?: number; firstClearMs?: number } {
    const out: { firstFlagMs?: number; firstClearMs?: number } = {};
    const end = this.now + ms;
    while (this.now < end) {
      const was = this.detector.state(this.tenant)?.flagged ?? false;
      this.now += this.intervalMs;
      this.total += (rate * noise() * this.intervalMs) / 1000;
      this.detector.update(this.now, [[this.tenant, this.total]]);
      const is = this.detector.state(this.tenant)!.flagged;
      if (!was && is && out.firstFlagMs === undefined) out.firstFlagMs = this.now;
      if (was && !is && out.firstClearMs === undefined) out.firstClearMs = this.now;
    }
    return out;
  }
}

const options = (o: Partial<BurstOptions> = {}): BurstOptions => ({
  factor: 3,
  minRate: 100,
  windowMs: 5 * MINUTE,
  baselineMs: 24 * HOUR,
  warmupMs: HOUR,
  ...o,
});

describe('BurstDetector', () => {
  it('never flags a steady tenant, whatever its rate, noise (within ±30%) or tick (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.constantFrom(1_000, 15_000, 60_000),
        fc.double({ min: 2, max: 10, noNaN: true }),
        fc.array(fc.double({ min: 0.7, max: 1.3, noNaN: true }), { minLength: 1, maxLength: 50 }),
        (rate, interval, factor, noises) => {
          const d = new BurstDetector(options({ factor, minRate: 1 }));
          let i = 0;
          const feed = new Feed(d, interval);
          const r = feed.run(rate, 3 * HOUR, () => noises[i++ % noises.length]!);
          expect(r.firstFlagMs).toBeUndefined();
          const v = d.state('t')!;
          expect(v.warm).toBe(true);
          expect(v.ratio).toBeGreaterThan(0.7 / 1.3 - 1e-9);
          expect(v.ratio).toBeLessThan(1.3 / 0.7 + 1e-9);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('flags a step to k × baseline within a bound set by its time constant, and clears once it is back (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 200, max: 100_000 }),
        fc.double({ min: 2, max: 6, noNaN: true }),
        fc.double({ min: 2, max: 20, noNaN: true }),
        fc.constantFrom(5_000, 15_000),
        (rate, factor, over, interval) => {
          const k = factor * over;
          const windowMs = 5 * MINUTE;
          const d = new BurstDetector(options({ factor, windowMs }));
          const feed = new Feed(d, interval);
          expect(feed.run(rate, 6 * HOUR).firstFlagMs).toBeUndefined();
          const stepAt = feed.now;
          const burst = feed.run(k * rate, HOUR);
          // With a fixed baseline b, recent(t) = k·b − (k−1)·b·e^(−t/τ) crosses factor·b at
          // t = τ·ln((k−1)/(k−factor)). The baseline is the mean of a short history (6 h here, against 24 h),
          // so the burst raises it too: twice that time bounds it for k ≥ 2·factor. The detector looks once
          // per interval.
          const bound = 2 * windowMs * Math.log((k - 1) / (k - factor)) + 2 * interval;
          expect(burst.firstFlagMs).toBeDefined();
          expect(burst.firstFlagMs! - stepAt).toBeLessThanOrEqual(bound);
          const flagged = d.state('t')!;
          expect(flagged.flagged).toBe(true);
          expect(flagged.sinceMs).toBe(burst.firstFlagMs);
          expect(d.flagged().map((v) => v.tenant)).toEqual(['t']);

          const backAt = feed.now;
          const after = feed.run(rate, 2 * HOUR);
          expect(after.firstClearMs).toBeDefined();
          // Back at b, recent falls from at most k·b towards b, and the baseline never drops below b: it is
          // under clearFactor·baseline once (k−1)·b·e^(−t/τ) < (clearFactor−1)·b.
          const clearBound = windowMs * Math.log((k - 1) / (d.clearFactor - 1)) + 2 * interval;
          expect(after.firstClearMs! - backAt).toBeLessThanOrEqual(clearBound);
          expect(d.state('t')!.flagged).toBe(false);
          expect(d.recent()[0]).toMatchObject({
            tenant: 't',
            startMs: burst.firstFlagMs,
            endMs: after.firstClearMs,
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('does not flag before BURST_WARMUP, nor below BURST_MIN_RATE', () => {
    const young = new BurstDetector(options());
    const feed = new Feed(young, 15_000);
    feed.run(1_000, 30 * MINUTE);
    expect(feed.run(100_000, 20 * MINUTE).firstFlagMs).toBeUndefined();
    expect(young.state('t')!.warm).toBe(false);

    const small = new BurstDetector(options({ minRate: 500 }));
    const tiny = new Feed(small, 15_000);
    tiny.run(10, 6 * HOUR);
    // Far above its baseline, but 400 items/s is below the minimum.
    expect(tiny.run(400, 10 * MINUTE).firstFlagMs).toBeUndefined();
    expect(small.state('t')!.ratio).toBeGreaterThan(small.options.factor);
    expect(tiny.run(2_000, 10 * MINUTE).firstFlagMs).toBeDefined();
  });

  it('flags a tenant that starts sending after a silent baseline', () => {
    const d = new BurstDetector(options());
    const feed = new Feed(d, 15_000);
    feed.run(0, 2 * HOUR);
    expect(feed.run(1_000, 10 * MINUTE).firstFlagMs).toBeDefined();
    expect(d.state('t')!.ratio).toBeGreaterThan(3);
  });

  it('takes a lasting new rate as the new normal after a fraction of BURST_BASELINE', () => {
    const d = new BurstDetector(options());
    const feed = new Feed(d, 60_000);
    // Five days: the baseline holds (1 − e^−5) of its full weight, so it behaves as a warm 24 h average.
    feed.run(1_000, 5 * 24 * HOUR);
    const r = feed.run(10_000, 24 * HOUR);
    expect(r.firstFlagMs).toBeDefined();
    expect(r.firstClearMs).toBeDefined();
    // The baseline must reach 10,000 / clearFactor(2) = 5,000: 1 − e^(−t/24h) ≥ 4/9, t ≈ 14 h.
    const hours = (r.firstClearMs! - r.firstFlagMs!) / HOUR;
    expect(hours).toBeGreaterThan(12);
    expect(hours).toBeLessThan(16);
  });

  it('forgets a tenant no longer listed, and counts a counter that started again from zero', () => {
    const d = new BurstDetector(options({ warmupMs: 0, minRate: 1 }));
    d.update(T0, [
      ['a', 100],
      ['b', 5],
    ]);
    d.update(T0 + 1000, [
      ['a', 200],
      ['b', 10],
    ]);
    expect(d.state('a')!.rate).toBeCloseTo(100, 6);
    d.update(T0 + 2000, [['a', 50]]);
    expect(d.state('b')).toBeUndefined();
    expect(d.size).toBe(1);
    // 200 → 50: the counter restarted; 50 items in that second, not −150.
    expect(d.state('a')!.rate).toBeGreaterThan(50);
    expect(d.state('a')!.rate).toBeLessThan(100);
    // The same instant again changes nothing.
    const before = d.state('a');
    d.update(T0 + 2000, [['a', 10_000]]);
    expect(d.state('a')).toEqual(before);
  });
});
