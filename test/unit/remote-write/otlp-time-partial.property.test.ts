// OTLP partial acceptance for the sample time checks (pkg/distributor/validate.go validateSample on the series
// pkg/distributor/otel.go translates): the body that goes upstream keeps exactly the points within
// [earliest, latest], protobuf and JSON alike, the first point out of bounds in body order is the one named, and the
// edge charges exactly the items of the points kept (target_info is never refused for its time: it takes the
// latest time of the points kept). The scanners' time bounds must hold every point's time.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  SAMPLE_KEY_MS,
  filterOtlp,
  measureBody,
  otlpPointTimes,
  selectDecoder,
} from '../../../src/remote-write/index.js';
import type { Attributes, OtlpMetricSpec, OtlpResourceSpec } from '../../helpers/otlp-request.js';
import {
  CUMULATIVE,
  DELTA,
  encodeOtlpJson,
  encodeOtlpProto,
  otlpRequest,
} from '../../helpers/otlp-request.js';

const BASE_MS = 1_700_000_000_000;
const LATEST = BASE_MS + 100_000_000_000;
const EARLIEST = BASE_MS - 100_000_000_000;
/** Offsets from the base time: in bounds, too far in the future, too far in the past. */
const OFFSETS = [0, 0, 50_000_000_000, 300_000_000_000, -300_000_000_000];

const resourcesArb: fc.Arbitrary<OtlpResourceSpec[]> = fc.array(
  fc.record({
    attributes: fc.constantFrom<Attributes>(
      { 'service.name': 'api' },
      { 'service.name': 'api', 'host.id': 'h1' },
      {},
    ),
    metrics: fc.array(
      fc.record({
        name: fc.constantFrom('up', 'latency', 'queue'),
        kind: fc.constantFrom(
          'gauge' as const,
          'sum' as const,
          'histogram' as const,
          'exponentialHistogram' as const,
          'summary' as const,
        ),
        temporality: fc.constantFrom(CUMULATIVE, CUMULATIVE, DELTA),
        points: fc.array(
          fc.record({
            attributes: fc.constantFrom<Attributes>({ zone: 'a' }, { zone: 'b', pod: 'p' }, {}),
            buckets: fc.integer({ min: 0, max: 2 }),
            timeOffsetMs: fc.constantFrom(...OFFSETS),
          }),
          { maxLength: 3 },
        ),
      }),
      { maxLength: 3 },
    ),
  }),
  { minLength: 1, maxLength: 3 },
);

const counted = (m: OtlpMetricSpec): boolean =>
  m.kind === 'gauge' || m.kind === 'summary' || (m.temporality ?? CUMULATIVE) === CUMULATIVE;
const within = (offset: number | undefined): boolean => {
  const ms = BASE_MS + (offset ?? 0);
  return ms <= LATEST && ms >= EARLIEST;
};

/** The request without the points out of bounds (containers that lose every point go too), and the first one. */
function expected(resources: OtlpResourceSpec[]): { kept: OtlpResourceSpec[]; first: number | undefined } {
  let ordinal = 0;
  let first: number | undefined;
  const kept: OtlpResourceSpec[] = [];
  for (const r of resources) {
    let lost = false;
    const metrics: OtlpMetricSpec[] = [];
    for (const m of r.metrics) {
      if (!counted(m)) {
        metrics.push(m);
        continue;
      }
      const points = m.points.filter((p) => {
        const ok = within(p.timeOffsetMs);
        if (!ok) first ??= ordinal;
        ordinal++;
        return ok;
      });
      if (points.length < m.points.length) lost = true;
      if (points.length > 0 || m.points.length === 0) metrics.push({ ...m, points });
    }
    ordinal++; // target_info
    if (!lost || metrics.some((m) => m.points.length > 0)) kept.push({ attributes: r.attributes, metrics });
  }
  return { kept, first };
}

type Format = 'otlp-proto' | 'otlp-json';
function measure(format: Format, resources: OtlpResourceSpec[]) {
  const decoder = selectDecoder(
    '/otlp/v1/metrics',
    format === 'otlp-proto' ? 'application/x-protobuf' : 'application/json',
    '',
  );
  if ('unsupported' in decoder) throw new Error(decoder.unsupported);
  const request = otlpRequest(resources);
  const body = format === 'otlp-proto' ? encodeOtlpProto(request) : encodeOtlpJson(request);
  return measureBody(decoder, body, 1 << 20);
}
const cost = (i: {
  floatSamples: number;
  histogramSamples: number;
  exemplars: number;
  metadata: number;
}): number => i.floatSamples + i.histogramSamples + i.exemplars + i.metadata;

describe('OTLP partial acceptance for point times (property)', () => {
  it('forwards exactly the points within the bounds, names the first one out, and charges what goes', () => {
    fc.assert(
      fc.property(fc.constantFrom<Format>('otlp-proto', 'otlp-json'), resourcesArb, (format, resources) => {
        const measured = measure(format, resources);
        const times = otlpPointTimes(measured.decoded, measured.info.format, LATEST, EARLIEST);
        const limits = { maxLabelNames: 0, maxLabelNameLength: 0, maxLabelValueLength: 0 };
        const f = filterOtlp(
          measured.decoded,
          measured.info,
          { ...limits, times: { ...times, latestMs: LATEST, earliestMs: EARLIEST } },
          new Set(),
        );
        const want = expected(resources);
        expect(f.firstProblem?.series).toBe(want.first);
        if (want.first === undefined) {
          expect(f.body).toBeUndefined();
          return;
        }
        expect(f.firstProblem?.kind).toMatch(/^sample_too_far_in_(future|past)$/);
        const sent = measure(format, want.kept);
        if (format === 'otlp-proto')
          expect(Buffer.from(f.body!).equals(Buffer.from(sent.decoded))).toBe(true);
        else expect(JSON.parse(Buffer.from(f.body!).toString('utf8'))).toEqual(otlpRequest(want.kept));
        expect(cost(f.kept)).toBe(cost(sent.info));
      }),
      { numRuns: 300 },
    );
  });

  it('the scan bounds every point time the exact pass reads', () => {
    fc.assert(
      fc.property(fc.constantFrom<Format>('otlp-proto', 'otlp-json'), resourcesArb, (format, resources) => {
        const measured = measure(format, resources);
        const { minSampleTimeKey, maxSampleTimeKey } = measured.info;
        const times = otlpPointTimes(measured.decoded, measured.info.format, Infinity, -Infinity);
        const points = resources.flatMap((r) => r.metrics.filter(counted).flatMap((m) => m.points));
        if (points.length === 0) return;
        expect(minSampleTimeKey).toBeDefined();
        for (let i = 0; i < times.timeMs.length; i++) {
          const ms = times.timeMs[i]!;
          if (ms === 0) continue; // a target_info ordinal
          expect(ms).toBeGreaterThanOrEqual(minSampleTimeKey! * SAMPLE_KEY_MS);
          expect(ms).toBeLessThanOrEqual((maxSampleTimeKey! + 1) * SAMPLE_KEY_MS - 1);
        }
      }),
      { numRuns: 200 },
    );
  });
});
