// The cost and burst metrics as Prometheus scrapes them: one series per tracked tenant, values from the
// burst detector and the per-tenant counters, label values escaped, and nothing for a tenant still warming up.

import { describe, expect, it } from 'vitest';
import { EdgeMetrics } from '../../../src/observe/metrics.js';
import { BurstDetector } from '../../../src/observe/insight/burst-detector.js';
import { BYTES_PER_GIB } from '../../../src/observe/insight/cost.js';

const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);

describe('rls_tenant_burst and rls_tenant_cost_total', () => {
  it('render from the detector and the counters at scrape time', async () => {
    const metrics = new EdgeMetrics(false);
    const d = new BurstDetector({
      factor: 3,
      minRate: 1,
      windowMs: 60_000,
      baselineMs: 3_600_000,
      warmupMs: 10_000,
    });
    let steady = 0;
    let bursty = 0;
    for (let t = 0; t <= 600_000; t += 5_000) {
      steady += 500;
      bursty += t > 500_000 ? 5_000 : 500;
      d.update(T0 + t, [
        ['steady', steady],
        ['say "hi"', bursty],
      ]);
    }
    d.update(T0 + 600_001, [
      ['steady', steady],
      ['say "hi"', bursty],
      ['new', 5],
    ]);
    metrics.insight.bursts = () => d.views();
    metrics.insight.prices = { perMillionSamples: 2, perGiB: 1, currency: 'EUR' };
    metrics.insight.usage = () => [{ tenant: 'steady', samples: 3_000_000, bytes: BYTES_PER_GIB / 4 }];
    const text = await metrics.registry.metrics();
    expect(text).toContain('rls_tenant_burst{tenant="steady"} 0');
    expect(text).toContain('rls_tenant_burst{tenant="say \\"hi\\""} 1');
    // A tenant without BURST_WARMUP of history has no burst series yet.
    expect(text).not.toMatch(/rls_tenant_burst\{tenant="new"\}/);
    const ratio = Number(/rls_tenant_burst_ratio\{tenant="steady"\} (\S+)/.exec(text)?.[1]);
    expect(ratio).toBeCloseTo(1, 3);
    expect(text).toContain('rls_tenant_cost_total{tenant="steady",currency="EUR"} 6.25');
    expect(text).toContain(`rls_tenant_accepted_bytes_total{tenant="steady"} ${BYTES_PER_GIB / 4}`);
    const json = await metrics.registry.getMetricsAsJSON();
    const cost = json.find((m) => m.name === 'rls_tenant_cost_total')!;
    expect(cost.values).toEqual([{ labels: { tenant: 'steady', currency: 'EUR' }, value: 6.25 }]);
  });

  it('are declared even with nothing attached, so alert rules and dashboards can name them', async () => {
    const text = await new EdgeMetrics(false).registry.metrics();
    for (const name of [
      'rls_tenant_burst',
      'rls_tenant_burst_ratio',
      'rls_tenant_cost_total',
      'rls_tenant_accepted_bytes_total',
    ])
      expect(text).toContain(`# TYPE ${name} `);
  });
});
