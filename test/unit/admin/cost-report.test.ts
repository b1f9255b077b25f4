// GET /api/cost's figures and export, from the rings the service records into: accepted items and bytes only,
// priced per million and per GiB, the same numbers in the JSON and the CSV, and tenant ids that cannot turn
// into spreadsheet formulas.

import { describe, expect, it } from 'vitest';
import { ALLOWED, denial } from '../../../src/decision/catalogue.js';
import type { AdminContext } from '../../../src/admin/context.js';
import { costCsv, costReport, topOffenders } from '../../../src/admin/insight-views.js';
import type { BurstDetector } from '../../../src/observe/insight/burst-detector.js';
import { BYTES_PER_GIB } from '../../../src/observe/insight/cost.js';
import { DecisionAggregator } from '../../../src/observe/stats/decision-aggregator.js';
import type { RequestInfo } from '../../../src/remote-write/request-info.js';
import { loadSettings } from '../../../src/settings/settings.js';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);

function info(floatSamples: number, exemplars: number, bytes: number): RequestInfo {
  return {
    format: 'prw1',
    series: 1,
    floatSamples,
    histogramSamples: 2,
    exemplars,
    metadata: 0,
    maxLabelNames: 3,
    maxLabelNamesSeries: 0,
    maxLabelNameLength: 5,
    maxLabelNameSeries: 0,
    maxLabelValueLength: 5,
    maxLabelValueSeries: 0,
    bytesCompressed: bytes,
    bytesUncompressed: bytes * 4,
  };
}

function context(
  env: Record<string, string>,
  aggregator: DecisionAggregator,
  now: number,
  bursts?: BurstDetector,
) {
  return { settings: loadSettings(env, []), aggregator, now: () => now, bursts } as unknown as AdminContext;
}

const PRICED = { COST_PRICE_PER_MILLION_SAMPLES: '2', COST_PRICE_PER_GIB: '0.5', COST_CURRENCY: 'EUR' };
const DENIED = denial('ingestion_rate', 'ingestion rate limit exceeded', 1, 2, 1);

describe('cost report', () => {
  const agg = new DecisionAggregator(100, T0);
  // team-a: 3 accepted requests of 1,000,000 float samples + 2 histogram samples + 10 exemplars, 1 GiB each.
  for (let i = 0; i < 3; i++)
    agg.record('team-a', T0 + i * 1000, ALLOWED, info(1_000_000, 10, BYTES_PER_GIB), 0);
  // and one denied request: not charged.
  agg.record('team-a', T0 + 5000, DENIED, info(5_000_000, 0, 4 * BYTES_PER_GIB), 0);
  // A tenant id a spreadsheet would read as a formula.
  agg.record('-2*3', T0 + 6000, ALLOWED, info(500_000, 0, 1024), 0);
  agg.record('quiet', T0 - 3 * 86_400_000, ALLOWED, info(1, 0, 1), 0);
  const ctx = context(PRICED, agg, T0 + 60_000);

  it('charges accepted items (samples, histogram samples, exemplars) and accepted bytes only', () => {
    const r = costReport(ctx, '1h');
    expect(r.currency).toBe('EUR');
    expect(r.prices).toEqual({ per_million_samples: 2, per_gib: 0.5 });
    expect(r.tenants.map((t) => t.tenant)).toEqual(['team-a', '-2*3']);
    const a = r.tenants[0]!;
    expect(a.samples).toBe(3 * 1_000_012);
    expect(a.bytes).toBe(3 * BYTES_PER_GIB);
    expect(a.samples_cost).toBeCloseTo((3 * 1_000_012 * 2) / 1e6, 9);
    expect(a.bytes_cost).toBe(1.5);
    expect(a.total_cost).toBeCloseTo(a.samples_cost + 1.5, 9);
    expect(a.samples_rejected).toBe(5_000_002);
    expect(a.bytes_rejected).toBe(4 * BYTES_PER_GIB);
    expect(r.total.samples).toBe(3 * 1_000_012 + 500_002);
    expect(r.total.total_cost).toBeCloseTo(
      r.tenants.reduce((n, t) => n + t.total_cost, 0),
      9,
    );
  });

  it('covers only the range asked for', () => {
    expect(costReport(ctx, '7d').tenants.map((t) => t.tenant)).toContain('quiet');
    expect(costReport(ctx, '1m').tenants).toEqual([]);
  });

  it('exports the same figures as CSV, with formula-like tenant ids defused', () => {
    const r = costReport(ctx, '1h');
    const lines = costCsv(r).split('\r\n');
    expect(lines[0]).toBe(
      'tenant,range,from,to,currency,samples,bytes,samples_cost,bytes_cost,total_cost,samples_rejected,bytes_rejected',
    );
    const a = r.tenants[0]!;
    expect(lines[1]).toBe(
      `team-a,1h,${r.from},${r.to},EUR,${a.samples},${a.bytes},${a.samples_cost},${a.bytes_cost},${a.total_cost},${a.samples_rejected},${a.bytes_rejected}`,
    );
    expect(lines[2]!.startsWith("'-2*3,1h,")).toBe(true);
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('');
  });

  it('costs nothing at the default prices', () => {
    const free = costReport(context({}, agg, T0 + 60_000), '1h');
    expect(free.currency).toBe('USD');
    expect(free.total.total_cost).toBe(0);
    expect(free.total.samples).toBeGreaterThan(0);
  });
});

describe('top offenders', () => {
  it('ranks by denials and by cost, and leaves series growth null until something provides it', () => {
    const agg = new DecisionAggregator(100, T0);
    for (let i = 0; i < 5; i++) agg.record('noisy', T0 + i, DENIED, info(10, 0, 10), 0);
    agg.record('calm', T0, DENIED, info(10, 0, 10), 0);
    agg.record('big', T0, ALLOWED, info(9_000_000, 0, 10), 0);
    agg.record('calm', T0 + 1, ALLOWED, info(1_000, 0, 10), 0);
    const top = topOffenders(context(PRICED, agg, T0 + 10_000), '1h', 10);
    expect(top.by_denials.map((t) => [t.tenant, t.denied])).toEqual([
      ['noisy', 5],
      ['calm', 1],
    ]);
    expect(top.by_denials[1]!.deny_ratio).toBe(0.5);
    expect(top.by_cost.map((t) => t.tenant)).toEqual(['big', 'calm']);
    expect(top.by_series_growth).toBeNull();
    expect(top.bursting).toEqual([]);

    const withGrowth = {
      ...context(PRICED, agg, T0 + 10_000),
      seriesGrowth: () => [{ tenant: 'big', value: 12 }],
    } as AdminContext;
    expect(topOffenders(withGrowth, '1h', 10).by_series_growth).toEqual([{ tenant: 'big', value: 12 }]);
  });
});
