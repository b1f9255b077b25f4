// The time aggregation behind the admin API: what an operator reads for "the last 5 minutes" must be
// exactly the requests of the last 5 minutes (to the bucket), old traffic must age out, memory must stay
// fixed per tenant, and the tenant table must stay bounded whatever ids senders invent.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALLOWED, denial } from '../../../src/decision/catalogue.js';
import type { RequestInfo } from '../../../src/remote-write/request-info.js';
import {
  DecisionAggregator,
  OTHER_TENANTS,
  bytesPerTenant,
} from '../../../src/observe/stats/decision-aggregator.js';
import { RecentDenials } from '../../../src/observe/stats/recent-denials.js';
import {
  RANGES,
  RANGE_MS,
  TENANT_TIERS,
  TOTAL_TIERS,
  tierFor,
} from '../../../src/observe/stats/time-ranges.js';

const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);

function info(samples: number, series = 1, labels = 3): RequestInfo {
  return {
    format: 'prw1',
    series,
    floatSamples: samples,
    histogramSamples: 0,
    exemplars: 0,
    metadata: 0,
    maxLabelNames: labels,
    maxLabelNamesSeries: 0,
    maxLabelNameLength: 5,
    maxLabelNameSeries: 0,
    maxLabelValueLength: 5,
    maxLabelValueSeries: 0,
    bytesCompressed: samples * 10,
    bytesUncompressed: samples * 40,
  };
}

const RATE_DENIAL = denial('ingestion_rate', 'ingestion rate limit exceeded', 10, 20, 1);

/** Which requests a range must count: those in buckets starting after now - range, of the tier serving it. */
function expectedCount(times: number[], nowMs: number, rangeMs: number, tiers = TENANT_TIERS): number {
  const tier = tiers[tierFor(tiers, rangeMs)]!;
  const last = Math.floor(nowMs / tier.widthMs);
  const first = Math.max(Math.floor((nowMs - rangeMs) / tier.widthMs) + 1, last - tier.buckets + 1);
  return times.filter((t) => {
    const e = Math.floor(t / tier.widthMs);
    return e >= first && e <= last;
  }).length;
}

describe('DecisionAggregator windows', () => {
  it('counts exactly the requests of each range, per tenant and overall (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 8 * 86_400_000 }), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 0, max: 60_000 }),
        (offsets, extra) => {
          const times = offsets.map((o) => T0 + o).sort((a, b) => a - b);
          const agg = new DecisionAggregator(100, T0);
          for (const t of times) agg.record('team-a', t, ALLOWED, info(2), 10);
          const now = times[times.length - 1]! + extra;
          for (const range of RANGES) {
            const rangeMs = RANGE_MS[range];
            const tenant = agg.window('team-a', now, rangeMs)!;
            const total = agg.window(undefined, now, rangeMs)!;
            expect(tenant.requests).toBe(expectedCount(times, now, rangeMs));
            expect(tenant.samples).toBe(2 * tenant.requests);
            expect(total.requests).toBe(expectedCount(times, now, rangeMs, TOTAL_TIERS));
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('never shows fewer requests for a longer range (a coarser tier must not lose traffic)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 * 86_400_000 }), { minLength: 1, maxLength: 100 }),
        (offsets) => {
          const times = offsets.map((o) => T0 + o).sort((a, b) => a - b);
          const agg = new DecisionAggregator(10, T0);
          for (const t of times) agg.record('t', t, ALLOWED, info(1), 0);
          const now = times[times.length - 1]!;
          // Each range covers at least the buckets the next shorter range covers, within one coarse bucket.
          const all = agg.window('t', now, RANGE_MS['7d'])!.requests;
          expect(all).toBe(times.length);
          expect(agg.window(undefined, now, RANGE_MS['7d'])!.requests).toBe(times.length);
        },
      ),
    );
  });

  it('forgets traffic older than the range, even after a long silence wraps the rings', () => {
    const agg = new DecisionAggregator(10, T0);
    for (let i = 0; i < 100; i++) agg.record('t', T0 + i * 100, ALLOWED, info(5), 0);
    expect(agg.window('t', T0 + 10_000, RANGE_MS['1m'])!.requests).toBe(100);
    // 16 minutes later the 15m ring has wrapped; the 1h ring still remembers.
    const later = T0 + 16 * 60_000;
    expect(agg.window('t', later, RANGE_MS['1m'])!.requests).toBe(0);
    expect(agg.window('t', later, RANGE_MS['15m'])!.requests).toBe(0);
    expect(agg.window('t', later, RANGE_MS['1h'])!.requests).toBe(100);
    // Exactly one ring length later, a slot is reused: stale counts must not reappear.
    agg.record('t', T0 + 15 * 60_000 + 50, ALLOWED, info(1), 0);
    expect(agg.window('t', T0 + 15 * 60_000 + 60, RANGE_MS['1m'])!.requests).toBe(1);
    // Eight days later everything has aged out.
    expect(agg.window('t', T0 + 8 * 86_400_000, RANGE_MS['7d'])!.requests).toBe(0);
  });

  it('reports rates over the history it has, denials by reason, and cardinality maxima', () => {
    const agg = new DecisionAggregator(10, T0);
    for (let s = 0; s < 30; s++) agg.record('t', T0 + s * 1000, ALLOWED, info(100, 10, 7), 200);
    agg.record('t', T0 + 30_000, RATE_DENIAL, info(50, 500, 12), 100);
    const w = agg.window('t', T0 + 30_500, RANGE_MS['5m'])!;
    expect(w.requests).toBe(31);
    expect(w.denied).toBe(1);
    expect(w.allowed).toBe(30);
    expect(w.deniedByReason).toEqual({ ingestion_rate: 1 });
    expect(w.samples).toBe(30 * 100 + 50);
    expect(w.maxSeriesPerRequest).toBe(500);
    expect(w.maxLabelNames).toBe(12);
    expect(w.latencyUs).toBe(30 * 200 + 100);
    // Only 30.5 s of history exist: the span is not the whole 5 minutes.
    expect(w.spanMs).toBeGreaterThan(29_000);
    expect(w.spanMs).toBeLessThanOrEqual(31_000);
  });

  it('counts observed-only limits apart from denials', () => {
    const agg = new DecisionAggregator(10, T0);
    agg.record('t', T0, { ...RATE_DENIAL, allowed: true, status: 200, wouldDeny: true }, info(1), 0);
    const w = agg.window('t', T0 + 1, RANGE_MS['1m'])!;
    expect(w.denied).toBe(0);
    expect(w.wouldDenyByReason).toEqual({ ingestion_rate: 1 });
    expect(agg.recentDenials(10)[0]).toMatchObject({ tenant: 't', wouldDeny: true });
  });

  it('sees a rising tenant as trending up and a fading one as trending down', () => {
    const agg = new DecisionAggregator(10, T0);
    for (let s = 0; s < 300; s++) {
      agg.record('rising', T0 + s * 1000, ALLOWED, info(s < 150 ? 10 : 100), 0);
      agg.record('fading', T0 + s * 1000, ALLOWED, info(s < 150 ? 100 : 10), 0);
      agg.record('steady', T0 + s * 1000, ALLOWED, info(50), 0);
    }
    const now = T0 + 300_000;
    expect(agg.trend('rising', now, RANGE_MS['5m']).direction).toBe('up');
    expect(agg.trend('rising', now, RANGE_MS['5m']).perMinute).toBeGreaterThan(0);
    expect(agg.trend('fading', now, RANGE_MS['5m']).direction).toBe('down');
    expect(agg.trend('steady', now, RANGE_MS['5m']).direction).toBe('flat');
  });

  it('gives one chart point per bucket, oldest first, with denials per reason aligned', () => {
    const agg = new DecisionAggregator(10, T0);
    agg.record(undefined, T0 + 5_000, denial('missing_tenant', 'no tenant', 0, 0), undefined, 0);
    agg.record('t', T0 + 59_000, ALLOWED, info(3), 0);
    const p = agg.points(undefined, T0 + 59_500, RANGE_MS['1m'])!;
    expect(p.widthMs).toBe(1000);
    expect(p.points).toHaveLength(60);
    expect(p.points[59]!.requests).toBe(1);
    expect(p.points[5]!.denied).toBe(1);
    expect(p.deniedByReason.missing_tenant![5]).toBe(1);
    expect(p.points.map((x) => x.t)).toEqual([...p.points.map((x) => x.t)].sort((a, b) => a - b));
  });
});

describe('DecisionAggregator memory', () => {
  it('pools tenants beyond the cap under __other__, so invented ids cannot grow memory', () => {
    const agg = new DecisionAggregator(50, T0);
    for (let i = 0; i < 500; i++) agg.record(`t-${i}`, T0, ALLOWED, info(1), 0);
    expect(agg.tenantCount).toBe(51);
    expect(agg.window(OTHER_TENANTS, T0 + 1, RANGE_MS['1m'])!.requests).toBe(450);
    expect(agg.window(undefined, T0 + 1, RANGE_MS['1m'])!.requests).toBe(500);
  });

  it('costs a fixed number of bytes per tenant (stated in docs/admin-api.md)', () => {
    // 180 buckets x (6 x 4 + 4 x 8 + 1) bytes: at 10,000 tenants about 103 MB of ring buffers.
    expect(bytesPerTenant()).toBe(180 * 57);
  });
});

describe('RecentDenials', () => {
  it('keeps the newest events, newest first, within its capacity', () => {
    const ring = new RecentDenials(3);
    for (let i = 0; i < 5; i++)
      ring.push({
        timeMs: i,
        tenant: `t${i}`,
        reason: 'ingestion_rate',
        status: 429,
        message: '',
        limit: 1,
        observed: 2,
        wouldDeny: false,
      });
    expect(ring.list(10).map((e) => e.tenant)).toEqual(['t4', 't3', 't2']);
    expect(ring.list(10, (e) => e.tenant !== 't3').map((e) => e.tenant)).toEqual(['t4', 't2']);
  });
});
