// Checks scanWriteRequestV2 and describeSeriesV2 against protobufjs encoding the published RW2 schema.
// The oracle computes every count from the objects that were encoded, never from the bytes.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { BodyDecodeError, describeSeriesV2, scanWriteRequestV2 } from '../../../src/remote-write/index.js';
import type { RequestInfo } from '../../../src/remote-write/index.js';
import type { Rw2SeriesSpec } from '../../helpers/rw2-request.js';
import { encodeRw2, rw2Request } from '../../helpers/rw2-request.js';

const labelText = fc.string({ unit: fc.constantFrom(...'abz_09:/-. é"\\'.split('')), maxLength: 20 });

const seriesSpec: fc.Arbitrary<Rw2SeriesSpec> = fc.record({
  labels: fc.dictionary(labelText, labelText, { maxKeys: 8 }),
  samples: fc.nat(3),
  histograms: fc.nat(2),
  exemplars: fc.nat(2),
  metadata: fc.option(
    fc.record({
      type: fc.nat(7),
      help: fc.option(labelText, { nil: undefined }),
      unit: fc.constantFrom('', 'seconds'),
    }),
    { nil: undefined },
  ),
});

/** What Mimir counts for these series, computed from the objects alone. */
function expected(series: Rw2SeriesSpec[], body: Buffer): RequestInfo {
  const utf8Length = (s: string): number => Buffer.byteLength(s);
  let maxLabelNames = 0;
  let maxLabelNamesSeries = -1;
  let maxLabelNameLength = 0;
  let maxLabelNameSeries = -1;
  let maxLabelValueLength = 0;
  let maxLabelValueSeries = -1;
  series.forEach((s, i) => {
    const entries = Object.entries(s.labels);
    if (entries.length > maxLabelNames || maxLabelNamesSeries < 0) {
      maxLabelNames = entries.length;
      maxLabelNamesSeries = i;
    }
    for (const [name, value] of entries) {
      if (utf8Length(name) > maxLabelNameLength || maxLabelNameSeries < 0) {
        maxLabelNameLength = utf8Length(name);
        maxLabelNameSeries = i;
      }
      if (utf8Length(value) > maxLabelValueLength || maxLabelValueSeries < 0) {
        maxLabelValueLength = utf8Length(value);
        maxLabelValueSeries = i;
      }
    }
  });
  const sum = (f: (s: Rw2SeriesSpec) => number): number => series.reduce((n, s) => n + f(s), 0);
  return {
    format: 'prw2',
    series: series.length,
    floatSamples: sum((s) => s.samples ?? 1),
    histogramSamples: sum((s) => s.histograms ?? 0),
    exemplars: sum((s) => s.exemplars ?? 0),
    metadata: sum((s) =>
      s.metadata &&
      (s.metadata.type !== 0 || (s.metadata.help ?? '') !== '' || (s.metadata.unit ?? '') !== '')
        ? 1
        : 0,
    ),
    maxLabelNames,
    maxLabelNamesSeries,
    maxLabelNameLength,
    maxLabelNameSeries,
    maxLabelValueLength,
    maxLabelValueSeries,
    maxExemplarsPerSeries: series.reduce((n, s) => Math.max(n, s.exemplars ?? 0), 0),
    // rw2Request's samples are 1 ms apart from 1_700_000_000_000; their keys are timestamp / 2^14.
    ...sampleTimeKeys(series),
    // Some symbol (a name, value, help or unit) is not ASCII: Mimir's name and UTF-8 checks must read the series.
    nonAsciiSymbols:
      (rw2Request(series)['symbols'] as string[]).some((t) => [...t].some((c) => c.charCodeAt(0) > 0x7f)) ||
      undefined,
    bytesCompressed: 7,
    bytesUncompressed: body.length,
  };
}

function sampleTimeKeys(series: Rw2SeriesSpec[]): { minSampleTimeKey?: number; maxSampleTimeKey?: number } {
  const times = series.flatMap((s) =>
    s.timestamps
      ? s.timestamps.map((offset) => 1_700_000_000_000 + offset)
      : Array.from({ length: s.samples ?? 1 }, (_, i) => 1_700_000_000_000 + i),
  );
  if (times.length === 0) return {};
  const keys = times.map((t) => Math.floor(t / 16_384));
  return { minSampleTimeKey: Math.min(...keys), maxSampleTimeKey: Math.max(...keys) };
}

function goQuote(s: string): string {
  return JSON.stringify(s); // the property below keeps to characters where Go's %q and JSON agree
}

describe('scanWriteRequestV2', () => {
  it('counts a hand-built request exactly', () => {
    const series: Rw2SeriesSpec[] = [
      { labels: { __name__: 'up', job: 'node' }, samples: 2, exemplars: 1, metadata: { type: 2 } },
      { labels: { __name__: 'lat', le: '0.5', instance: 'a-very-long-instance' }, samples: 0, histograms: 1 },
    ];
    const body = encodeRw2(rw2Request(series));
    const info = scanWriteRequestV2(body, 7);
    expect(info).toMatchObject({
      format: 'prw2',
      series: 2,
      floatSamples: 2,
      histogramSamples: 1,
      exemplars: 1,
      metadata: 1,
      maxLabelNames: 3,
      maxLabelNamesSeries: 1,
      maxLabelValueLength: 'a-very-long-instance'.length,
      maxLabelValueSeries: 1,
    });
  });

  it('matches the encoded objects for arbitrary requests', () => {
    fc.assert(
      fc.property(fc.array(seriesSpec, { maxLength: 12 }), (series) => {
        const body = encodeRw2(rw2Request(series));
        expect(scanWriteRequestV2(body, 7)).toEqual(expected(series, body));
      }),
      { numRuns: 300 },
    );
  });

  it('measures the same whether symbols come before or after the series', () => {
    fc.assert(
      fc.property(fc.array(seriesSpec, { minLength: 1, maxLength: 6 }), (series) => {
        const request = rw2Request(series);
        const symbolsOnly = encodeRw2({ symbols: request['symbols'], timeseries: [] });
        const seriesOnly = encodeRw2({ symbols: [], timeseries: request['timeseries'] });
        const reordered = Buffer.concat([seriesOnly, symbolsOnly]);
        const info = scanWriteRequestV2(reordered, 7);
        expect(info).toEqual({ ...expected(series, reordered) });
      }),
      { numRuns: 100 },
    );
  });

  it('refuses a body sent with a remote-write 1.0 schema: the reserved fields 1..3 are never measured as empty', () => {
    // An RW1 WriteRequest uses fields 1 and 3, reserved in RW2: a 1.0 body labelled 2.0 must not pass as empty.
    const rw1 = Buffer.from([0x0a, 0x04, 0x0a, 0x02, 0x0a, 0x00]);
    expect(() => scanWriteRequestV2(rw1, 6)).toThrow(
      /field 1 \(length-delimited\) is not a field of io.prometheus.write.v2.Request .* at offset 1/,
    );
    expect(() => scanWriteRequestV2(Buffer.from([0x1a, 0x00]), 2)).toThrow(/field 3 .*not a field/);
    expect(() => scanWriteRequestV2(Buffer.from([0x10, 0x01]), 2)).toThrow(/field 2 \(wire type 0\)/);
    expect(() => scanWriteRequestV2(Buffer.from([0x38, 0x01]), 2)).toThrow(/field 7 .*not a field/);
  });

  it('rejects an odd labels_refs list and a reference past the symbols table', () => {
    const odd = encodeRw2({ symbols: ['', 'a'], timeseries: [{ labelsRefs: [1] }] });
    expect(() => scanWriteRequestV2(odd, 1)).toThrow(/odd number of labels_refs/);
    const past = encodeRw2({ symbols: ['', 'a'], timeseries: [{ labelsRefs: [1, 2] }] });
    expect(() => scanWriteRequestV2(past, 1)).toThrow(/past the 2 symbols/);
  });

  it('accepts unpacked labels_refs entries, as proto3 decoders must', () => {
    // symbols "", "n", "v"; series with labels_refs as two single varint fields (tag 0x08) instead of packed.
    const body = Buffer.from([
      0x22, 0x00, 0x22, 0x01, 0x6e, 0x22, 0x01, 0x76, 0x2a, 0x04, 0x08, 0x01, 0x08, 0x02,
    ]);
    expect(scanWriteRequestV2(body, 1)).toMatchObject({ series: 1, maxLabelNames: 1, maxLabelNameLength: 1 });
  });

  it('throws nothing but BodyDecodeError for corrupted valid bodies', () => {
    fc.assert(
      fc.property(
        fc.array(seriesSpec, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 8 }),
        (series, flips) => {
          const body = encodeRw2(rw2Request(series));
          for (const [at, byte] of flips) body[at % body.length] = byte;
          try {
            scanWriteRequestV2(body, 1);
          } catch (err) {
            expect(err).toBeInstanceOf(BodyDecodeError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('throws nothing but BodyDecodeError for random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          scanWriteRequestV2(bytes, 1);
        } catch (err) {
          expect(err).toBeInstanceOf(BodyDecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('describeSeriesV2', () => {
  it('renders any series through the symbols table as Mimir formats a label set', () => {
    const plain = fc.string({ unit: fc.constantFrom(...'abcXYZ_09:/-.'.split('')), maxLength: 10 });
    fc.assert(
      fc.property(
        fc.array(fc.record({ labels: fc.dictionary(plain, plain, { maxKeys: 5 }) }), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.nat(),
        (series, pick) => {
          const index = pick % series.length;
          const body = encodeRw2(rw2Request(series));
          const entries = Object.entries(series[index]!.labels);
          const nameAt = entries.findIndex(([n, v]) => n === '__name__' && v !== '');
          const name = nameAt >= 0 ? entries[nameAt]![1] : '';
          const rest = entries.filter((_, i) => i !== nameAt).map(([n, v]) => `${n}=${goQuote(v)}`);
          const text = rest.length === 0 ? (nameAt >= 0 ? name : '{}') : `${name}{${rest.join(', ')}}`;
          const cut = text.length > 200 ? text.slice(0, 200) + '\u2026' : text;
          expect(describeSeriesV2(body, index)).toBe(`series: '${cut}'`);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('throws RangeError for a series that does not exist', () => {
    const body = encodeRw2(rw2Request([{ labels: { a: 'b' } }]));
    expect(() => describeSeriesV2(body, 1)).toThrow(RangeError);
  });
});
