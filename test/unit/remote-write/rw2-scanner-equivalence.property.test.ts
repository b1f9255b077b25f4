// Checks that the fast remote-write 2.0 scanner behaves exactly like the plain ProtoReader scanner it replaced
// (test/helpers/rw2-scan-reference.ts): the same RequestInfo for every body, or the same error (code, message and
// offset). Bodies are built field by field so they reach the encodings protobufjs never writes: unpacked and split
// labels_refs, non-minimal varints, long symbols, references of one to five bytes, symbols after series, unknown
// and wrongly typed fields, and then byte flips and truncation on top.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { scanWriteRequestV2 } from '../../../src/remote-write/index.js';
import { scanWriteRequestV2Reference } from '../../helpers/rw2-scan-reference.js';

type Outcome =
  { ok: unknown } | { error: { name: string; message: string; code?: unknown; offset?: unknown } };

function outcome(scan: (buf: Uint8Array, compressed: number) => unknown, body: Uint8Array): Outcome {
  try {
    return { ok: scan(body, 3) };
  } catch (err) {
    const e = err as Error & { code?: unknown; offset?: unknown };
    return { error: { name: e.name, message: e.message, code: e.code, offset: e.offset } };
  }
}

function expectSameOutcome(body: Uint8Array): void {
  // The duplicate-timestamp flag and the sample-time bounds are the scanner's own
  // (test/unit/remote-write/duplicate-samples.property.test.ts, sample-times.property.test.ts).
  const withoutFlag = (buf: Uint8Array, compressed: number): unknown => ({
    ...scanWriteRequestV2(buf, compressed),
    samplesOutOfOrder: undefined,
    minSampleTimeKey: undefined,
    maxSampleTimeKey: undefined,
    nonAsciiSymbols: undefined,
  });
  expect(outcome(withoutFlag, body)).toEqual(outcome(scanWriteRequestV2Reference, body));
}

/** A varint, padded with `pad` redundant continuation bytes (a non-minimal encoding decoders must accept). */
function varint(value: number, pad = 0): number[] {
  const out: number[] = [];
  let n = value;
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  for (let i = 0; i < pad && out.length < 10; i++) {
    out[out.length - 1]! |= 0x80;
    out.push(0);
  }
  return out;
}

/** One protobuf field: a tag, then its payload by wire type (0 varint, 1 fixed64, 2 bytes, 5 fixed32). */
interface Field {
  field: number;
  wire: 0 | 1 | 2 | 5;
  value: number;
  bytes: number[];
  /** Redundant bytes on the tag and on the varint or length. */
  pad: number;
}

function encodeFields(fields: Field[]): number[] {
  const out: number[] = [];
  for (const f of fields) {
    out.push(...varint(f.field * 8 + f.wire, f.pad));
    if (f.wire === 0) out.push(...varint(f.value, f.pad));
    else if (f.wire === 1) out.push(1, 2, 3, 4, 5, 6, 7, 8);
    else if (f.wire === 5) out.push(1, 2, 3, 4);
    else out.push(...varint(f.bytes.length, f.pad), ...f.bytes);
  }
  return out;
}

const pad = fc.oneof(
  { weight: 6, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) },
);
const field = (n: number, wire: 0 | 1 | 2 | 5, value: number, bytes: number[], p: number): Field => ({
  field: n,
  wire,
  value,
  bytes,
  pad: p,
});

/** A reference: mostly inside a table of `symbols`, sometimes past it or wide enough to take four or five bytes. */
const ref = (symbols: number): fc.Arbitrary<number> =>
  fc.oneof(
    { weight: 200, arbitrary: fc.nat(Math.max(0, symbols - 1)) },
    { weight: 1, arbitrary: fc.integer({ min: symbols, max: symbols + 3 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1 << 21, max: 2 ** 35 }) },
  );

function seriesFields(symbols: number): fc.Arbitrary<Field[]> {
  // Mostly name/value pairs; now and then an odd list (valid when another labels_refs field completes it).
  const refs = fc
    .tuple(
      fc.array(fc.tuple(ref(symbols), ref(symbols)), { maxLength: 5 }),
      fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: ref(symbols) }),
    )
    .map(([pairs, odd]) => [...pairs.flat(), ...(odd === null ? [] : [odd])]);
  const one: fc.Arbitrary<Field | Field[]> = fc.oneof(
    // Packed labels_refs (the usual encoding), possibly odd, possibly with non-minimal entries.
    {
      weight: 6,
      arbitrary: fc.tuple(refs, fc.array(pad, { maxLength: 9 }), pad).map(([r, pads, p]) =>
        field(
          1,
          2,
          0,
          r.flatMap((v, i) => varint(v, pads[i] ?? 0)),
          p,
        ),
      ),
    },
    // Unpacked labels_refs entries: mostly a name and a value, now and then one alone.
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.array(ref(symbols), { minLength: 1, maxLength: 2 }),
          fc.array(ref(symbols), { maxLength: 2 }),
        )
        .map(([head, tail]) =>
          (head.length === 2 ? head : [...head, ...tail]).map((v) => field(1, 0, v, [], 0)),
        ),
    },
    // Samples, histograms and exemplars are counted by occurrence; their payload is skipped.
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.constantFrom(2, 3, 4), fc.uint8Array({ maxLength: 20 }), pad)
        .map(([n, b, p]) => field(n, 2, 0, [...b], p)),
    },
    // Metadata: type, help_ref, unit_ref and an unknown field, some wrongly typed.
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.array(
            fc.tuple(
              fc.constantFrom(1, 2, 3, 4, 9),
              fc.constantFrom<0 | 1 | 2 | 5>(...Array.from({ length: 18 }, (): 0 => 0), 2, 5),
              fc.oneof(fc.constant(0), fc.nat(300)),
              pad,
            ),
            { maxLength: 4 },
          ),
          pad,
        )
        .map(([fs, p]) => field(5, 2, 0, encodeFields(fs.map(([n, w, v, q]) => field(n, w, v, [1], q))), p)),
    },
    // created_timestamp, unknown fields of every wire type, and known fields with the wrong wire type.
    { weight: 1, arbitrary: fc.tuple(fc.nat(2 ** 40), pad).map(([v, p]) => field(6, 0, v, [], p)) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom(7, 8, 15, 16, 1000, 2, 6),
          fc.constantFrom<0 | 1 | 2 | 5>(0, 1, 2, 5),
          fc.nat(1000),
          pad,
        )
        .map(([n, w, v, p]) => field(n, w, v, [7, 7], p)),
    },
  );
  return one.map((f) => (Array.isArray(f) ? f : [f]));
}

/** A whole Request: symbols (some 128 bytes or longer), series, and now and then unknown or reserved fields. */
const request: fc.Arbitrary<number[]> = fc
  .integer({ min: 0, max: 400 })
  .chain((symbols) =>
    fc.tuple(
      fc.constant(symbols),
      fc.array(fc.oneof(fc.nat(12), fc.integer({ min: 120, max: 300 })), {
        minLength: symbols,
        maxLength: symbols,
      }),
      fc.array(fc.tuple(fc.array(seriesFields(symbols), { maxLength: 6 }), pad), { maxLength: 8 }),
      fc.array(
        fc.tuple(
          fc.constantFrom(1, 2, 3, 6, 9, 100, 1, 2, 3, 6, 9, 100, 4, 5),
          fc.constantFrom<0 | 1 | 2 | 5>(0, 1, 2, 5),
          fc.nat(99),
          pad,
        ),
        { maxLength: 2 },
      ),
      fc.nat(),
      fc.array(pad, { minLength: symbols, maxLength: symbols }),
    ),
  )
  .map(([, symbolLengths, series, extra, order, symbolPads]) => {
    const symbolFields = symbolLengths.map((length, i) =>
      field(
        4,
        2,
        0,
        Array.from({ length }, () => 0x61),
        symbolPads[i] ?? 0,
      ),
    );
    const seriesFields = series.map(([fs, p]) => field(5, 2, 0, encodeFields(fs.flat()), p));
    const extraFields = extra.map(([n, w, v, p]) => field(n, w, v, [1, 2, 3], p));
    // Usually symbols first (as Prometheus writes them); otherwise series first, or the extra fields in between.
    const fields =
      order % 4 === 0
        ? [...seriesFields, ...extraFields, ...symbolFields]
        : order % 4 === 1
          ? [...symbolFields.slice(0, 3), ...extraFields, ...seriesFields, ...symbolFields.slice(3)]
          : [...symbolFields, ...seriesFields, ...extraFields];
    return encodeFields(fields);
  });

describe('scanWriteRequestV2 against the reference scanner', () => {
  it('returns the same RequestInfo, or the same error, for built bodies', () => {
    fc.assert(
      fc.property(request, (bytes) => {
        expectSameOutcome(Uint8Array.from(bytes));
      }),
      { numRuns: 1500 },
    );
  });

  it('returns the same RequestInfo, or the same error, once bytes are flipped or the body is cut', () => {
    fc.assert(
      fc.property(
        request,
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }),
        fc.nat(),
        (bytes, flips, cut) => {
          const body = Buffer.from(bytes);
          for (const [at, byte] of flips) if (body.length > 0) body[at % body.length] = byte;
          expectSameOutcome(body);
          expectSameOutcome(body.subarray(0, body.length === 0 ? 0 : cut % body.length));
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('returns the same RequestInfo, or the same error, for random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => expectSameOutcome(bytes)),
      { numRuns: 2000 },
    );
  });

  it('reads references of three and four bytes through tables of 2^14 and 2^21 symbols', () => {
    // One-byte symbols ("a"), then one series whose labels point at the last symbols; a table of 2^21 + 2 entries
    // makes the last references four bytes long, past the inline paths.
    for (const symbols of [20_000, (1 << 21) + 2]) {
      const head = Buffer.alloc(symbols * 3);
      for (let i = 0; i < symbols; i++) head.set([0x22, 0x01, i === symbols - 1 ? 0x62 : 0x61], i * 3);
      const refs = [1, symbols - 1, symbols - 2, symbols - 1, 0, 5].flatMap((r) => varint(r));
      const tail = Buffer.from(encodeFields([field(5, 2, 0, encodeFields([field(1, 2, 0, refs, 0)]), 0)]));
      const body = Buffer.concat([head, tail]);
      expectSameOutcome(body);
      expect(scanWriteRequestV2(body, 3)).toMatchObject({
        series: 1,
        maxLabelNames: 3,
        maxLabelNameLength: 1,
      });
      // A reference one past the table is refused, at the same offset.
      const past = Buffer.from(body);
      past.set(varint(symbols), past.length - refs.length + varint(1).length + varint(symbols - 1).length);
      expectSameOutcome(past);
      expect(() => scanWriteRequestV2(past, 3)).toThrow(`past the ${symbols} symbols`);
    }
  });

  it('refuses, like the reference, an inner length that runs one byte past its series or the body', () => {
    for (const inner of [1, 2, 3, 4, 5]) {
      for (const payload of [[], [0], [1, 2, 3]]) {
        // The field's length claims one byte more than the series holds.
        const fieldBytes = [inner * 8 + 2, payload.length + 1, ...payload];
        const body = Uint8Array.from([0x22, 0x00, 0x22, 0x01, 0x61, 0x2a, fieldBytes.length, ...fieldBytes]);
        expectSameOutcome(body);
        expect(() => scanWriteRequestV2(body, 3)).toThrow(/runs past the end/);
      }
    }
    // The same at the top level, for a symbol and for a series.
    for (const tag of [0x22, 0x2a]) {
      const body = Uint8Array.from([0x22, 0x00, tag, 0x03, 0x08, 0x00]);
      expectSameOutcome(body);
      expect(() => scanWriteRequestV2(body, 3)).toThrow(/runs past the end/);
    }
  });

  it('refuses, like the reference, a symbols table cut at any byte, whether the scratch array is full or not', () => {
    // The symbol run loop does not check each length against the body: a cut inside the last symbol must still
    // give the reader's error, at its offset, and nothing before the cut may be counted twice.
    for (const count of [3, 4096, 4100]) {
      const symbols = Array.from({ length: count }, (_, i) => field(4, 2, 0, [0x61, 0x62, i % 0x7f], 0));
      const body = Buffer.from(
        encodeFields([...symbols, field(5, 2, 0, encodeFields([field(1, 2, 0, [1, 2], 0)]), 0)]),
      );
      const symbolBytes = count * 5;
      for (const cut of [1, 2, 3, 4, symbolBytes - 4, symbolBytes - 3, symbolBytes - 1, symbolBytes + 2]) {
        expectSameOutcome(body.subarray(0, cut));
      }
      expectSameOutcome(body);
    }
  });

  it('keeps its scratch buffers honest from one request to the next', () => {
    // A big table, then a small one: stale lengths from the first must not leak into the second.
    const big = Buffer.from(
      encodeFields([
        ...Array.from({ length: 5000 }, () => field(4, 2, 0, [0x61, 0x61, 0x61], 0)),
        ...Array.from({ length: 3000 }, () => field(5, 2, 0, encodeFields([field(1, 2, 0, [1, 2], 0)]), 0)),
      ]),
    );
    const small = Buffer.from(
      encodeFields([field(4, 2, 0, [], 0), field(5, 2, 0, encodeFields([field(1, 2, 0, [0, 3], 0)]), 0)]),
    );
    expectSameOutcome(big);
    expectSameOutcome(small);
    expect(() => scanWriteRequestV2(small, 3)).toThrow(/past the 1 symbols/);
  });
});
