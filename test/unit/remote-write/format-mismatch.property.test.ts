// A body whose fields do not fit the format its Content-Type names must never be measured as cheaper than it is:
// for random bodies of every format (RW1, RW2, OTLP protobuf, OTLP JSON) sent under every other format's
// Content-Type, the edge either refuses the body (BodyDecodeError, a 400) or measures at least the body's true
// cost. Before the top-level rule (src/remote-write/format-fit.ts) an RW1 body labelled RW2 measured zero items.

import fc from 'fast-check';
import snappy from 'snappy';
import { describe, expect, it } from 'vitest';

import { BodyDecodeError } from '../../../src/remote-write/errors.js';
import { isUnsupportedMediaType, measureBody, selectDecoder } from '../../../src/remote-write/format.js';
import type { BodyDecoder } from '../../../src/remote-write/format.js';
import { ingestionCost } from '../../../src/remote-write/request-info.js';
import type { OtlpMetricSpec, OtlpResourceSpec } from '../../helpers/otlp-request.js';
import { CUMULATIVE, encodeOtlpJson, encodeOtlpProto, otlpRequest } from '../../helpers/otlp-request.js';
import type { Rw2SeriesSpec } from '../../helpers/rw2-request.js';
import { RW2_CONTENT_TYPE, encodeRw2, rw2Request } from '../../helpers/rw2-request.js';
import type { SeriesSpec } from '../../helpers/write-request.js';
import { encodeWriteRequest, writeRequest } from '../../helpers/write-request.js';

const MAX = 64 * 1024 * 1024;

/** The four ways a body can be labelled: path, Content-Type, Content-Encoding. */
const LABELS = {
  rw1: ['/api/v1/push', 'application/x-protobuf', 'snappy'],
  rw2: ['/api/v1/push', RW2_CONTENT_TYPE, 'snappy'],
  'otlp-proto': ['/otlp/v1/metrics', 'application/x-protobuf', undefined],
  'otlp-json': ['/otlp/v1/metrics', 'application/json', undefined],
} as const;
type Label = keyof typeof LABELS;

function decoderFor(label: Label): BodyDecoder {
  const [path, type, encoding] = LABELS[label];
  const d = selectDecoder(path, type, encoding);
  if (isUnsupportedMediaType(d)) throw new Error(d.unsupported);
  return d;
}

/** The body as sent under `label`: the raw message bytes, compressed as that label's encoding asks. */
function wire(label: Label, message: Buffer): Buffer {
  return decoderFor(label).encoding === 'snappy' ? snappy.compressSync(message) : message;
}

/** What the edge charges for `message` sent as `label`, or 'refused' for a 400. */
function charged(label: Label, message: Buffer): number | 'refused' {
  try {
    return ingestionCost(measureBody(decoderFor(label), wire(label, message), MAX).info);
  } catch (err) {
    if (err instanceof BodyDecodeError) return 'refused';
    throw err;
  }
}

const name = fc.string({ unit: fc.constantFrom(...'abcz_'.split('')), minLength: 1, maxLength: 10 });
const value = fc.string({ maxLength: 12 });
const labels = fc.dictionary(name, value, { minKeys: 0, maxKeys: 4 });
/**
 * A series' labels always hold a metric name: Mimir ingests nothing of a series without one, so its true cost is 0
 * whatever it carries (and an RW1 series without labels is, byte for byte, an OTLP ResourceMetrics with a
 * schema_url, which Mimir's OTLP path would read as such and ingest nothing of either).
 */
const seriesLabels = fc
  .tuple(name, labels)
  .map(([metric, rest]): Record<string, string> => ({ __name__: metric, ...rest }));

const rw1Series: fc.Arbitrary<SeriesSpec> = fc.record({
  labels: seriesLabels,
  samples: fc.nat(3),
  exemplars: fc.nat(2),
  histograms: fc.nat(2),
});
const rw2Series: fc.Arbitrary<Rw2SeriesSpec> = fc.record({
  labels: seriesLabels,
  samples: fc.nat(3),
  exemplars: fc.nat(2),
  histograms: fc.nat(2),
  metadata: fc.option(fc.record({ type: fc.nat(7), help: value, unit: value }), { nil: undefined }),
});
const otlpMetric: fc.Arbitrary<OtlpMetricSpec> = fc.record({
  name,
  kind: fc.constantFrom('gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'),
  temporality: fc.constant(CUMULATIVE),
  points: fc.array(
    fc.record({ attributes: labels, exemplars: fc.nat(2), buckets: fc.nat(3), hasSum: fc.boolean() }),
    { maxLength: 3 },
  ),
});
const otlpResource: fc.Arbitrary<OtlpResourceSpec> = fc.record({
  attributes: labels,
  metrics: fc.array(otlpMetric, { maxLength: 3 }),
});

/** A random body of each format, as its message bytes (before compression). */
const bodies: fc.Arbitrary<[Label, Buffer]> = fc.oneof(
  fc
    .tuple(fc.array(rw1Series, { maxLength: 4 }), fc.nat(3))
    .map(([series, metadata]): [Label, Buffer] => [
      'rw1',
      encodeWriteRequest(writeRequest(series, metadata)),
    ]),
  fc
    .array(rw2Series, { maxLength: 4 })
    .map((series): [Label, Buffer] => ['rw2', encodeRw2(rw2Request(series))]),
  fc
    .array(otlpResource, { maxLength: 3 })
    .map((r): [Label, Buffer] => ['otlp-proto', encodeOtlpProto(otlpRequest(r))]),
  fc
    .array(otlpResource, { maxLength: 3 })
    .map((r): [Label, Buffer] => ['otlp-json', encodeOtlpJson(otlpRequest(r))]),
);

describe('a body under another format’s Content-Type', () => {
  it('is refused or charged at least its true cost, for every pair of formats', () => {
    fc.assert(
      fc.property(bodies, ([truth, message]) => {
        const trueCost = charged(truth, message);
        expect(trueCost).not.toBe('refused');
        for (const label of Object.keys(LABELS) as Label[]) {
          if (label === truth) continue;
          const cost = charged(label, message);
          if (cost !== 'refused')
            expect(cost, `${truth} body sent as ${label}`).toBeGreaterThanOrEqual(trueCost as number);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuses the remote write 1.0 body labelled 2.0 that used to pass as empty, and the reverse', () => {
    const rw1 = encodeWriteRequest(writeRequest([{ labels: { __name__: 'up', job: 'a' }, samples: 5 }], 2));
    expect(charged('rw1', rw1)).toBe(7);
    expect(charged('rw2', rw1)).toBe('refused');
    expect(charged('otlp-proto', rw1)).toBe('refused');
    const rw2 = encodeRw2(rw2Request([{ labels: { __name__: 'up' }, samples: 4 }]));
    expect(charged('rw2', rw2)).toBe(4);
    expect(charged('rw1', rw2)).toBe('refused');
    expect(charged('otlp-proto', rw2)).toBe('refused');
  });

  it('says why: the field, and that the body does not match its Content-Type', () => {
    const rw1 = encodeWriteRequest(writeRequest([{ labels: { __name__: 'up' } }]));
    expect(() => measureBody(decoderFor('rw2'), snappy.compressSync(rw1), MAX)).toThrow(
      /invalid protobuf: field 1 \(length-delimited\) is not a field of io\.prometheus\.write\.v2\.Request \(remote write 2\.0\); the body does not match its Content-Type at offset 1/,
    );
  });
});
