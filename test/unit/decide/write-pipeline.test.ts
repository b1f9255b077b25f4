// decide() as a sender would experience it: which limit answers, with which status, and what an
// observed-only limit does (forward, record "would deny").

import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/decide/write-pipeline.js';
import { LimitsRegistry } from '../../../src/limits/limits-registry.js';
import { loadSettings } from '../../../src/settings/settings.js';
import type { RequestInfo } from '../../../src/remote-write/index.js';
import { InProcessRateStore } from '../../../src/stores/in-process-rate-store.js';

const defaults = loadSettings({}, []).defaultLimits;

function info(over: Partial<RequestInfo> = {}): RequestInfo {
  return {
    format: 'prw1',
    series: 10,
    floatSamples: 10,
    histogramSamples: 0,
    exemplars: 0,
    metadata: 0,
    maxLabelNames: 5,
    maxLabelNamesSeries: 0,
    maxLabelNameLength: 10,
    maxLabelNameSeries: 0,
    maxLabelValueLength: 10,
    maxLabelValueSeries: 0,
    bytesCompressed: 100,
    bytesUncompressed: 200,
    ...over,
  };
}

function run(
  overrides: Record<string, number>,
  requests: Partial<RequestInfo>[],
  opts: { dryRun?: boolean; enforcement?: Record<string, boolean> } = {},
) {
  const registry = new LimitsRegistry(
    defaults,
    new Map(opts.enforcement ? [['t', { enabled: true, limits: opts.enforcement }]] : []),
  );
  registry.setOverrides(new Map([['t', overrides]]));
  const store = new InProcessRateStore();
  return requests.map((r) =>
    decide({
      tenant: registry.forTenant('t'),
      tenantId: 't',
      info: info(r),
      store,
      nowMs: 0,
      dryRun: opts.dryRun ?? false,
      body: new Uint8Array(),
      describeSeries: () => "series: 'x'",
    }),
  );
}

describe('decide', () => {
  it('counts samples, histogram samples, exemplars and metadata against ingestion_rate', () => {
    const [a, b] = run({ ingestion_burst_size: 20 }, [
      { floatSamples: 5, histogramSamples: 5, exemplars: 5, metadata: 5 },
      { floatSamples: 1 },
    ]);
    expect(a!.allowed).toBe(true);
    expect(b).toMatchObject({ allowed: false, reason: 'ingestion_rate', status: 429, observed: 1 });
  });

  it('checks the static limits before the buckets, so a refused request costs no tokens', () => {
    const [a, b] = run({ ingestion_burst_size: 10, max_label_names_per_series: 4 }, [
      { maxLabelNames: 5 },
      { maxLabelNames: 4 },
    ]);
    expect(a).toMatchObject({ allowed: false, reason: 'max_label_names_per_series', status: 400 });
    expect(b).toMatchObject({ allowed: true });
  });

  // Mimir: pkg/distributor/ingestion_rate_strategy_test.go TestIngestionRateStrategy "Burst factor should be 3x
  // the per distributor limit" (burst = ceil(limit × factor)); the edge's bucket holds the tenant's whole rate.
  it('sizes the ingestion bucket ceil(ingestion_rate × ingestion_burst_factor) when the factor is set', () => {
    const [a, b] = run({ ingestion_rate: 1000, ingestion_burst_size: 10, ingestion_burst_factor: 2.5 }, [
      { floatSamples: 2500 },
      { floatSamples: 1 },
    ]);
    expect(a).toMatchObject({ allowed: true });
    expect(b).toMatchObject({ allowed: false, reason: 'ingestion_rate', status: 429 });
    const [c] = run({ ingestion_rate: 3, ingestion_burst_size: 1, ingestion_burst_factor: 0.5 }, [
      { floatSamples: 2 },
    ]);
    expect(c, 'ceil(1.5) = 2').toMatchObject({ allowed: true });
    const [d] = run({ ingestion_rate: 1000, ingestion_burst_size: 10, ingestion_burst_factor: 0 }, [
      { floatSamples: 11 },
    ]);
    expect(d, 'factor 0: ingestion_burst_size').toMatchObject({ allowed: false, reason: 'ingestion_rate' });
  });

  it('treats request_burst_size 0 as Mimir does: no bound on the burst', () => {
    const results = run(
      { request_rate: 1, request_burst_size: 0 },
      Array.from({ length: 50 }, () => ({})),
    );
    expect(results.every((d) => d.allowed)).toBe(true);
  });

  it('lets an observed limit through with wouldDeny, and still enforces the others', () => {
    const [a, b] = run({ ingestion_burst_size: 5, max_series_per_request: 20 }, [{}, { series: 21 }], {
      enforcement: { ingestion_rate: false },
    });
    expect(a).toMatchObject({ allowed: true, wouldDeny: true, reason: 'ingestion_rate' });
    expect(b).toMatchObject({ allowed: false, reason: 'max_series_per_request' });
  });

  it('denies nothing in dry run but reports the first limit that would have', () => {
    const [a] = run({ max_label_value_length: 5, ingestion_burst_size: 1 }, [{}], { dryRun: true });
    expect(a).toMatchObject({ allowed: true, wouldDeny: true, reason: 'max_label_value_length' });
  });
});
