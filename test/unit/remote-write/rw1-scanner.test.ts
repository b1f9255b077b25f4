// Checks scanWriteRequest and describeSeries against protobufjs, an independent encoder of the prompb schema.
// The oracle computes every RequestInfo field from the objects that were encoded, never from the bytes.

import fc from 'fast-check';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';

import { BodyDecodeError, describeSeries, scanWriteRequest } from '../../../src/remote-write/index.js';
import type { RequestInfo } from '../../../src/remote-write/index.js';

// Transcribed from prometheus/prompb remote.proto and types.proto (field numbers and types are the contract).
const PROMPB = `
syntax = "proto3";
package prometheus;
message WriteRequest {
  repeated TimeSeries timeseries = 1;
  reserved 2;
  repeated MetricMetadata metadata = 3;
}
message MetricMetadata {
  enum MetricType { UNKNOWN = 0; COUNTER = 1; GAUGE = 2; HISTOGRAM = 3; GAUGEHISTOGRAM = 4; SUMMARY = 5; INFO = 6; STATESET = 7; }
  MetricType type = 1;
  string metric_family_name = 2;
  string help = 4;
  string unit = 5;
}
message Sample { double value = 1; int64 timestamp = 2; }
message Exemplar { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }
message Histogram {
  enum ResetHint { UNKNOWN = 0; YES = 1; NO = 2; GAUGE = 3; }
  oneof count { uint64 count_int = 1; double count_float = 2; }
  double sum = 3;
  sint32 schema = 4;
  double zero_threshold = 5;
  oneof zero_count { uint64 zero_count_int = 6; double zero_count_float = 7; }
  repeated BucketSpan negative_spans = 8;
  repeated sint64 negative_deltas = 9;
  repeated double negative_counts = 10;
  repeated BucketSpan positive_spans = 11;
  repeated sint64 positive_deltas = 12;
  repeated double positive_counts = 13;
  ResetHint reset_hint = 14;
  int64 timestamp = 15;
  repeated double custom_values = 16;
}
message BucketSpan { sint32 offset = 1; uint32 length = 2; }
message TimeSeries {
  repeated Label labels = 1;
  repeated Sample samples = 2;
  repeated Exemplar exemplars = 3;
  repeated Histogram histograms = 4;
}
message Label { string name = 1; string value = 2; }
`;

// The same messages with fields a sender might add (Mimir's `source` and `skip_label_name_validation`, and
// one field of every skippable wire type), which the scanner must step over without counting.
const PROMPB_WITH_UNKNOWN_FIELDS = `
syntax = "proto3";
package extended;
message WriteRequest {
  repeated TimeSeries timeseries = 1;
  int32 source = 2;
  repeated MetricMetadata metadata = 3;
  fixed64 extra_fixed64 = 101;
  fixed32 extra_fixed32 = 102;
  bytes extra_bytes = 103;
  int64 extra_varint = 104;
  bool skip_label_name_validation = 1000;
}
message MetricMetadata { int32 type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }
message Sample { double value = 1; int64 timestamp = 2; }
message Exemplar { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }
message Histogram { uint64 count_int = 1; double sum = 3; sint32 schema = 4; int64 timestamp = 15; }
message TimeSeries {
  repeated Label labels = 1;
  repeated Sample samples = 2;
  repeated Exemplar exemplars = 3;
  repeated Histogram histograms = 4;
  int64 extra_varint = 5;
  fixed64 extra_fixed64 = 6;
  bytes extra_bytes = 7;
  fixed32 extra_fixed32 = 8;
  int64 created_timestamp = 536870911;
}
message Label { string name = 1; string value = 2; int64 extra_varint = 3; bytes extra_bytes = 4; fixed32 extra_fixed32 = 5; fixed64 extra_fixed64 = 6; }
`;

// Labels as raw bytes, to put invalid UTF-8 on the wire for describeSeries.
const PROMPB_BYTES_LABELS = `
syntax = "proto3";
package rawlabels;
message WriteRequest { repeated TimeSeries timeseries = 1; }
message TimeSeries { repeated Label labels = 1; }
message Label { bytes name = 1; bytes value = 2; }
`;

const prompb = protobuf.parse(PROMPB).root;
const WriteRequestType = prompb.lookupType('prometheus.WriteRequest');
const TimeSeriesType = prompb.lookupType('prometheus.TimeSeries');
const extended = protobuf.parse(PROMPB_WITH_UNKNOWN_FIELDS).root;
const ExtendedWriteRequestType = extended.lookupType('extended.WriteRequest');
const rawLabels = protobuf.parse(PROMPB_BYTES_LABELS).root;
const RawWriteRequestType = rawLabels.lookupType('rawlabels.WriteRequest');

interface LabelObject {
  name: string;
  value: string;
}
interface SampleObject {
  value: number;
  timestamp: number;
}
interface ExemplarObject {
  labels: LabelObject[];
  value: number;
  timestamp: number;
}
interface HistogramObject {
  countInt?: number;
  countFloat?: number;
  sum: number;
  schema: number;
  positiveSpans: { offset: number; length: number }[];
  positiveDeltas: number[];
  timestamp: number;
}
interface SeriesObject {
  labels: LabelObject[];
  samples: SampleObject[];
  exemplars: ExemplarObject[];
  histograms: HistogramObject[];
}
interface MetadataObject {
  type: number;
  metricFamilyName: string;
  help: string;
  unit: string;
}
interface WriteRequestObject {
  timeseries: SeriesObject[];
  metadata: MetadataObject[];
}

function encode(request: WriteRequestObject): Uint8Array {
  const message = WriteRequestType.fromObject(request);
  expect(WriteRequestType.verify(message)).toBeNull();
  return WriteRequestType.encode(message).finish();
}

const utf8Length = (text: string): number => Buffer.byteLength(text, 'utf8');

/** What the scanner must report, computed from the objects alone. */
function expectedInfo(
  request: WriteRequestObject,
  bytesCompressed: number,
  bytesUncompressed: number,
): RequestInfo {
  const info: RequestInfo = {
    format: 'prw1',
    series: request.timeseries.length,
    floatSamples: 0,
    histogramSamples: 0,
    exemplars: 0,
    metadata: request.metadata.length,
    maxLabelNames: 0,
    maxLabelNamesSeries: -1,
    maxLabelNameLength: 0,
    maxLabelNameSeries: -1,
    maxLabelValueLength: 0,
    maxLabelValueSeries: -1,
    maxExemplarsPerSeries: 0,
    bytesCompressed,
    bytesUncompressed,
  };
  request.timeseries.forEach((series, index) => {
    info.floatSamples += series.samples.length;
    // Timestamps that do not increase within a series may repeat one (Mimir keeps it once); the quick read
    // also sends negative timestamps and ones of 2^49 ms or more to the exact count.
    const quick = (t: number): boolean => t >= 0 && t < 2 ** 49;
    const ts = series.samples.map((x) => Number(x.timestamp));
    if (ts.some((t, i) => i > 0 && (!(t > ts[i - 1]!) || !quick(t) || !quick(ts[i - 1]!))))
      info.samplesOutOfOrder = true;
    // Sample-time keys (timestamp / 2^14) bound the request's times; -1 marks a time the scan cannot read.
    for (const t of ts) {
      const key = quick(t) ? Math.floor(t / 16_384) : -1;
      info.minSampleTimeKey = Math.min(info.minSampleTimeKey ?? Infinity, key);
      info.maxSampleTimeKey = Math.max(info.maxSampleTimeKey ?? -Infinity, key);
    }
    info.histogramSamples += series.histograms.length;
    info.exemplars += series.exemplars.length;
    info.maxExemplarsPerSeries = Math.max(info.maxExemplarsPerSeries!, series.exemplars.length);
    if (info.maxLabelNamesSeries === -1 || series.labels.length > info.maxLabelNames) {
      info.maxLabelNames = series.labels.length;
      info.maxLabelNamesSeries = index;
    }
    for (const label of series.labels) {
      if (info.maxLabelNameSeries === -1 || utf8Length(label.name) > info.maxLabelNameLength) {
        info.maxLabelNameLength = utf8Length(label.name);
        info.maxLabelNameSeries = index;
      }
      if (info.maxLabelValueSeries === -1 || utf8Length(label.value) > info.maxLabelValueLength) {
        info.maxLabelValueLength = utf8Length(label.value);
        info.maxLabelValueSeries = index;
      }
    }
  });
  return info;
}

// Short strings mostly, multi-byte code points (1 to 4 UTF-8 bytes) included, and now and then one long enough
// for a 2- or 3-byte length varint.
const labelText = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 20_000 }).map((n) => 'v'.repeat(n)) },
  { weight: 1, arbitrary: fc.constantFrom('__name__', 'job', 'instance', '€', '𝄞') },
);
const labelArb: fc.Arbitrary<LabelObject> = fc.record({ name: labelText, value: labelText });
const timestampArb = fc.integer({ min: -(2 ** 40), max: 2 ** 45 });
const sampleArb: fc.Arbitrary<SampleObject> = fc.record({ value: fc.double(), timestamp: timestampArb });
const exemplarArb: fc.Arbitrary<ExemplarObject> = fc.record({
  labels: fc.array(labelArb, { maxLength: 3 }),
  value: fc.double(),
  timestamp: timestampArb,
});
const histogramArb: fc.Arbitrary<HistogramObject> = fc
  .tuple(
    // `count` is a oneof: an integer histogram or a float histogram, never both.
    fc.oneof(
      fc.record({ countInt: fc.nat() }),
      fc.record({ countFloat: fc.double({ min: 0, noNaN: true }) }),
    ),
    fc.record({
      sum: fc.double(),
      schema: fc.integer({ min: -4, max: 8 }),
      positiveSpans: fc.array(fc.record({ offset: fc.integer({ min: -5, max: 5 }), length: fc.nat(10) }), {
        maxLength: 3,
      }),
      positiveDeltas: fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 8 }),
      timestamp: timestampArb,
    }),
  )
  .map(([count, rest]) => ({ ...count, ...rest }));
const seriesArb: fc.Arbitrary<SeriesObject> = fc.record({
  labels: fc.array(labelArb, { maxLength: 20 }),
  samples: fc.array(sampleArb, { maxLength: 5 }),
  exemplars: fc.array(exemplarArb, { maxLength: 3 }),
  histograms: fc.array(histogramArb, { maxLength: 3 }),
});
const metadataArb: fc.Arbitrary<MetadataObject> = fc.record({
  type: fc.integer({ min: 0, max: 7 }),
  metricFamilyName: labelText,
  help: labelText,
  unit: labelText,
});
const writeRequestArb: fc.Arbitrary<WriteRequestObject> = fc.record({
  timeseries: fc.array(seriesArb, { maxLength: 30 }),
  metadata: fc.array(metadataArb, { maxLength: 5 }),
});

/** Any call that must either succeed or fail with BodyDecodeError; anything else fails the test. */
function scanOrDecodeError(buf: Uint8Array): RequestInfo | BodyDecodeError {
  try {
    return scanWriteRequest(buf, 0);
  } catch (error) {
    if (error instanceof BodyDecodeError && error.code === 'invalid_protobuf') {
      return error;
    }
    throw error;
  }
}

function expectInvalid(buf: Uint8Array, messagePart: RegExp): BodyDecodeError {
  const result = scanOrDecodeError(buf);
  expect(result).toBeInstanceOf(BodyDecodeError);
  const error = result as BodyDecodeError;
  expect(error.code).toBe('invalid_protobuf');
  expect(error.reason).toBe('invalid_body');
  expect(error.message).toMatch(messagePart);
  expect(error.message).toMatch(/at offset \d+/);
  return error;
}

function varint(value: bigint): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80n) {
    bytes.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  bytes.push(Number(rest));
  return bytes;
}

const sampleOf = (value: number): SampleObject => ({ value, timestamp: 1_700_000_000_000 });
const seriesOf = (labels: [string, string][], samples = 1): SeriesObject => ({
  labels: labels.map(([name, value]) => ({ name, value })),
  samples: Array.from({ length: samples }, (_, i) => sampleOf(i)),
  exemplars: [],
  histograms: [],
});

/** Unknown or reordered Sample fields send a request to the exact passes, whatever its timestamps. */
const NO_SAMPLE_TIMES = {
  samplesOutOfOrder: undefined,
  minSampleTimeKey: undefined,
  maxSampleTimeKey: undefined,
};

describe('scanWriteRequest', () => {
  it('counts a hand-built request exactly', () => {
    const request: WriteRequestObject = {
      timeseries: [
        seriesOf(
          [
            ['__name__', 'up'],
            ['job', 'node'],
          ],
          3,
        ),
        {
          ...seriesOf(
            [
              ['__name__', 'http_request_duration_seconds'],
              ['instance', 'host-1:9100'],
              ['job', 'api'],
              ['path', '/v1/é'],
            ],
            0,
          ),
          histograms: [
            { countInt: 4, sum: 1, schema: 0, positiveSpans: [], positiveDeltas: [], timestamp: 1 },
            { countFloat: 2.5, sum: 1, schema: 3, positiveSpans: [], positiveDeltas: [], timestamp: 2 },
          ],
          exemplars: [{ labels: [{ name: 'trace_id', value: 'abc' }], value: 1, timestamp: 1 }],
        },
      ],
      metadata: [{ type: 1, metricFamilyName: 'up', help: 'Up.', unit: '' }],
    };
    const body = encode(request);
    expect(scanWriteRequest(body, 123)).toEqual({
      format: 'prw1',
      series: 2,
      floatSamples: 3,
      histogramSamples: 2,
      exemplars: 1,
      metadata: 1,
      maxLabelNames: 4,
      maxLabelNamesSeries: 1,
      maxLabelNameLength: 8,
      maxLabelNameSeries: 0,
      maxLabelValueLength: 29,
      maxLabelValueSeries: 1,
      maxExemplarsPerSeries: 1,
      // Three samples of one timestamp: Mimir keeps one (the exact count runs on this flag).
      samplesOutOfOrder: true,
      minSampleTimeKey: Math.floor(1_700_000_000_000 / 16_384),
      maxSampleTimeKey: Math.floor(1_700_000_000_000 / 16_384),
      bytesCompressed: 123,
      bytesUncompressed: body.length,
    } satisfies RequestInfo);
  });

  it('reports an empty body as an empty request', () => {
    expect(scanWriteRequest(new Uint8Array(0), 1)).toEqual(
      expectedInfo({ timeseries: [], metadata: [] }, 1, 0),
    );
  });

  it('keeps the first series on ties and uses -1 only when nothing exists', () => {
    const request: WriteRequestObject = {
      timeseries: [seriesOf([]), seriesOf([['ab', 'xy']]), seriesOf([['cd', 'zw']])],
      metadata: [],
    };
    const info = scanWriteRequest(encode(request), 0);
    expect(info.maxLabelNamesSeries).toBe(1);
    expect(info.maxLabelNameSeries).toBe(1);
    expect(info.maxLabelValueSeries).toBe(1);

    const emptyLabel = scanWriteRequest(
      encode({ timeseries: [seriesOf([]), seriesOf([['', '']])], metadata: [] }),
      0,
    );
    expect(emptyLabel).toMatchObject({
      maxLabelNameLength: 0,
      maxLabelNameSeries: 1,
      maxLabelValueSeries: 1,
    });

    const unlabelled = scanWriteRequest(
      encode({ timeseries: [seriesOf([]), seriesOf([])], metadata: [] }),
      0,
    );
    expect(unlabelled).toMatchObject({
      maxLabelNames: 0,
      maxLabelNamesSeries: 0,
      maxLabelNameLength: 0,
      maxLabelNameSeries: -1,
      maxLabelValueLength: 0,
      maxLabelValueSeries: -1,
    });
  });

  /** A body of one series holding one label whose payload is `label` (lengths of any size). */
  const oneLabelBody = (label: number[]): Uint8Array => {
    const labelField = [0x0a, ...varint(BigInt(label.length)), ...label];
    return Uint8Array.from([0x0a, ...varint(BigInt(labelField.length)), ...labelField]);
  };

  it('takes the last name and value when a label repeats them, as proto3 decoders do', () => {
    // Label { name: "aaa", name: "a", value: "b" }.
    const repeatedName = [0x0a, 0x03, 0x61, 0x61, 0x61, 0x0a, 0x01, 0x61, 0x12, 0x01, 0x62];
    expect(scanWriteRequest(oneLabelBody(repeatedName), 0)).toMatchObject({
      series: 1,
      maxLabelNames: 1,
      maxLabelNameLength: 1,
    });
    // Label { name: "a", value: "b", name: "aaa" }: starts like the canonical form but does not end there.
    const nameAfterValue = [0x0a, 0x01, 0x61, 0x12, 0x01, 0x62, 0x0a, 0x03, 0x61, 0x61, 0x61];
    expect(scanWriteRequest(oneLabelBody(nameAfterValue), 0)).toMatchObject({ maxLabelNameLength: 3 });
  });

  it('reads labels off the canonical form correctly', () => {
    // Value before name, and a value of 200 bytes (2-byte length).
    const reordered = [0x12, 0xc8, 0x01, ...new Array<number>(200).fill(0x76), 0x0a, 0x01, 0x61];
    expect(scanWriteRequest(oneLabelBody(reordered), 0)).toMatchObject({
      maxLabelNameLength: 1,
      maxLabelValueLength: 200,
    });
    // A 200-byte name of 0x12 bytes then a 17-byte value: misreading the 2-byte name length as one byte would
    // land on a 0x12 that looks like the value tag.
    const trickyName = [
      0x0a,
      0xc8,
      0x01,
      ...new Array<number>(200).fill(0x12),
      0x12,
      17,
      ...new Array<number>(17).fill(0x76),
    ];
    expect(scanWriteRequest(oneLabelBody(trickyName), 0)).toMatchObject({
      maxLabelNameLength: 200,
      maxLabelValueLength: 17,
    });
    // Non-canonical value length `81 00` (= 1), then an unknown 125-byte field: the label spans exactly as many
    // bytes as a one-byte length of 0x81 would claim.
    const nonCanonical = [
      0x0a,
      0x01,
      0x61,
      0x12,
      0x81,
      0x00,
      0x76,
      0x1a,
      125,
      ...new Array<number>(125).fill(0),
    ];
    expect(scanWriteRequest(oneLabelBody(nonCanonical), 0)).toMatchObject({
      maxLabelNameLength: 1,
      maxLabelValueLength: 1,
    });
    // A canonical-looking label followed by a truncated tag is still malformed.
    expectInvalid(oneLabelBody([0x0a, 0x01, 0x61, 0x12, 0x01, 0x62, 0xff]), /truncated varint/);
  });

  it('measures label lengths in UTF-8 bytes, not characters', () => {
    const info = scanWriteRequest(encode({ timeseries: [seriesOf([['ñ', '𝄞𝄞']])], metadata: [] }), 0);
    expect(info.maxLabelNameLength).toBe(2);
    expect(info.maxLabelValueLength).toBe(8);
  });

  it('matches the encoded objects for arbitrary requests', () => {
    fc.assert(
      fc.property(writeRequestArb, fc.nat(), (request, bytesCompressed) => {
        const body = encode(request);
        expect(scanWriteRequest(body, bytesCompressed)).toEqual(
          expectedInfo(request, bytesCompressed, body.length),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('skips unknown fields of every wire type below the top level, and Mimir’s own top-level fields', () => {
    const extra = fc.record(
      {
        extraVarint: fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
        extraFixed64: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        extraFixed32: fc.nat(),
        extraBytes: fc.uint8Array({ maxLength: 300 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        writeRequestArb,
        extra,
        fc.array(extra, { maxLength: 30 }),
        fc.array(extra, { maxLength: 600 }),
        fc.record({ source: fc.integer({ min: 0, max: 1 }), skipLabelNameValidation: fc.boolean() }),
        (request, requestExtra, seriesExtras, labelExtras, mimirFields) => {
          let labelIndex = 0;
          // Unknown top-level fields are refused (see 'refuses a top-level field RW1 does not define'), so the
          // extras go one level down only.
          void requestExtra;
          const decorated = {
            ...mimirFields,
            metadata: request.metadata,
            timeseries: request.timeseries.map((series, i) => ({
              ...series,
              ...seriesExtras[i],
              createdTimestamp: i,
              labels: series.labels.map((label) => ({ ...label, ...labelExtras[labelIndex++] })),
            })),
          };
          const message = ExtendedWriteRequestType.fromObject(decorated);
          expect(ExtendedWriteRequestType.verify(message)).toBeNull();
          const body = ExtendedWriteRequestType.encode(message).finish();
          // A Sample with unknown or reordered fields is flagged for the exact duplicate count, whatever its timestamps.
          expect({ ...scanWriteRequest(body, 0), ...NO_SAMPLE_TIMES }).toEqual({
            ...expectedInfo(request, 0, body.length),
            ...NO_SAMPLE_TIMES,
          });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('does not depend on field order (fields of a message may come in any order)', () => {
    fc.assert(
      fc.property(writeRequestArb, fc.infiniteStream(fc.nat()), (request, randomness) => {
        const next = randomness[Symbol.iterator]();
        const shuffle = <T>(items: T[]): T[] => {
          for (let i = items.length - 1; i > 0; i--) {
            const j = (next.next().value as number) % (i + 1);
            [items[i], items[j]] = [items[j]!, items[i]!];
          }
          return items;
        };
        // Concatenated encodings of one message merge their repeated fields, so each element is encoded alone.
        const encodeSeries = (series: SeriesObject): Uint8Array =>
          Buffer.concat(
            shuffle([
              ...series.labels.map((label) => TimeSeriesType.encode({ labels: [label] }).finish()),
              ...series.samples.map((sample) => TimeSeriesType.encode({ samples: [sample] }).finish()),
              ...series.exemplars.map((exemplar) =>
                TimeSeriesType.encode({ exemplars: [exemplar] }).finish(),
              ),
              ...series.histograms.map((histogram) =>
                TimeSeriesType.encode(TimeSeriesType.fromObject({ histograms: [histogram] })).finish(),
              ),
            ]),
          );
        // Series keep their relative order (indexes must not change); metadata lands anywhere between them.
        const chunks = request.timeseries.map((series) =>
          protobuf.Writer.create().uint32(10).bytes(encodeSeries(series)).finish(),
        );
        for (const entry of request.metadata) {
          const position = (next.next().value as number) % (chunks.length + 1);
          chunks.splice(position, 0, WriteRequestType.encode({ metadata: [entry] }).finish());
        }
        const body = Buffer.concat(chunks);
        // A Sample with unknown or reordered fields is flagged for the exact duplicate count, whatever its timestamps.
        expect({ ...scanWriteRequest(body, 0), ...NO_SAMPLE_TIMES }).toEqual({
          ...expectedInfo(request, 0, body.length),
          ...NO_SAMPLE_TIMES,
        });
      }),
      { numRuns: 150 },
    );
  });

  it('returns the prefix counts for a cut at a top-level boundary, and throws for any other cut', () => {
    fc.assert(
      fc.property(
        writeRequestArb.filter((r) => r.timeseries.length + r.metadata.length > 0),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        (request, cutFraction) => {
          const body = encode(request);
          // protobufjs writes all timeseries, then all metadata: each element's own encoding is one chunk.
          const elements: WriteRequestObject[] = [
            ...request.timeseries.map((series) => ({ timeseries: [series], metadata: [] })),
            ...request.metadata.map((entry) => ({ timeseries: [], metadata: [entry] })),
          ];
          const boundaries = new Map<number, WriteRequestObject>([[0, { timeseries: [], metadata: [] }]]);
          let offset = 0;
          let prefix: WriteRequestObject = { timeseries: [], metadata: [] };
          for (const element of elements) {
            offset += encode(element).length;
            prefix = {
              timeseries: [...prefix.timeseries, ...element.timeseries],
              metadata: [...prefix.metadata, ...element.metadata],
            };
            boundaries.set(offset, prefix);
          }
          expect(offset).toBe(body.length);

          const cut = Math.floor(cutFraction * body.length);
          const result = scanOrDecodeError(body.subarray(0, cut));
          const prefixAtCut = boundaries.get(cut);
          if (prefixAtCut === undefined) {
            expect(result).toBeInstanceOf(BodyDecodeError);
          } else {
            expect(result).toEqual(expectedInfo(prefixAtCut, 0, cut));
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('throws nothing but BodyDecodeError for random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        scanOrDecodeError(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it('throws nothing but BodyDecodeError for corrupted valid bodies', () => {
    fc.assert(
      fc.property(
        writeRequestArb.filter((r) => r.timeseries.length > 0),
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.nat(255)), {
          minLength: 1,
          maxLength: 4,
        }),
        (request, corruptions) => {
          const body = Buffer.from(encode(request));
          for (const [where, byte] of corruptions) {
            body[Math.floor(where * body.length)] = byte;
          }
          const result = scanOrDecodeError(body);
          if (!(result instanceof BodyDecodeError)) {
            expect(result.bytesUncompressed).toBe(body.length);
            expect(result.series).toBeGreaterThanOrEqual(0);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('rejects lengths that run past the end, however large', () => {
    expectInvalid(Uint8Array.from([0x0a, ...varint(2n ** 40n)]), /length 1099511627776 runs past the end/);
    expectInvalid(Uint8Array.from([0x0a, ...varint(2n ** 64n - 1n)]), /runs past the end/);
    expectInvalid(Uint8Array.from([0x0a, 0x05, 0x0a, 0x01]), /runs past the end/);
    // A label whose declared length fits the body but not its series.
    expectInvalid(Uint8Array.from([0x0a, 0x02, 0x0a, 0x03, 0x0a, 0x01, 0x61]), /runs past the end/);
  });

  it('rejects truncated and over-long varints', () => {
    expectInvalid(Uint8Array.from([0x0a]), /truncated varint at offset 1/);
    expectInvalid(Uint8Array.from([0x0a, 0x80]), /truncated varint at offset 1/);
    expectInvalid(Uint8Array.from([0x0a, ...new Array<number>(10).fill(0x80), 0x00]), /longer than 10 bytes/);
    expectInvalid(
      Uint8Array.from([0x0a, 0x0c, 0xa0, 0x06, ...new Array<number>(10).fill(0xff), 0x01]),
      /longer than 10/,
    );
  });

  it('rejects field number 0, groups and wire types 6 and 7', () => {
    expectInvalid(Uint8Array.from([0x02, 0x00]), /field number 0 at offset 0/);
    expectInvalid(Uint8Array.from([0x0a, 0x02, 0x00, 0x00]), /field number 0 at offset 2/);
    expectInvalid(Uint8Array.from([0x0b, 0x0c]), /group/);
    expectInvalid(Uint8Array.from([0x2c]), /group/);
    expectInvalid(Uint8Array.from([0x0e]), /wire type 6/);
    expectInvalid(Uint8Array.from([0x0f]), /wire type 7/);
    // Field number above 2^29-1: a 5-byte tag that overflows 32 bits.
    expectInvalid(Uint8Array.from([0xf8, 0xff, 0xff, 0xff, 0x7f, 0x00]), /field number out of range/);
  });

  it('rejects known fields with the wrong wire type, as Mimir does', () => {
    expectInvalid(Uint8Array.from([0x08, 0x01]), /WriteRequest field 1/);
    expectInvalid(Uint8Array.from([0x19, 0, 0, 0, 0, 0, 0, 0, 0]), /WriteRequest field 3/);
    expectInvalid(Uint8Array.from([0x0a, 0x02, 0x10, 0x01]), /TimeSeries field 2/);
    expectInvalid(Uint8Array.from([0x0a, 0x04, 0x0a, 0x02, 0x08, 0x01]), /Label field 1/);
    // Field 2 of WriteRequest is Mimir's `source` enum: a varint is skipped, any other wire type refused.
    expect(scanWriteRequest(Uint8Array.from([0x10, 0x01]), 0).series).toBe(0);
    expectInvalid(Uint8Array.from([0x10, 0x01, 0x12, 0x00]), /field 2 \(length-delimited\) is not a field/);
    // Sample: double value = 1, int64 timestamp = 2; an OTLP ScopeMetrics (fields 1 and 2 length-delimited)
    // sitting where a Sample belongs is refused, not counted as one sample.
    expectInvalid(Uint8Array.from([0x0a, 0x04, 0x12, 0x02, 0x12, 0x00]), /Sample field 2/);
    expectInvalid(Uint8Array.from([0x0a, 0x04, 0x12, 0x02, 0x0a, 0x00]), /Sample field 1/);
  });

  it('refuses a top-level field RW1 does not define: the body is another message than its Content-Type says', () => {
    // A remote write 2.0 Request (symbols = 4, timeseries = 5) sent as 1.0 is refused, never measured as empty.
    expectInvalid(
      Uint8Array.from([0x22, 0x01, 0x61, 0x2a, 0x00]),
      /field 4 \(length-delimited\) is not a field of prometheus.WriteRequest/,
    );
    expectInvalid(Uint8Array.from([0x2a, 0x00]), /field 5 .* does not match its Content-Type at offset 1/);
    expectInvalid(Uint8Array.from([0xa0, 0x06, 0x01]), /field 100 \(wire type 0\) is not a field/);
    // Mimir's skip_label_name_validation (1000, a varint) is part of its WriteRequest and skipped.
    expect(scanWriteRequest(Uint8Array.from([0xc0, 0x3e, 0x01]), 0).series).toBe(0);
  });

  it('measures a 2,000-series x 12-label body exactly (the benchmark body)', () => {
    const timeseries = Array.from({ length: 2000 }, (_, s) =>
      seriesOf([
        ['__name__', `http_requests_total_${s % 50}`],
        ...Array.from({ length: 11 }, (_, l): [string, string] => [`label_name_${l}`, `value-${l}-${s}`]),
      ]),
    );
    const body = encode({ timeseries, metadata: [] });
    expect(scanWriteRequest(body, 0)).toEqual(expectedInfo({ timeseries, metadata: [] }, 0, body.length));
  });
});

describe('describeSeries', () => {
  const framed = (labelSet: string): string => `series: '${labelSet}'`;

  const body = encode({
    timeseries: [
      seriesOf([
        ['__name__', 'first'],
        ['job', 'a'],
      ]),
      seriesOf([
        ['__name__', 'up'],
        ['instance', 'a'],
        ['job', 'b'],
      ]),
      seriesOf([
        ['job', 'b'],
        ['__name__', 'late_name'],
      ]),
      seriesOf([['__name__', 'only_name']]),
      seriesOf([]),
      seriesOf([
        ['__name__', ''],
        ['job', 'x'],
      ]),
      seriesOf([
        ['__name__', 'a'],
        ['__name__', 'b'],
      ]),
    ],
    metadata: [{ type: 1, metricFamilyName: 'up', help: '', unit: '' }],
  });

  it('renders the requested series as Mimir formats a label set', () => {
    expect(describeSeries(body, 0)).toBe(framed('first{job="a"}'));
    expect(describeSeries(body, 1)).toBe(framed('up{instance="a", job="b"}'));
    expect(describeSeries(body, 2)).toBe(framed('late_name{job="b"}'));
    expect(describeSeries(body, 3)).toBe(framed('only_name'));
    expect(describeSeries(body, 4)).toBe(framed('{}'));
    expect(describeSeries(body, 5)).toBe(framed('{__name__="", job="x"}'));
    expect(describeSeries(body, 6)).toBe(framed('a{__name__="b"}'));
  });

  it('throws RangeError for a series that does not exist', () => {
    expect(() => describeSeries(body, 7)).toThrow(RangeError);
    expect(() => describeSeries(body, -1)).toThrow(RangeError);
  });

  it('quotes values like Go %q, invalid UTF-8 included', () => {
    const raw = RawWriteRequestType.encode({
      timeseries: [
        {
          labels: [
            { name: Buffer.from('__name__'), value: Buffer.from('m') },
            { name: Buffer.from('q'), value: Buffer.from('say "hi"\\ \n\t\x01\x7f é 𝄞 \u00a0 \u200b') },
            {
              name: Buffer.from('bad'),
              // Stray byte, truncated pair, surrogate, overlong forms, and a code point above U+10FFFF.
              value: Uint8Array.from([
                0x61, 0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xe0, 0x80, 0x80, 0xf0, 0x80, 0x80, 0x80, 0xf4,
                0x90, 0x80, 0x80, 0x62,
              ]),
            },
          ],
        },
      ],
    }).finish();
    expect(describeSeries(raw, 0)).toBe(
      framed(
        'm{q="say \\"hi\\"\\\\ \\n\\t\\x01\\x7f é 𝄞 \\u00a0 \\u200b", bad="a\\xff\\xc3(\\xed\\xa0\\x80\\xe0\\x80\\x80\\xf0\\x80\\x80\\x80\\xf4\\x90\\x80\\x80b"}',
      ),
    );
  });

  it('cuts output longer than 200 code points and appends an ellipsis', () => {
    const long = encode({ timeseries: [seriesOf([['__name__', '𝄞'.repeat(300)]])], metadata: [] });
    expect(describeSeries(long, 0)).toBe(`series: '${'𝄞'.repeat(200)}…'`);
    const exact = encode({ timeseries: [seriesOf([['__name__', '𝄞'.repeat(200)]])], metadata: [] });
    expect(describeSeries(exact, 0)).toBe(framed('𝄞'.repeat(200)));
  });

  it('renders any series of an arbitrary request like an independent formatter', () => {
    const printable = fc.string({ unit: fc.constantFrom(...'abcXYZ_09:/-. é'.split('')), maxLength: 12 });
    const plainLabel = fc.record({
      name: fc.constantFrom('__name__', 'job', 'instance', 'le'),
      value: printable,
    });
    const plainSeries = fc.array(plainLabel, { maxLength: 6 }).map((labels) => ({
      labels,
      samples: [],
      exemplars: [],
      histograms: [],
    }));
    fc.assert(
      fc.property(fc.array(plainSeries, { minLength: 1, maxLength: 10 }), fc.nat(), (timeseries, pick) => {
        const index = pick % timeseries.length;
        const labels = timeseries[index]!.labels;
        const nameAt = labels.findIndex((l) => l.name === '__name__' && l.value !== '');
        const rest = labels.filter((_, i) => i !== nameAt).map((l) => `${l.name}="${l.value}"`);
        const metricName = nameAt === -1 ? '' : labels[nameAt]!.value;
        const expected = rest.length === 0 ? metricName || '{}' : `${metricName}{${rest.join(', ')}}`;
        const body = encode({ timeseries, metadata: [] });
        expect(describeSeries(body, index)).toBe(framed(expected));
      }),
    );
  });

  it('throws nothing but BodyDecodeError or RangeError for random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.nat(3), (bytes, index) => {
        try {
          describeSeries(bytes, index);
        } catch (error) {
          expect(error instanceof BodyDecodeError || error instanceof RangeError).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
