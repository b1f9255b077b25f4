// Checks the wire-format primitives against protobufjs' Writer and a BigInt LEB128 encoder written here.
// Every read must stop at the `end` it is given and fail only with BodyDecodeError.

import fc from 'fast-check';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';

import { BodyDecodeError } from '../../../src/remote-write/errors.js';
import {
  ProtoReader,
  WIRE_FIXED32,
  WIRE_FIXED64,
  WIRE_LENGTH_DELIMITED,
  WIRE_VARINT,
  makeTag,
  tagFieldNumber,
  tagWireType,
} from '../../../src/remote-write/protobuf-reader.js';

/** Unsigned LEB128, the protobuf varint, straight from the definition. */
function leb128(value: bigint): number[] {
  const bytes: number[] = [];
  let rest = value;
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    bytes.push(rest > 0n ? low | 0x80 : low);
  } while (rest > 0n);
  return bytes;
}

function expectDecodeError(run: () => unknown, messagePart: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(BodyDecodeError);
  expect((caught as BodyDecodeError).code).toBe('invalid_protobuf');
  expect((caught as BodyDecodeError).message).toMatch(messagePart);
}

const uint64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });

describe('ProtoReader.varint', () => {
  it('decodes every 64-bit value and advances past exactly its bytes', () => {
    fc.assert(
      fc.property(uint64, fc.uint8Array({ maxLength: 4 }), (value, trailing) => {
        const encoded = leb128(value);
        const reader = new ProtoReader(Uint8Array.from([...encoded, ...trailing]));
        const decoded = reader.varint(encoded.length + trailing.length);
        expect(reader.pos).toBe(encoded.length);
        if (value <= BigInt(Number.MAX_SAFE_INTEGER)) {
          expect(decoded).toBe(Number(value));
        } else {
          expect(Math.abs(decoded - Number(value)) / Number(value)).toBeLessThan(1e-15);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with protobufjs Writer.uint32 and .uint64', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (small, large) => {
        const bytes = protobuf.Writer.create().uint32(small).uint64(large).finish();
        const reader = new ProtoReader(bytes);
        expect(reader.varint(bytes.length)).toBe(small);
        expect(reader.varint(bytes.length)).toBe(large);
        expect(reader.pos).toBe(bytes.length);
      }),
    );
  });

  it('accepts 10-byte varints and rejects 11-byte ones', () => {
    const tenBytes = Uint8Array.from([...new Array<number>(9).fill(0xff), 0x01]);
    expect(new ProtoReader(tenBytes).varint(10)).toBe(2 ** 64 - 1);
    // Non-canonical padding is still a varint if it ends by the 10th byte.
    expect(new ProtoReader(Uint8Array.from([0x81, 0x80, 0x80, 0x00])).varint(4)).toBe(1);
    const elevenBytes = Uint8Array.from([...new Array<number>(10).fill(0x80), 0x00]);
    expectDecodeError(
      () => new ProtoReader(elevenBytes).varint(11),
      /varint longer than 10 bytes at offset 0/,
    );
  });

  it('stops at `end`, even when the buffer goes on', () => {
    const bytes = Uint8Array.from([0x07, 0x96, 0x01, 0x00]);
    const reader = new ProtoReader(bytes, 1);
    expectDecodeError(() => reader.varint(2), /truncated varint at offset 1/);
    expectDecodeError(() => new ProtoReader(bytes, 4).varint(4), /truncated varint at offset 4/);
    expect(new ProtoReader(bytes, 1).varint(3)).toBe(150);
  });
});

describe('ProtoReader.tag', () => {
  it('round-trips every field number with every accepted wire type', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 29 - 1 }),
        fc.constantFrom(WIRE_VARINT, WIRE_FIXED64, WIRE_LENGTH_DELIMITED, WIRE_FIXED32),
        (fieldNumber, wireType) => {
          const bytes = protobuf.Writer.create()
            .uint32(((fieldNumber << 3) | wireType) >>> 0)
            .finish();
          const tag = new ProtoReader(bytes).tag(bytes.length);
          expect(tag).toBe(makeTag(fieldNumber, wireType));
          expect(tagFieldNumber(tag)).toBe(fieldNumber);
          expect(tagWireType(tag)).toBe(wireType);
        },
      ),
    );
  });

  it('rejects field number 0, groups, wire types 6 and 7, and tags beyond 32 bits', () => {
    expectDecodeError(() => new ProtoReader(Uint8Array.from([0x00])).tag(1), /field number 0 at offset 0/);
    expectDecodeError(() => new ProtoReader(Uint8Array.from([0x02])).tag(1), /field number 0/);
    expectDecodeError(() => new ProtoReader(Uint8Array.from([0x80, 0x00])).tag(2), /field number 0/);
    expectDecodeError(
      () => new ProtoReader(Uint8Array.from([0x0b])).tag(1),
      /group \(wire type 3\) in field 1/,
    );
    expectDecodeError(() => new ProtoReader(Uint8Array.from([0x0c])).tag(1), /group \(wire type 4\)/);
    expectDecodeError(() => new ProtoReader(Uint8Array.from([0x0e])).tag(1), /invalid wire type 6/);
    expectDecodeError(() => new ProtoReader(Uint8Array.from([0x0f])).tag(1), /invalid wire type 7/);
    const huge = Uint8Array.from(leb128(2n ** 32n + 8n));
    expectDecodeError(() => new ProtoReader(huge).tag(huge.length), /field number out of range/);
  });
});

describe('ProtoReader.length and skip', () => {
  it('accepts a length that ends exactly at `end` and rejects one byte more', () => {
    const bytes = Uint8Array.from([0x03, 0x61, 0x62, 0x63, 0x64]);
    const reader = new ProtoReader(bytes);
    expect(reader.length(4)).toBe(3);
    expect(reader.pos).toBe(1);
    expectDecodeError(() => new ProtoReader(bytes).length(3), /length 3 runs past the end.*at offset 0/);
  });

  it('rejects huge declared lengths without trusting them', () => {
    for (const declared of [2n ** 31n, 2n ** 32n, 2n ** 40n, 2n ** 53n + 1n, 2n ** 64n - 1n]) {
      const bytes = Uint8Array.from([...leb128(declared), 0x00, 0x00]);
      expectDecodeError(() => new ProtoReader(bytes).length(bytes.length), /runs past the end/);
      expectDecodeError(() => new ProtoReader(bytes).skipLengthDelimited(bytes.length), /runs past the end/);
    }
  });

  it('skips any field protobufjs writes to exactly its end', () => {
    const field = fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => ({ wireType: WIRE_VARINT, value: v })),
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => ({ wireType: WIRE_FIXED64, value: v })),
      fc.uint8Array({ maxLength: 300 }).map((v) => ({ wireType: WIRE_LENGTH_DELIMITED, value: v })),
      fc.nat().map((v) => ({ wireType: WIRE_FIXED32, value: v })),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 2 ** 29 - 1 }), field), { maxLength: 20 }),
        (fields) => {
          const writer = protobuf.Writer.create();
          const ends: number[] = [];
          for (const [fieldNumber, { wireType, value }] of fields) {
            writer.uint32(((fieldNumber << 3) | wireType) >>> 0);
            if (wireType === WIRE_VARINT) writer.uint64(String(value));
            else if (wireType === WIRE_FIXED64) writer.fixed64(String(value));
            else if (wireType === WIRE_LENGTH_DELIMITED) writer.bytes(value as Uint8Array);
            else writer.fixed32(value as number);
            ends.push(writer.len);
          }
          const bytes = writer.finish();
          const reader = new ProtoReader(bytes);
          for (const fieldEnd of ends) {
            reader.skip(reader.tag(bytes.length), bytes.length);
            expect(reader.pos).toBe(fieldEnd);
          }
          expect(reader.pos).toBe(bytes.length);
        },
      ),
    );
  });

  it('rejects truncated fixed-width fields', () => {
    const fixed64 = Uint8Array.from([0x09, 1, 2, 3, 4, 5, 6, 7]);
    const reader64 = new ProtoReader(fixed64);
    expectDecodeError(() => reader64.skip(reader64.tag(8), 8), /truncated 8-byte fixed field at offset 1/);
    const fixed32 = Uint8Array.from([0x0d, 1, 2, 3, 4]);
    const reader32 = new ProtoReader(fixed32);
    expectDecodeError(() => reader32.skip(reader32.tag(4), 4), /truncated 4-byte fixed field/);
  });

  it('never throws anything but BodyDecodeError, and never moves past `end`', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(), (bytes, endSeed) => {
        const end = bytes.length === 0 ? 0 : endSeed % (bytes.length + 1);
        const reader = new ProtoReader(bytes);
        try {
          while (reader.pos < end) {
            reader.skip(reader.tag(end), end);
            expect(reader.pos).toBeLessThanOrEqual(end);
          }
        } catch (error) {
          expect(error).toBeInstanceOf(BodyDecodeError);
        }
        expect(reader.pos).toBeLessThanOrEqual(end);
      }),
      { numRuns: 3000 },
    );
  });
});
