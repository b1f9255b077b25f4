// Checks the one protobuf wire reader (and the writer the gRPC responses use) against protobufjs' Writer and a
// BigInt LEB128 encoder written here. Every read must stop at the `end` it is given and fail only with the error
// its owner chose: WireFormatError by default, BodyDecodeError for the remote-write scanners.

import fc from 'fast-check';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';

import { BodyDecodeError, invalidProtobuf } from '../../../src/remote-write/errors.js';
import {
  ProtoReader,
  WIRE_FIXED32,
  WIRE_FIXED64,
  WIRE_LENGTH_DELIMITED,
  WIRE_VARINT,
  WireFormatError,
  makeTag,
  tagFieldNumber,
  tagWireType,
} from '../../../src/wire/protobuf-reader.js';
import { WireWriter } from '../../../src/wire/protobuf-writer.js';

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
  expect(caught).toBeInstanceOf(WireFormatError);
  expect((caught as WireFormatError).code).toBe('ERR_EDGE_PROTOBUF');
  expect((caught as WireFormatError).message).toMatch(messagePart);
  expect((caught as WireFormatError).message).toMatch(/^invalid protobuf: .* at offset \d+$/);
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

  it('never throws anything but WireFormatError, and never moves past `end`', () => {
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
          expect(error).toBeInstanceOf(WireFormatError);
        }
        expect(reader.pos).toBeLessThanOrEqual(end);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('ProtoReader errors', () => {
  it("throws the owner's error when given a factory: the scanners' BodyDecodeError, same text and offset", () => {
    const bytes = Uint8Array.from([0x0a, 0x05, 0x61]);
    const scanners = new ProtoReader(bytes, 0, invalidProtobuf);
    scanners.tag(bytes.length);
    let caught: unknown;
    try {
      scanners.length(bytes.length);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BodyDecodeError);
    expect((caught as BodyDecodeError).code).toBe('invalid_protobuf');
    expect((caught as BodyDecodeError).reason).toBe('invalid_body');
    expect((caught as BodyDecodeError).offset).toBe(1);
    const plain = new ProtoReader(bytes);
    plain.tag(bytes.length);
    expect(() => plain.length(bytes.length)).toThrow((caught as Error).message);
  });

  it('with a factory, never throws anything else, on any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const reader = new ProtoReader(bytes, 0, invalidProtobuf);
        try {
          while (reader.pos < bytes.length) {
            const tag = reader.tag(bytes.length);
            if ((tag & 7) === WIRE_LENGTH_DELIMITED) reader.string(bytes.length);
            else reader.skip(tag, bytes.length);
          }
        } catch (error) {
          expect(error).toBeInstanceOf(BodyDecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('ProtoReader.bytes and string', () => {
  it('read what protobufjs writes; bytes is a view into the buffer, not a copy', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        fc.uint8Array({ maxLength: 300 }),
        (text, data) => {
          const bytes = protobuf.Writer.create().string(text).bytes(data).finish();
          const reader = new ProtoReader(bytes);
          expect(reader.string(bytes.length)).toBe(text);
          const view = reader.bytes(bytes.length);
          expect(Buffer.from(view).equals(Buffer.from(data))).toBe(true);
          expect(view.buffer).toBe(bytes.buffer);
          expect(reader.pos).toBe(bytes.length);
        },
      ),
    );
  });

  it('refuse a length past `end` and leave invalid UTF-8 as U+FFFD', () => {
    const bytes = Uint8Array.from([0x03, 0x61, 0xff, 0x62, 0x00]);
    expect(new ProtoReader(bytes).string(4)).toBe('a\uFFFDb');
    expectDecodeError(() => new ProtoReader(bytes).string(3), /length 3 runs past the end/);
    expectDecodeError(() => new ProtoReader(bytes).bytes(3), /length 3 runs past the end/);
  });
});

describe('WireWriter, read back by ProtoReader', () => {
  type Field =
    | { kind: 'varint'; value: number }
    | { kind: 'string'; value: string }
    | { kind: 'nested'; fields: Field[] };
  const leaf = fc.oneof(
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).map((value): Field => ({ kind: 'varint', value })),
    fc.string({ maxLength: 150 }).map((value): Field => ({ kind: 'string', value })),
  );
  const field: fc.Arbitrary<Field> = fc.oneof(
    leaf,
    fc.array(leaf, { maxLength: 6 }).map((fields): Field => ({ kind: 'nested', fields })),
  );

  function write(w: WireWriter, fields: Field[]): void {
    fields.forEach((f, i) => {
      if (f.kind === 'varint') w.varint(i + 1, f.value);
      else if (f.kind === 'string') w.string(i + 1, f.value);
      else {
        w.begin(i + 1);
        write(w, f.fields);
        w.end();
      }
    });
  }

  function read(reader: ProtoReader, end: number, fields: Field[]): void {
    fields.forEach((f, i) => {
      const tag = reader.tag(end);
      expect(tagFieldNumber(tag)).toBe(i + 1);
      if (f.kind === 'varint') expect(reader.varint(end)).toBe(f.value);
      else if (f.kind === 'string') expect(reader.string(end)).toBe(f.value);
      else read(reader, reader.messageEnd(end), f.fields);
    });
    expect(reader.pos).toBe(end);
  }

  it('round-trips varints, strings and nested messages, framed with the 5-byte gRPC prefix', () => {
    const writer = new WireWriter(16);
    fc.assert(
      fc.property(fc.array(field, { maxLength: 8 }), (fields) => {
        write(writer.reset(), fields);
        const framed = writer.finishFramed();
        expect(framed[0]).toBe(0);
        expect(framed.readUInt32BE(1)).toBe(framed.length - 5);
        read(new ProtoReader(framed, 5), framed.length, fields);
      }),
    );
  });
});
