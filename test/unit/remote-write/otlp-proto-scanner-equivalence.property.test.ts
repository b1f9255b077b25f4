// Checks that the OTLP protobuf scanner with its inline attribute path behaves exactly like the reader-only
// scanner it replaced (test/helpers/otlp-proto-scan-reference.ts): the same RequestInfo for every body, or the
// same error (code, message and offset). Attributes are built field by field so they reach what protobufjs never
// writes (value before key, repeated keys, unknown fields, non-minimal lengths, long strings, empty KeyValues),
// and then byte flips and truncation go on top.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { scanOtlpProto } from '../../../src/remote-write/index.js';
import { encodeOtlpProto, otlpRequest } from '../../helpers/otlp-request.js';
import type { OtlpResourceSpec } from '../../helpers/otlp-request.js';
import { scanOtlpProtoReference } from '../../helpers/otlp-proto-scan-reference.js';

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
  expect(outcome(scanOtlpProto, body)).toEqual(outcome(scanOtlpProtoReference, body));
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
/** Mostly short text, sometimes past the one-byte length (128 or more bytes). */
const text = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 120, maxLength: 140 }) },
);
const utf8 = (s: string): number[] => [...Buffer.from(s)];

/** An AnyValue payload: mostly a string, sometimes a scalar, bytes, or an unknown field. */
const anyValue: fc.Arbitrary<number[]> = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(text, pad).map(([s, p]) => bytesField(1, utf8(s), p)) },
  { weight: 1, arbitrary: fc.boolean().map((b) => [0x10, b ? 1 : 0]) },
  { weight: 1, arbitrary: fc.integer({ min: -1e6, max: 1e6 }).map((n) => [0x18, ...varint(n >>> 0)]) },
  { weight: 1, arbitrary: fc.constant<number[]>([0x21, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f]) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 10 }).map((b) => bytesField(7, [...b])) },
  { weight: 1, arbitrary: fc.constant<number[]>([0x48, 0x05]) },
);

/** A KeyValue payload: key then value (the usual order), or parts reordered, repeated, padded or missing. */
const keyValue: fc.Arbitrary<number[]> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(text, anyValue, pad)
      .map(([k, v, p]) => [...bytesField(1, utf8(k), p), ...bytesField(2, v, p)]),
  },
  {
    weight: 2,
    arbitrary: fc
      .array(
        fc.oneof(
          text.map((k) => bytesField(1, utf8(k))),
          anyValue.map((v) => bytesField(2, v)),
          fc.constant<number[]>([0x18, 0x01]),
        ),
        { maxLength: 4 },
      )
      .map((parts) => parts.flat()),
  },
);

/** A gauge point: attributes (tag 7) mixed with a timestamp and a value, as one Gauge.data_points payload. */
const point = fc
  .tuple(fc.array(fc.tuple(keyValue, pad), { maxLength: 5 }), fc.boolean())
  .map(([kvs, valueFirst]) => {
    const attrs = kvs.flatMap(([kv, p]) => bytesField(7, kv, p));
    const rest = [0x19, 1, 2, 3, 4, 5, 6, 7, 8, 0x21, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f];
    return valueFirst ? [...rest, ...attrs] : [...attrs, ...rest];
  });

function body(points: number[][], name: string): Uint8Array {
  const gauge = points.flatMap((p) => bytesField(1, p));
  const metric = [...bytesField(1, utf8(name)), ...bytesField(5, gauge)];
  const scope = bytesField(2, metric);
  const resource = bytesField(
    1,
    bytesField(1, [...bytesField(1, utf8('service.name')), ...bytesField(2, bytesField(1, utf8('api')))]),
  );
  const rm = [...resource, ...bytesField(2, scope)];
  return Uint8Array.from(bytesField(1, rm));
}

const mutation = fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 });

describe('OTLP protobuf scanner (inline attribute path)', () => {
  it('gives the reference scanner’s answer for hand-built attributes', () => {
    fc.assert(
      fc.property(fc.array(point, { maxLength: 4 }), text, (points, name) => {
        expectSameOutcome(body(points, name));
      }),
      { numRuns: 1500 },
    );
  });

  it('gives the reference scanner’s answer, or its error, after byte flips and truncation', () => {
    fc.assert(
      fc.property(
        fc.array(point, { minLength: 1, maxLength: 3 }),
        mutation,
        fc.nat(),
        (points, flips, cut) => {
          const b = body(points, 'm');
          for (const [at, byte] of flips) b[at % b.length] = byte;
          expectSameOutcome(b);
          expectSameOutcome(b.subarray(0, cut % (b.length + 1)));
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('gives the reference scanner’s answer for protobufjs-encoded requests of every metric kind', () => {
    const attrs = fc.dictionary(fc.string({ maxLength: 8 }), text, { maxKeys: 4 });
    const spec: fc.Arbitrary<OtlpResourceSpec> = fc.record({
      attributes: attrs,
      metrics: fc.array(
        fc.record({
          name: fc.string({ maxLength: 8 }),
          kind: fc.constantFrom('gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'),
          points: fc.array(
            fc.record({ attributes: attrs, exemplars: fc.nat(2), buckets: fc.nat(3), hasSum: fc.boolean() }),
            { maxLength: 3 },
          ),
        }),
        { maxLength: 3 },
      ),
    });
    fc.assert(
      fc.property(fc.array(spec, { maxLength: 3 }), mutation, (resources, flips) => {
        const b = encodeOtlpProto(otlpRequest(resources));
        expectSameOutcome(b);
        if (b.length === 0) return;
        for (const [at, byte] of flips) b[at % b.length] = byte;
        expectSameOutcome(b);
      }),
      { numRuns: 800 },
    );
  });
});
