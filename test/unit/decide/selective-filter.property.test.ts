// Selective filtering: the series forwarded for an over-budget request must be the longest prefix, in body
// order, whose cost fits the tokens left, costed as Mimir charges them, and the re-encoded body must hold exactly
// those series. The decision must name what went, and ask for a retry only once the whole request fits again.

import fc from 'fast-check';
import snappy from 'snappy';
import { describe, expect, it } from 'vitest';

import { DeliveredPrefixes } from '../../../src/decide/delivered-prefixes.js';
import { SelectiveFilter, availableTokens, selectiveApplies } from '../../../src/decide/selective-filter.js';
import type { Decision } from '../../../src/decision/decision.js';
import { ALLOWED, denial } from '../../../src/decision/catalogue.js';
import type { ResolvedTenant, TenantLimits } from '../../../src/limits/tenant-limits.js';
import { fittingPrefix, scanWriteRequest, scanWriteRequestV2 } from '../../../src/remote-write/index.js';
import type { MeasuredBody } from '../../../src/remote-write/index.js';
import type { RateQuery } from '../../../src/stores/rate-store.js';
import type { Rw2SeriesSpec } from '../../helpers/rw2-request.js';
import { encodeRw2, rw2Request, rw2RequestType } from '../../helpers/rw2-request.js';
import type { SeriesSpec } from '../../helpers/write-request.js';
import { encodeWriteRequest, writeRequest, writeRequestType } from '../../helpers/write-request.js';
import { LIMIT_DEFINITIONS } from '../../../src/limits/limit-definitions.js';
import type { NumericLimitName } from '../../../src/limits/limit-definitions.js';

const rw1Series: fc.Arbitrary<SeriesSpec> = fc.record({
  labels: fc.record({ __name__: fc.constantFrom('a', 'b', 'c'), i: fc.string({ maxLength: 4 }) }),
  samples: fc.nat(4),
  exemplars: fc.nat(2),
  histograms: fc.nat(2),
});

const rw2Series: fc.Arbitrary<Rw2SeriesSpec> = fc.record({
  labels: fc.record({ __name__: fc.constantFrom('a', 'b', 'c'), i: fc.string({ maxLength: 4 }) }),
  samples: fc.nat(4),
  histograms: fc.nat(2),
  exemplars: fc.nat(2),
  metadata: fc.option(fc.record({ type: fc.integer({ min: 1, max: 7 }) }), { nil: undefined }),
});

/** What Mimir charges for one series: samples + histogram samples (+ exemplars when enabled) (+ RW2 metadata). */
function specCost(s: SeriesSpec | Rw2SeriesSpec, exemplars: boolean): number {
  const metadata = 'metadata' in s && s.metadata !== undefined ? 1 : 0;
  return (s.samples ?? 1) + (s.histograms ?? 0) + (exemplars ? (s.exemplars ?? 0) : 0) + metadata;
}

/** The longest prefix of `costs` summing to at most `budget`. */
function expectedPrefix(costs: number[], budget: number): number {
  let sum = 0;
  let n = 0;
  for (const c of costs) {
    if (sum + c > budget) break;
    sum += c;
    n++;
  }
  return n;
}

describe('fittingPrefix', () => {
  it('starts after the series already delivered, which it neither keeps nor charges (property)', () => {
    fc.assert(
      fc.property(fc.array(rw1Series, { maxLength: 15 }), fc.nat(30), fc.nat(16), (series, budget, skip) => {
        const body = encodeWriteRequest(writeRequest(series));
        const info = scanWriteRequest(body, body.length);
        const fit = fittingPrefix(body, info, true, budget, skip);
        const costs = series.slice(skip).map((s) => specCost(s, true));
        const n = expectedPrefix(costs, budget);
        expect(Array.from(fit.keep)).toEqual(series.map((_, i) => (i >= skip && i < skip + n ? 1 : 0)));
        expect(fit.cost).toBe(costs.slice(0, n).reduce((a, b) => a + b, 0));
        expect(fit.info.series).toBe(n);
      }),
    );
  });

  it('keeps the longest prefix that fits, costed as Mimir charges it (RW1, property)', () => {
    fc.assert(
      fc.property(
        fc.array(rw1Series, { maxLength: 15 }),
        fc.nat(30),
        fc.boolean(),
        (series, budget, exemplars) => {
          const body = encodeWriteRequest(writeRequest(series));
          const info = scanWriteRequest(body, body.length);
          const fit = fittingPrefix(body, info, exemplars, budget);
          const costs = series.map((s) => specCost(s, exemplars));
          const n = expectedPrefix(costs, budget);
          expect(Array.from(fit.keep)).toEqual(series.map((_, i) => (i < n ? 1 : 0)));
          expect(fit.cost).toBe(costs.slice(0, n).reduce((a, b) => a + b, 0));
          expect(fit.cost).toBeLessThanOrEqual(budget);
          expect(fit.info.series).toBe(n);
          const kept = series.slice(0, n);
          expect(fit.info.floatSamples).toBe(kept.reduce((a, s) => a + (s.samples ?? 1), 0));
          expect(fit.info.histogramSamples).toBe(kept.reduce((a, s) => a + (s.histograms ?? 0), 0));
          expect(fit.info.exemplars).toBe(kept.reduce((a, s) => a + (s.exemplars ?? 0), 0));
        },
      ),
    );
  });

  it('counts a remote write 2.0 series’ metadata as Mimir does (RW2, property)', () => {
    fc.assert(
      fc.property(fc.array(rw2Series, { maxLength: 15 }), fc.nat(30), (series, budget) => {
        const body = encodeRw2(rw2Request(series));
        const info = scanWriteRequestV2(body, body.length);
        const fit = fittingPrefix(body, info, false, budget);
        const costs = series.map((s) => specCost(s, false));
        const n = expectedPrefix(costs, budget);
        expect(fit.info.series).toBe(n);
        expect(fit.cost).toBe(costs.slice(0, n).reduce((a, b) => a + b, 0));
        expect(fit.info.metadata).toBe(series.slice(0, n).filter((s) => s.metadata !== undefined).length);
      }),
    );
  });
});

/** A resolved tenant with Mimir's defaults and `limits` over them, every limit enforced. */
function tenant(limits: Partial<Record<NumericLimitName, number>>): ResolvedTenant {
  const defaults = Object.fromEntries(LIMIT_DEFINITIONS.map((d) => [d.name, d.defaultValue]));
  return {
    limits: { ...defaults, ...limits } as TenantLimits,
    enforcement: { enabled: true, limits: {} },
    hasOverrides: true,
  };
}

function query(cost: number, rate: number, burst: number): RateQuery {
  return {
    requestRate: 0,
    requestBurst: 0,
    ingestionRate: rate,
    ingestionBurst: burst,
    cost,
    requestEnforced: true,
  };
}

describe('the selective decision', () => {
  const series: SeriesSpec[] = ['s1', 's2', 's3', 's4'].map((n) => ({ labels: { __name__: n }, samples: 3 }));
  const request = writeRequest(series, 2);
  const decoded = encodeWriteRequest(request);
  const measured: MeasuredBody = {
    info: scanWriteRequest(decoded, decoded.length),
    decoded,
    describeSeries: () => '',
  };
  const cost = 14; // 12 samples + 2 metadata
  const whole = denial('ingestion_rate', 'over', 6, cost, 3);
  const on = tenant({ selective_filtering: 1, ingestion_rate: 6, ingestion_burst_size: 20 });
  const now = () => 1_000;
  const sent = (d: Decision) =>
    writeRequestType.toObject(
      writeRequestType.decode(snappy.uncompressSync(Buffer.from(d.partial!.body)) as Buffer),
    ) as { timeseries: { labels: { value: string }[] }[]; metadata?: { metricFamilyName: string }[] };

  it('forwards the part that fits, without the metadata, and asks for a retry once the rest fits', () => {
    const filter = new SelectiveFilter();
    const q = query(cost, 6, 20);
    const answer = { requestWaitMs: 0, ingestionWaitMs: 1000, ingestionTokens: 7.5 };
    const plan = filter.plan(on, measured, q, answer, whole, undefined);
    expect(plan).toBeDefined();
    expect(plan!.info.series).toBe(2);
    expect(plan!.query).toMatchObject({ cost: 6, requestRate: 0 });
    const d = filter.decision('t', plan!, measured, q, { requestWaitMs: 0, ingestionWaitMs: 0 }, whole, now);
    expect(d.allowed).toBe(true);
    expect(d.partial!.refusal).toMatchObject({ status: 429, reason: 'ingestion_rate' });
    // 1.5 tokens left after the part; the rest costs 8: (8 − 1.5) / 6 = 1.08 s → 2 s.
    expect(d.partial!.refusal!.retryAfterSeconds).toBe(2);
    expect(d.partial!.refusal!.message).toContain('2 of its series (6 items) were forwarded, 2 of 4 so far');
    expect(sent(d).timeseries.map((t) => t.labels[0]!.value)).toEqual(['s1', 's2']);
    expect(sent(d).metadata ?? []).toEqual([]);
  });

  it('remembers a delivered part only once the upstream accepted it, and resumes the retry with the rest', () => {
    const filter = new SelectiveFilter();
    const q = query(cost, 6, 20);
    const plan = filter.plan(
      on,
      measured,
      q,
      { requestWaitMs: 0, ingestionWaitMs: 1, ingestionTokens: 7 },
      whole,
      undefined,
    )!;
    const d = filter.decision('t', plan, measured, q, { requestWaitMs: 0, ingestionWaitMs: 0 }, whole, now);
    expect(
      filter.resume('t', on, measured, 1_000),
      'not delivered yet: the upstream may still refuse it',
    ).toBeUndefined();
    d.partial!.delivered!();
    const resumed = filter.resume('t', on, measured, 2_000)!;
    expect(resumed.skip).toBe(2);
    // The rest: s3 and s4 (6 samples) plus the 2 metadata entries no part carried.
    expect(resumed.rest.cost).toBe(8);
    expect(resumed.rest.info).toMatchObject({ series: 2, floatSamples: 6, metadata: 2 });
    expect(filter.resume('other-tenant', on, measured, 2_000), 'the key includes the tenant').toBeUndefined();

    // The rest is over budget again: the next part starts after the delivered series.
    const q2 = query(8, 6, 20);
    const plan2 = filter.plan(
      on,
      measured,
      q2,
      { requestWaitMs: 0, ingestionWaitMs: 1, ingestionTokens: 3 },
      whole,
      resumed,
    )!;
    const d2 = filter.decision(
      't',
      plan2,
      measured,
      q2,
      { requestWaitMs: 0, ingestionWaitMs: 0 },
      whole,
      now,
    );
    expect(sent(d2).timeseries.map((t) => t.labels[0]!.value)).toEqual(['s3']);
    expect(d2.partial!.refusal!.message).toContain('3 of 4 so far');
    d2.partial!.delivered!();

    // The last retry fits: the rest and the metadata go, and the upstream's answer is the client's.
    const last = filter.resume('t', on, measured, 3_000)!;
    expect(last.skip).toBe(3);
    const done = filter.completing(last, measured, ALLOWED);
    expect(done.partial!.refusal).toBeUndefined();
    expect(sent(done).timeseries.map((t) => t.labels[0]!.value)).toEqual(['s4']);
    expect(sent(done).metadata!.map((m) => m.metricFamilyName)).toEqual(['m0', 'm1']);
    done.partial!.delivered!();
    expect(
      filter.resume('t', on, measured, 4_000),
      'complete: a new request with the same bytes is new',
    ).toBeUndefined();
  });

  it('answers the whole 429 when another request took the tokens first', () => {
    const filter = new SelectiveFilter();
    const q = query(cost, 6, 20);
    const plan = filter.plan(
      on,
      measured,
      q,
      { requestWaitMs: 0, ingestionWaitMs: 1000, ingestionTokens: 7 },
      whole,
      undefined,
    )!;
    expect(
      filter.decision('t', plan, measured, q, { requestWaitMs: 0, ingestionWaitMs: 500 }, whole, now),
    ).toBe(whole);
  });

  it('does not apply when off, for other reasons, or when not even the next series fits', () => {
    const filter = new SelectiveFilter();
    const q = query(cost, 6, 20);
    const answer = { requestWaitMs: 0, ingestionWaitMs: 1000, ingestionTokens: 7 };
    expect(selectiveApplies(tenant({}), measured), 'off by default').toBe(false);
    expect(selectiveApplies(on, measured)).toBe(true);
    expect(filter.plan(on, measured, q, answer, ALLOWED, undefined)).toBeUndefined();
    const requestRate = denial('request_rate', 'over', 1, 1, 1);
    expect(filter.plan(on, measured, q, answer, requestRate, undefined)).toBeUndefined();
    expect(
      filter.plan(on, measured, q, { ...answer, ingestionTokens: 2.9 }, whole, undefined),
    ).toBeUndefined();
  });

  it('works the tokens back from the wait when the store does not report them', () => {
    expect(availableTokens(query(14, 6, 20), { requestWaitMs: 0, ingestionWaitMs: 1000 })).toBeCloseTo(8);
    expect(availableTokens(query(30, 6, 20), { requestWaitMs: 0, ingestionWaitMs: Infinity })).toBe(20);
  });

  it('leaves a remote write 2.0 request re-encoded with its symbols table', () => {
    const filter = new SelectiveFilter();
    const rw2 = encodeRw2(rw2Request(series));
    const m: MeasuredBody = {
      info: scanWriteRequestV2(rw2, rw2.length),
      decoded: rw2,
      describeSeries: () => '',
    };
    const q = query(12, 6, 20);
    const plan = filter.plan(
      on,
      m,
      q,
      { requestWaitMs: 0, ingestionWaitMs: 1000, ingestionTokens: 9 },
      whole,
      undefined,
    )!;
    const d = filter.decision('t', plan, m, q, { requestWaitMs: 0, ingestionWaitMs: 0 }, whole, now);
    const out = rw2RequestType.toObject(
      rw2RequestType.decode(snappy.uncompressSync(Buffer.from(d.partial!.body)) as Buffer),
    ) as { symbols: string[]; timeseries: { labelsRefs: number[] }[] };
    expect(out.timeseries.map((t) => out.symbols[t.labelsRefs[1]!])).toEqual(['s1', 's2', 's3']);
  });
});

describe('DeliveredPrefixes', () => {
  it('forgets entries past their age and the oldest past its size, and tracks tenants with something pending', () => {
    const d = new DeliveredPrefixes(2, 1_000);
    d.set('a', 't1', 1, 0);
    d.set('b', 't2', 1, 10);
    expect(d.hasPending('t1')).toBe(true);
    d.set('c', 't2', 1, 20);
    expect(d.get('a', 20), 'the oldest gave way').toBeUndefined();
    expect(d.hasPending('t1')).toBe(false);
    expect(d.get('b', 1_011), 'too old').toBeUndefined();
    expect(d.sweep(2_000)).toBe(1);
    expect(d.size).toBe(0);
    expect(d.hasPending('t2')).toBe(false);
  });
});
