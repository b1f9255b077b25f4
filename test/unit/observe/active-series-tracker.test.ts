// What the tracker tells an operator and the max-series check: a series sent again is never new (no false
// negatives, whatever the filter's false positives), new series are counted once and attributed to their metric
// name, the time to the limit follows the trend, memory per tenant stays within its bound, and the number of
// tenants tracked is bounded.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ActiveSeries } from '../../../src/observe/active-series/active-series.js';
import { NEW, SEEN_BEFORE, SEEN_NOW, SeenFilter } from '../../../src/observe/active-series/seen-filter.js';
import { TopNames } from '../../../src/observe/active-series/top-names.js';
import { encodeWriteRequest, writeRequest } from '../../helpers/write-request.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 11, 7, 8, 0, 0);

function body(metric: string, from: number, count: number): Buffer {
  return encodeWriteRequest(
    writeRequest(
      Array.from({ length: count }, (_, i) => ({ labels: { __name__: metric, pod: `p-${from + i}` } })),
    ),
  );
}

function tracker(over: Partial<ConstructorParameters<typeof ActiveSeries>[0]> = {}): ActiveSeries {
  return new ActiveSeries({
    windowMs: 20 * MINUTE,
    maxTenants: 100,
    sampleEvery: 1,
    filterMaxBytes: 1 << 20,
    refreshMs: 0,
    ...over,
  });
}

describe('new-series filter', () => {
  it('never calls a series sent within the window new (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(25 * MINUTE)), { maxLength: 3000 }),
        (events) => {
          const filter = new SeenFilter(10 * MINUTE, 64 * 1024);
          const sorted = [...events].sort((a, b) => a[2] - b[2]);
          const last = new Map<string, number>();
          for (const [hi, lo, t] of sorted) {
            const key = `${hi}:${lo}`;
            const seen = last.get(key);
            const verdict = filter.add(hi, lo, T0 + t);
            // Sent within the last window: known (a false positive may also call an unseen one known).
            if (seen !== undefined && t - seen <= 20 * MINUTE) expect(verdict).not.toBe(NEW);
            last.set(key, t);
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it('forgets a series one to one and a half windows after it was last sent', () => {
    const filter = new SeenFilter(10 * MINUTE, 64 * 1024);
    expect(filter.add(1, 2, T0)).toBe(NEW);
    expect(filter.add(1, 2, T0 + MINUTE)).toBe(SEEN_NOW);
    expect(filter.add(1, 2, T0 + 11 * MINUTE)).toBe(SEEN_BEFORE);
    expect(filter.has(1, 2, T0 + 35 * MINUTE)).toBe(true);
    expect(filter.has(1, 2, T0 + 41 * MINUTE)).toBe(false);
  });

  it('keeps false positives near 1% for 200,000 series, and within its byte budget', () => {
    const filter = new SeenFilter(10 * MINUTE, 1 << 20);
    for (let i = 0; i < 200_000; i++) filter.add(Math.imul(i, 0x9e3779b1) >>> 0, i, T0);
    let falsePositives = 0;
    for (let i = 200_000; i < 300_000; i++)
      if (filter.has(Math.imul(i, 0x85ebca6b) >>> 0, i ^ 0x5bd1e995, T0)) falsePositives++;
    expect(falsePositives / 100_000).toBeLessThan(0.02);
    expect(filter.bytes).toBeLessThanOrEqual(1 << 20);
  });
});

describe('active series tracker', () => {
  it('counts new series once, names the metric that brought them, and tells new from known', () => {
    const t = tracker();
    t.observe('a', body('steady', 0, 1000), 'prw1', T0);
    t.observe('a', body('steady', 0, 1000), 'prw1', T0 + 15_000);
    t.observe('a', body('exploding', 0, 3000), 'prw1', T0 + 30_000);
    const s = t.snapshot('a', 3000, T0 + 30_000)!;
    // A Bloom false positive may call a new series known (about 0.1% here), never the reverse: never above.
    expect(s.newSeriesTotal).toBeLessThanOrEqual(4000);
    expect(s.newSeriesTotal).toBeGreaterThan(3960);
    expect(s.newSeriesLastMinute).toBe(s.newSeriesTotal);
    expect(s.topNewMetrics[0]!.name).toBe('exploding');
    expect(s.topNewMetrics[0]!.count).toBeGreaterThan(2970);
    expect(Math.abs(s.activeSeries - 4000) / 4000).toBeLessThan(0.02);
    expect(s.utilisation).toBeCloseTo(s.activeSeries / 3000, 5);

    const mixed = encodeWriteRequest(
      writeRequest([
        { labels: { __name__: 'steady', pod: 'p-5' } },
        { labels: { __name__: 'brand_new', pod: 'x' } },
      ]),
    );
    expect([...t.newSeries('a', mixed, 'prw1', 2, T0 + 45_000)]).toEqual([0, 1]);
  });

  it('ranks tenants by new series per second for the top offenders, over the range asked', () => {
    const t = tracker();
    // "calm" sends the same 100 series every minute; "wild" brings 600 new ones a minute for 10 minutes.
    for (let m = 0; m < 10; m++) {
      t.observe('calm', body('up', 0, 100), 'prw1', T0 + m * MINUTE);
      t.observe('wild', body('exploding', m * 600, 600), 'prw1', T0 + m * MINUTE);
    }
    const now = T0 + 9 * MINUTE + 30_000;
    const top = t.topGrowth(10 * MINUTE, 10, now);
    expect(top[0]!.tenant).toBe('wild');
    // 6,000 new series over 10 minutes: 10/s (a Bloom false positive can only lower it, by well under 1%).
    expect(top[0]!.value).toBeLessThanOrEqual(10);
    expect(top[0]!.value).toBeGreaterThan(9.9);
    // calm brought its 100 only in the first minute: over the last 5 minutes it brought none, so it is not listed.
    expect(t.topGrowth(5 * MINUTE, 10, now).map((g) => g.tenant)).toEqual(['wild']);
    expect(t.topGrowth(10 * MINUTE, 1, now)).toHaveLength(1);
  });

  it('gives the time to the limit from the growth of the estimate', () => {
    const t = tracker();
    // 1,000 new series every 2-minute slice: 500 a minute.
    for (let slice = 0; slice < 8; slice++)
      t.observe('g', body('m', slice * 1000, 1000), 'prw1', T0 + slice * 2 * MINUTE);
    const s = t.snapshot('g', 20_000, T0 + 14 * MINUTE)!;
    expect(s.growthPerMinute).toBeGreaterThan(450);
    expect(s.growthPerMinute).toBeLessThan(550);
    // (20,000 − 8,000) / 500 a minute = 24 minutes.
    expect(s.secondsToLimit! / 60).toBeGreaterThan(20);
    expect(s.secondsToLimit! / 60).toBeLessThan(28);
    expect(t.snapshot('g', 0, T0 + 14 * MINUTE)!.secondsToLimit).toBeNull();
  });

  it('reads every n-th write with ACTIVE_SERIES_SAMPLE_EVERY, and every write when asked to', () => {
    const t = tracker({ sampleEvery: 4 });
    const read = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => t.observe('s', body('m', i, 1), 'prw1', T0 + i));
    expect(read).toEqual([true, false, false, false, true, false, false, false]);
    expect(t.observe('s', body('m', 0, 1), 'prw1', T0 + 10, true)).toBe(true);
  });

  it('tracks at most maxTenants tenants and forgets one idle for a whole window', () => {
    const t = tracker({ maxTenants: 2 });
    expect(t.observe('x', body('m', 0, 1), 'prw1', T0)).toBe(true);
    expect(t.observe('y', body('m', 0, 1), 'prw1', T0)).toBe(true);
    expect(t.observe('z', body('m', 0, 1), 'prw1', T0)).toBe(false);
    expect(t.untracked).toBe(1);
    t.observe('y', body('m', 0, 1), 'prw1', T0 + 15 * MINUTE);
    t.sweep(T0 + 30 * MINUTE);
    expect([...t.tenantNames()]).toEqual(['y']);
  });

  it('tracks no further tenant once ACTIVE_SERIES_MAX_BYTES are held', () => {
    const t = tracker({ maxBytes: 20 * 1024 });
    expect(t.observe('first', body('m', 0, 2000), 'prw1', T0)).toBe(true);
    expect(t.memoryBytes).toBeGreaterThan(20 * 1024);
    expect(t.observe('second', body('m', 0, 1), 'prw1', T0)).toBe(false);
    expect(t.untracked).toBe(1);
  });

  it('holds a 100,000-series tenant in 11 dense sketches and its filter: measured, under 1.3 MiB', () => {
    const t = tracker();
    for (let slice = 0; slice < 11; slice++)
      t.observe('big', body('m', 0, 100_000), 'prw1', T0 + slice * 2 * MINUTE);
    const s = t.snapshot('big', 150_000, T0 + 20 * MINUTE)!;
    expect(Math.abs(s.activeSeries - 100_000) / 100_000).toBeLessThan(0.02);
    expect(s.memoryBytes).toBeLessThan(1.3 * 2 ** 20);
    // A small tenant stays sparse: a few KiB.
    t.observe('small', body('m', 0, 50), 'prw1', T0);
    expect(t.snapshot('small', 0, T0)!.memoryBytes).toBeLessThan(24 * 1024);
  }, 120_000);
});

describe('top names (space-saving)', () => {
  it('keeps every name above total / K, with its count bounded by count − error', () => {
    const top = new TopNames(5);
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    for (let i = 0; i < 1000; i++) top.add(0, () => 'heavy');
    for (let i = 0; i < 800; i++) top.add(names[i % 8]!.charCodeAt(0), () => names[i % 8]!);
    const [first] = top.top();
    expect(first).toMatchObject({ name: 'heavy', count: 1000, error: 0 });
  });
});
