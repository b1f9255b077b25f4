// Checks bounded snappy decompression: round trips, the bound enforced from the preamble before the native
// decoder runs, and that malformed input only ever surfaces as BodyDecodeError.

import fc from 'fast-check';
import { compressSync, uncompressSync } from 'snappy';
import type * as SnappyModule from 'snappy';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import {
  BodyDecodeError,
  decompressSnappyBlock,
  snappyUncompressedLength,
} from '../../../src/remote-write/index.js';

// Wrap the native decoder in a spy so tests can prove it was never reached for bodies rejected up front.
vi.mock('snappy', async (importOriginal) => {
  const actual = await importOriginal<typeof SnappyModule>();
  return { ...actual, uncompressSync: vi.fn(actual.uncompressSync) };
});
const nativeUncompress = vi.mocked(uncompressSync);

beforeEach(() => {
  nativeUncompress.mockClear();
});

function leb128(value: number): number[] {
  const bytes: number[] = [];
  let rest = BigInt(value);
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    bytes.push(rest > 0n ? low | 0x80 : low);
  } while (rest > 0n);
  return bytes;
}

function decodeError(run: () => unknown): BodyDecodeError {
  try {
    run();
  } catch (error) {
    if (error instanceof BodyDecodeError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected a BodyDecodeError, nothing was thrown');
}

const MiB = 1024 * 1024;

describe('decompressSnappyBlock', () => {
  it('round-trips arbitrary and highly compressible data', () => {
    const data = fc.oneof(
      fc.uint8Array({ maxLength: 4096 }),
      fc
        .tuple(fc.nat(255), fc.integer({ min: 0, max: 200_000 }))
        .map(([byte, length]) => new Uint8Array(length).fill(byte)),
      fc
        .array(fc.constantFrom('up{job="a"} ', 'label_value_', '𝄞'), { maxLength: 500 })
        .map((parts) => Buffer.from(parts.join(''))),
    );
    fc.assert(
      fc.property(data, (input) => {
        const compressed = compressSync(input);
        expect(snappyUncompressedLength(compressed)).toBe(input.length);
        const output = decompressSnappyBlock(compressed, input.length);
        expect(Buffer.compare(output, Buffer.from(input))).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('decompresses an empty body declared as 0 bytes', () => {
    expect(decompressSnappyBlock(compressSync(Buffer.alloc(0)), 0).length).toBe(0);
  });

  it('enforces the bound from the declared length, before decompressing', () => {
    const input = Buffer.alloc(8 * MiB, 7); // compresses to well under 1 MiB
    const compressed = compressSync(input);
    expect(decompressSnappyBlock(compressed, 8 * MiB).length).toBe(8 * MiB);
    nativeUncompress.mockClear();

    const error = decodeError(() => decompressSnappyBlock(compressed, 8 * MiB - 1));
    expect(error.code).toBe('decompressed_too_large');
    expect(error.reason).toBe('body_too_large');
    expect(error.declaredBytes).toBe(8 * MiB);
    expect(error.limitBytes).toBe(8 * MiB - 1);
    expect(nativeUncompress).not.toHaveBeenCalled();
  });

  it('rejects a preamble declaring 10 GB quickly, without calling the decoder or allocating', () => {
    const body = Uint8Array.from([...leb128(10_000_000_000), ...new Array<number>(64).fill(0xa5)]);
    expect(snappyUncompressedLength(body)).toBe(10_000_000_000);
    const memoryBefore = process.memoryUsage();
    const started = performance.now();
    const error = decodeError(() => decompressSnappyBlock(body, 64 * MiB));
    const elapsedMs = performance.now() - started;
    const memoryAfter = process.memoryUsage();
    expect(error.code).toBe('decompressed_too_large');
    expect(error.declaredBytes).toBe(10_000_000_000);
    expect(elapsedMs).toBeLessThan(50);
    expect(nativeUncompress).not.toHaveBeenCalled();
    expect(memoryAfter.arrayBuffers - memoryBefore.arrayBuffers).toBeLessThan(MiB);
    expect(memoryAfter.rss - memoryBefore.rss).toBeLessThan(32 * MiB);
  });

  it('rejects a declared size the compressed bytes cannot reach, within the bound, without decoding', () => {
    // 60 MB declared by a 20-byte body: legal under a 64 MiB bound, impossible for snappy (at most 64 bytes out
    // per 3 in), so the decoder must not get to allocate 60 MB for it.
    const body = Uint8Array.from([...leb128(60_000_000), ...new Array<number>(16).fill(0)]);
    const error = decodeError(() => decompressSnappyBlock(body, 64 * MiB));
    expect(error.code).toBe('invalid_snappy');
    expect(error.reason).toBe('invalid_body');
    expect(nativeUncompress).not.toHaveBeenCalled();
  });

  it('reports malformed preambles and corrupt data as invalid_snappy', () => {
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      Uint8Array.from([0x80]),
      Uint8Array.from(new Array<number>(11).fill(0xff)),
      Uint8Array.from([0x05, 0xff, 0xff, 0xff]), // copy with an offset before the start
      Uint8Array.from([0x0a, 0x10, 0x61, 0x62, 0x63, 0x64, 0x65]), // literal shorter than declared
      Uint8Array.from([0x02, 0x08, 0x61, 0x62, 0x63]), // more output than declared
    ];
    for (const body of cases) {
      expect(decodeError(() => decompressSnappyBlock(body, MiB)).code).toBe('invalid_snappy');
    }
    expect(snappyUncompressedLength(new Uint8Array(0))).toBe(-1);
    expect(snappyUncompressedLength(Uint8Array.from([0x80, 0x80]))).toBe(-1);
    expect(snappyUncompressedLength(Uint8Array.from(new Array<number>(11).fill(0xff)))).toBe(-1);
    // An 11-byte preamble is malformed even when it ends (Go's binary.Uvarint stops at 10 bytes too).
    const elevenBytePreamble = Uint8Array.from([...new Array<number>(10).fill(0x80), 0x00, 0x00]);
    expect(snappyUncompressedLength(elevenBytePreamble)).toBe(-1);
    expect(decodeError(() => decompressSnappyBlock(elevenBytePreamble, MiB)).code).toBe('invalid_snappy');
    expect(snappyUncompressedLength(Uint8Array.from([...new Array<number>(9).fill(0x80), 0x00]))).toBe(0);
  });

  it('never throws anything but BodyDecodeError, and never returns more than the bound', () => {
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 256 }),
      // Valid compressed data with a few bytes flipped.
      fc
        .tuple(
          fc.uint8Array({ minLength: 1, maxLength: 2048 }),
          fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 3 }),
        )
        .map(([input, flips]) => {
          const compressed = Buffer.from(compressSync(input));
          for (const [at, byte] of flips) compressed[at % compressed.length] = byte;
          return compressed;
        }),
    );
    fc.assert(
      fc.property(body, fc.integer({ min: 0, max: 4096 }), (bytes, bound) => {
        try {
          const output = decompressSnappyBlock(bytes, bound);
          expect(output.length).toBeLessThanOrEqual(bound);
          expect(output.length).toBe(snappyUncompressedLength(bytes));
        } catch (error) {
          expect(error).toBeInstanceOf(BodyDecodeError);
          const code = (error as BodyDecodeError).code;
          expect(code === 'invalid_snappy' || code === 'decompressed_too_large').toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
