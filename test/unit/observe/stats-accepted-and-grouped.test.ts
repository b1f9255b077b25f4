// What an operator reads about a throttled tenant: accepted samples/s (what reached Mimir) apart from
// rejected ones (denied requests, retries counted again), and denials grouped by tenant, reason and message
// so a storm of one denial is one line with a count, not hundreds of copies.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALLOWED, denial } from '../../../src/decision/catalogue.js';
import type { RequestInfo } from '../../../src/remote-write/request-info.js';
import { DecisionAggregator } from '../../../src/observe/stats/decision-aggregator.js';
import { RecentDenials, messagePattern } from '../../../src/observe/stats/recent-denials.js';
import type { DenialEvent } from '../../../src/observe/stats/recent-denials.js';
import { RANGES, RANGE_MS } from '../../../src/observe/stats/time-ranges.js';

const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);

function info(samples: number): RequestInfo {
  return {
    format: 'prw1',
    series: 1,
    floatSamples: samples,
    histogramSamples: 0,
    exemplars: 0,
    metadata: 0,
    maxLabelNames: 3,
    maxLabelNamesSeries: 0,
    maxLabelNameLength: 5,
    maxLabelNameSeries: 0,
    maxLabelValueLength: 5,
    maxLabelValueSeries: 0,
    bytesCompressed: samples * 10,
    bytesUncompressed: samples * 40,
  };
}

const rateDenial = (cost: number) =>
  denial('ingestion_rate', `ingestion rate limit exceeded; this request carries ${cost} items`, 50, cost, 1);

describe('accepted and rejected samples', () => {
  it('keeps the samples of denied requests apart, in every range and in chart points (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            at: fc.integer({ min: 0, max: 3_600_000 }),
            samples: fc.integer({ min: 0, max: 5000 }),
            denied: fc.boolean(),
          }),
          { minLength: 1, maxLength: 100 },
        ),
        (requests) => {
          const agg = new DecisionAggregator(10, T0);
          const sorted = [...requests].sort((a, b) => a.at - b.at);
          for (const r of sorted)
            agg.record('t', T0 + r.at, r.denied ? rateDenial(r.samples) : ALLOWED, info(r.samples), 0);
          const now = T0 + sorted[sorted.length - 1]!.at;
          for (const range of RANGES) {
            const w = agg.window('t', now, RANGE_MS[range])!;
            const all = agg.window(undefined, now, RANGE_MS[range])!;
            for (const v of [w, all]) {
              expect(v.samplesDenied).toBeLessThanOrEqual(v.samples);
              if (v.denied === 0) expect(v.samplesDenied).toBe(0);
              if (v.denied === v.requests) expect(v.samplesDenied).toBe(v.samples);
            }
          }
          // Over the longest range every request counts: rejected samples are exactly the denied ones'.
          const week = agg.window('t', now, RANGE_MS['7d'])!;
          const rejected = sorted.filter((r) => r.denied).reduce((n, r) => n + r.samples, 0);
          expect(week.samplesDenied).toBe(rejected);
          const points = agg.points('t', now, RANGE_MS['1h'])!.points;
          for (const p of points) expect(p.samplesDenied).toBeLessThanOrEqual(p.samples);
        },
      ),
    );
  });

  it('shows a throttled tenant retrying hard as 50 accepted and thousands rejected, not thousands "samples"', () => {
    const agg = new DecisionAggregator(10, T0);
    // One minute: one accepted request of 50 samples per second, and 88 denied 50-sample retries per second.
    for (let s = 0; s < 60; s++) {
      agg.record('throttled', T0 + s * 1000, ALLOWED, info(50), 0);
      for (let k = 0; k < 88; k++) agg.record('throttled', T0 + s * 1000 + k, rateDenial(50), info(50), 0);
    }
    const w = agg.window('throttled', T0 + 59_999, RANGE_MS['1m'])!;
    const accepted = w.samples - w.samplesDenied;
    expect(w.samples / (w.spanMs / 1000)).toBeGreaterThan(4000);
    expect(accepted / (w.spanMs / 1000)).toBeGreaterThan(40);
    expect(accepted / (w.spanMs / 1000)).toBeLessThan(60);
  });
});

function event(tenant: string, timeMs: number, message: string, reason = 'ingestion_rate'): DenialEvent {
  return {
    timeMs,
    tenant,
    reason: reason as DenialEvent['reason'],
    status: 429,
    message,
    limit: 50,
    observed: 0,
    wouldDeny: false,
  };
}

describe('denial groups', () => {
  it('turns 200 denials of one cause with varying numbers into one group with count and first/last seen', () => {
    const d = new RecentDenials(1000);
    for (let i = 0; i < 200; i++) d.push(event('team-b', T0 + i * 100, `carries ${100 + i} items, limit 50`));
    d.push(event('team-c', T0 + 5000, 'carries 7 items, limit 50'));
    const groups = d.grouped(T0 + 20_000, RANGE_MS['1h'], 100);
    expect(groups).toHaveLength(2);
    const b = groups[0]!;
    expect(b.group.tenant).toBe('team-b');
    expect(b.inRange).toBe(200);
    expect(b.group.count).toBe(200);
    expect(b.group.firstMs).toBe(T0);
    expect(b.group.last.timeMs).toBe(T0 + 199 * 100);
    expect(b.group.last.message).toBe('carries 299 items, limit 50');
    expect(b.group.pattern).toBe('carries N items, limit N');
    // A range that ends before the group was last seen leaves it out; one that covers it counts.
    expect(d.grouped(T0 + 2 * 3_600_000, RANGE_MS['1h'], 100)).toHaveLength(0);
  });

  it('keeps at most maxGroups groups whatever messages senders provoke, forgetting the least recent (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd'), fc.string({ maxLength: 8 })), {
          maxLength: 300,
        }),
        fc.integer({ min: 1, max: 20 }),
        (pushes, maxGroups) => {
          const d = new RecentDenials(50, maxGroups);
          pushes.forEach(([tenant, text], i) => d.push(event(tenant, T0 + i, `label ${text}`)));
          expect(d.groupCount).toBeLessThanOrEqual(maxGroups);
          if (pushes.length > 0) {
            // The newest denial's group is always kept.
            const [tenant, text] = pushes[pushes.length - 1]!;
            const keys = d.grouped(T0 + pushes.length, RANGE_MS['7d'], 1000).map((g) => g.group);
            expect(
              keys.some((g) => g.tenant === tenant && g.pattern === messagePattern(`label ${text}`)),
            ).toBe(true);
          }
        },
      ),
    );
  });
});
