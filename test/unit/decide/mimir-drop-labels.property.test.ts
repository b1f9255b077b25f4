// drop_labels as Mimir applies it: judging a body with some labels dropped must give exactly what judging the
// same body without those labels gives (which series are kept, the first error, what is charged), for RW1 and
// RW2 alike. The body sent with the labels is the reference's twin, encoded independently (protobufjs).

import fc from 'fast-check';
import snappy from 'snappy';
import { describe, expect, it } from 'vitest';
import { filterSeries, measureBody, selectDecoder } from '../../../src/remote-write/index.js';
import type { SeriesRules } from '../../../src/remote-write/index.js';
import { RW2_CONTENT_TYPE, encodeRw2, rw2Request } from '../../helpers/rw2-request.js';
import { encodeWriteRequest, writeRequest } from '../../helpers/write-request.js';
import type { SeriesSpec } from '../../helpers/write-request.js';

const NAMES = ['__name__', 'job', 'pod', 'instance', 'trace_id', 'zone'];
const encoder = new TextEncoder();

function judge(format: 'prw1' | 'prw2', series: SeriesSpec[], rules: SeriesRules) {
  const raw = format === 'prw1' ? encodeWriteRequest(writeRequest(series)) : encodeRw2(rw2Request(series));
  const decoder = selectDecoder(
    '/api/v1/push',
    format === 'prw1' ? 'application/x-protobuf' : RW2_CONTENT_TYPE,
    'snappy',
  );
  if ('unsupported' in decoder) throw new Error(decoder.unsupported);
  const measured = measureBody(decoder, snappy.compressSync(raw), 50 << 20);
  const out = filterSeries(measured.decoded, measured.info, rules);
  const k = out.kept;
  return {
    keep: [...out.keep],
    problem: out.firstProblem && { ...out.firstProblem },
    kept: [k.series, k.floatSamples, k.maxLabelNames, k.maxLabelNameLength, k.maxLabelValueLength],
  };
}

const seriesArb = fc.array(
  fc.record({
    labels: fc.dictionary(fc.constantFrom(...NAMES), fc.string({ minLength: 0, maxLength: 12 }), {
      minKeys: 1,
      maxKeys: 6,
    }),
    samples: fc.integer({ min: 0, max: 3 }),
  }),
  { minLength: 1, maxLength: 8 },
);

describe('drop_labels (property)', () => {
  it('judges a body with dropped labels exactly as the same body without them', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('prw1' as const, 'prw2' as const),
        seriesArb,
        fc.subarray(NAMES, { minLength: 1 }),
        fc.record({
          maxLabelNames: fc.integer({ min: 0, max: 5 }),
          maxLabelNameLength: fc.constantFrom(0, 3, 5, 8),
          maxLabelValueLength: fc.integer({ min: 0, max: 10 }),
        }),
        (format, series, dropped, limits) => {
          const base: SeriesRules = {
            ...limits,
            maxLabelNamesPerInfoSeries: 0,
            exemplarsCharged: false,
            maxExemplarsPerSeries: 0,
          };
          const withDrop = judge(format, series, {
            ...base,
            dropLabels: dropped.map((n) => encoder.encode(n)),
          });
          const stripped = series.map((s) => ({
            ...s,
            labels: Object.fromEntries(Object.entries(s.labels).filter(([n]) => !dropped.includes(n))),
          }));
          expect(withDrop).toEqual(judge(format, stripped, base));
        },
      ),
      { numRuns: 400 },
    );
  });
});
