// Checks that the remote write 1.0 scanner with its inline label path behaves exactly like the reader-only scanner
// it replaced (test/helpers/rw1-scan-reference.ts): the same RequestInfo for every body, or the same error (code,
// message and offset). Labels are built field by field so they reach what protobufjs never writes (value before
// name, repeated or missing parts, unknown fields, non-minimal lengths, strings of 128 bytes or more), and then
// byte flips and truncation go on top.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { scanWriteRequest } from '../../../src/remote-write/index.js';
import { scanWriteRequestReference } from '../../helpers/rw1-scan-reference.js';
import { encodeWriteRequest, writeRequest } from '../../helpers/write-request.js';

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
    ...scanWriteRequest(buf, compressed),
    samplesOutOfOrder: undefined,
    minSampleTimeKey: undefined,
    maxSampleTimeKey: undefined,
    nonAsciiSymbols: undefined,
  });
  expect(outcome(withoutFlag, body)).toEqual(outcome(scanWriteRequestReference, body));
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

const bytesField = (field: number, payload: number[], pad = 0): number[] => [
  ...varint(field * 8 + 2, pad),
  ...varint(payload.length, pad),
  ...payload,
];

const pad = fc.oneof(
  { weight: 8, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) },
);
const text = fc
  .oneof(
    { weight: 6, arbitrary: fc.string({ maxLength: 14 }) },
    { weight: 1, arbitrary: fc.string({ minLength: 120, maxLength: 140 }) },
  )
  .map((s) => [...Buffer.from(s)]);

/** A Label payload: name then value (the usual order), or parts reordered, repeated, padded or missing. */
const label: fc.Arbitrary<number[]> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.tuple(text, text, pad).map(([n, v, p]) => [...bytesField(1, n, p), ...bytesField(2, v, p)]),
  },
  {
    weight: 2,
    arbitrary: fc
      .array(
        fc.oneof(
          text.map((n) => bytesField(1, n)),
          text.map((v) => bytesField(2, v)),
          fc.constant<number[]>([0x18, 0x01]),
        ),
        { maxLength: 4 },
      )
      .map((parts) => parts.flat()),
  },
);

/** A TimeSeries payload: labels mixed with samples, exemplars, histograms and now and then an unknown field. */
const series = fc
  .tuple(
    fc.array(fc.tuple(label, pad), { maxLength: 6 }),
    fc.nat(2),
    fc.nat(1),
    fc.nat(1),
    fc.boolean(),
    fc.boolean(),
  )
  .map(([labels, samples, exemplars, histograms, samplesFirst, unknown]) => {
    const l = labels.flatMap(([payload, p]) => bytesField(1, payload, p));
    const rest = [
      ...Array.from({ length: samples }, () =>
        bytesField(2, [0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x05]),
      ),
      ...Array.from({ length: exemplars }, () => bytesField(3, [0x11, 0, 0, 0, 0, 0, 0, 0, 0])),
      ...Array.from({ length: histograms }, () => bytesField(4, [0x08, 0x03])),
      ...(unknown ? [[0x38, 0x07]] : []),
    ].flat();
    return samplesFirst ? [...rest, ...l] : [...l, ...rest];
  });

const request = fc
  .tuple(fc.array(series, { maxLength: 5 }), fc.nat(2), fc.boolean())
  .map(([s, metadata, source]) =>
    Uint8Array.from([
      ...s.flatMap((payload) => bytesField(1, payload)),
      ...Array.from({ length: metadata }, () => bytesField(3, [0x08, 0x01])).flat(),
      ...(source ? [0x10, 0x01] : []),
    ]),
  );

const mutation = fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 });

describe('remote write 1.0 scanner (inline label path)', () => {
  it('gives the reference scanner’s answer for hand-built series', () => {
    fc.assert(
      fc.property(request, (body) => expectSameOutcome(body)),
      { numRuns: 2000 },
    );
  });

  it('gives the reference scanner’s answer, or its error, after byte flips and truncation', () => {
    fc.assert(
      fc.property(request, mutation, fc.nat(), (body, flips, cut) => {
        if (body.length === 0) return;
        const b = Uint8Array.from(body);
        for (const [at, byte] of flips) b[at % b.length] = byte;
        expectSameOutcome(b);
        expectSameOutcome(b.subarray(0, cut % (b.length + 1)));
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the reference scanner’s answer for protobufjs-encoded requests', () => {
    const labels = fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 140 }), { maxKeys: 6 });
    fc.assert(
      fc.property(
        fc.array(fc.record({ labels, samples: fc.nat(2), exemplars: fc.nat(1), histograms: fc.nat(1) }), {
          maxLength: 5,
        }),
        fc.nat(2),
        (s, metadata) => expectSameOutcome(encodeWriteRequest(writeRequest(s, metadata))),
      ),
      { numRuns: 500 },
    );
  });
});
