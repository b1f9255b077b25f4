// The re-encoders behind partial acceptance: the body sent upstream must hold exactly the kept series, in order,
// with metadata (RW1) and the symbols table (RW2) untouched, and be byte for byte what an independent encoder
// (protobufjs) produces for that subset. A body that keeps everything must come out identical.

import fc from 'fast-check';
import snappy from 'snappy';
import { describe, expect, it } from 'vitest';

import { reencodeKept } from '../../../src/remote-write/index.js';
import { reencodeRw1 } from '../../../src/remote-write/rw1-reencode.js';
import { reencodeRw2 } from '../../../src/remote-write/rw2-reencode.js';
import type { Rw2SeriesSpec } from '../../helpers/rw2-request.js';
import { encodeRw2, rw2Request, rw2RequestType } from '../../helpers/rw2-request.js';
import type { SeriesSpec } from '../../helpers/write-request.js';
import { encodeWriteRequest, writeRequest, writeRequestType } from '../../helpers/write-request.js';

const text = fc.string({ unit: fc.constantFrom(...'abz_09:é"'.split('')), maxLength: 12 });

const rw1Series: fc.Arbitrary<SeriesSpec> = fc.record({
  labels: fc.dictionary(text, text, { maxKeys: 6 }),
  samples: fc.nat(3),
  exemplars: fc.nat(2),
  histograms: fc.nat(2),
});

const rw2Series: fc.Arbitrary<Rw2SeriesSpec> = fc.record({
  labels: fc.dictionary(text, text, { maxKeys: 6 }),
  samples: fc.nat(3),
  histograms: fc.nat(2),
  exemplars: fc.nat(2),
  metadata: fc.option(fc.record({ type: fc.nat(7), help: text, unit: fc.constantFrom('', 'seconds') }), {
    nil: undefined,
  }),
});

/** Series with a keep bit each. */
const withMask = <T>(series: fc.Arbitrary<T>) =>
  fc.array(fc.tuple(series, fc.boolean()), { maxLength: 12 }).map((pairs) => ({
    series: pairs.map(([s]) => s),
    keep: Uint8Array.from(pairs.map(([, k]) => (k ? 1 : 0))),
  }));

describe('RW1 re-encoding', () => {
  it('holds exactly the kept series and every metadata entry, byte for byte as protobufjs encodes them (property)', () => {
    fc.assert(
      fc.property(withMask(rw1Series), fc.nat(3), ({ series, keep }, metadata) => {
        const request = writeRequest(series, metadata);
        const body = encodeWriteRequest(request);
        const out = reencodeRw1(body, keep);
        const expected = encodeWriteRequest({
          timeseries: request.timeseries.filter((_, i) => keep[i] === 1),
          metadata: request.metadata,
        });
        expect(Buffer.from(out).equals(expected)).toBe(true);
        const decoded = writeRequestType.toObject(writeRequestType.decode(out), { defaults: true }) as {
          timeseries: unknown[];
          metadata: unknown[];
        };
        expect(decoded.timeseries).toHaveLength(keep.reduce((a, b) => a + b, 0));
        expect(decoded.metadata).toHaveLength(metadata);
      }),
    );
  });

  it('keeps a body whose series are all kept identical, including fields the edge does not know', () => {
    const body = encodeWriteRequest(
      writeRequest([{ labels: { __name__: 'up' } }, { labels: { __name__: 'x' } }], 1),
    );
    // Field 2 (Mimir's `source` enum, a varint) and an unknown field 15 (fixed32) after the series.
    const extended = Buffer.concat([body, Buffer.from([0x10, 0x01, 0x7d, 1, 2, 3, 4])]);
    expect(Buffer.from(reencodeRw1(extended, Uint8Array.of(1, 1))).equals(extended)).toBe(true);
    const dropped = reencodeRw1(extended, Uint8Array.of(0, 1));
    expect(
      Buffer.from(dropped)
        .subarray(-7)
        .equals(Buffer.from([0x10, 0x01, 0x7d, 1, 2, 3, 4])),
    ).toBe(true);
  });

  it('compresses with snappy, so the upstream reads what the client would have sent', () => {
    const request = writeRequest([{ labels: { __name__: 'a' } }, { labels: { __name__: 'b' } }]);
    const body = encodeWriteRequest(request);
    const sent = reencodeKept(body, 'prw1', Uint8Array.of(0, 1));
    const expected = encodeWriteRequest({ timeseries: [request.timeseries[1]!], metadata: [] });
    expect(Buffer.from(snappy.uncompressSync(sent) as Buffer).equals(expected)).toBe(true);
  });
});

describe('RW2 re-encoding', () => {
  it('holds exactly the kept series with their metadata, and the whole symbols table (property)', () => {
    fc.assert(
      fc.property(withMask(rw2Series), ({ series, keep }) => {
        const request = rw2Request(series) as { symbols: string[]; timeseries: unknown[] };
        const body = encodeRw2(request);
        const out = reencodeRw2(body, keep);
        const expected = encodeRw2({
          symbols: request.symbols,
          timeseries: request.timeseries.filter((_, i) => keep[i] === 1),
        });
        expect(Buffer.from(out).equals(expected)).toBe(true);
        const decoded = rw2RequestType.toObject(rw2RequestType.decode(out), { defaults: true }) as {
          symbols: string[];
        };
        expect(decoded.symbols).toEqual(request.symbols);
      }),
    );
  });
});
