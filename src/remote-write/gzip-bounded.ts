// Bounded gzip decompression for OTLP bodies (Content-Encoding: gzip).
// Must never hold more than the bound of output: the trailer's size is checked first, then zlib stops the
// moment its output passes the bound. Only BodyDecodeError escapes.

import { constants, gunzipSync } from 'node:zlib';

import { BodyDecodeError } from './errors.js';

/** A gzip member is at least a 10-byte header and an 8-byte trailer (CRC32, ISIZE). */
const MIN_GZIP_BYTES = 18;

/** Deflate's densest output: at most about 1032 bytes out per byte in (zlib's technical notes). */
const MAX_DEFLATE_RATIO = 1032;

/**
 * Never less than zlib's own default chunk (16 KiB): a trailer that declares a few bytes for a body that inflates
 * to the limit must not make zlib crawl through it a few bytes at a time.
 */
const MIN_CHUNK_BYTES = constants.Z_DEFAULT_CHUNK;

/**
 * The output chunk for a body declaring `declared` bytes. zlib writes its output into chunks of this size (16 KiB
 * by default) and copies them into one buffer at the end. One chunk that holds the whole output is written in
 * place: no copy and one allocation, ~25% off the decompression of a 575 KB body. The one spare byte lets zlib
 * see the end of the stream without starting a second chunk. A trailer can lie, so the chunk is also held to what
 * deflate can produce from this body: a small body cannot make it allocate much.
 * Exported for its test, and for the benchmark's floor, which must decompress the same way.
 */
export function outputChunkBytes(declared: number, bodyBytes: number, maxUncompressedBytes: number): number {
  const expected = Math.min(declared, bodyBytes * MAX_DEFLATE_RATIO, maxUncompressedBytes);
  return Math.max(MIN_CHUNK_BYTES, expected + 1);
}

/**
 * Decompresses a gzip body whose output is at most `maxUncompressedBytes`.
 *
 * The trailer's ISIZE is the last member's size modulo 2^32, so a member declaring more than the bound is
 * either that large or corrupt: either way it is refused before inflating a byte (`decompressed_too_large`
 * with `declaredBytes`). The output may not pass the declared size either: zlib's `maxOutputLength` is the
 * declared size, so a trailer that lies (a 50 KB body declaring 10 bytes and inflating to 50 MB) is stopped after
 * one output chunk instead of after MAX_REQUEST_BYTES of work (`invalid_gzip`). That refuses bodies of more than
 * one gzip member (only the last member's size is in the trailer); no OTLP exporter sends those. The work one
 * gzip body can cost is therefore bounded by what it declares, which is bounded by the limit.
 * Malformed streams are `invalid_gzip`.
 */
export function gunzipBounded(body: Uint8Array, maxUncompressedBytes: number): Buffer {
  if (body.length < MIN_GZIP_BYTES || body[0] !== 0x1f || body[1] !== 0x8b) {
    throw new BodyDecodeError('invalid_gzip', 'invalid gzip: the body does not start with a gzip header', 0);
  }
  const last = body.length - 4;
  const declared =
    (body[last]! | (body[last + 1]! << 8) | (body[last + 2]! << 16)) + body[last + 3]! * 2 ** 24;
  if (declared > maxUncompressedBytes) {
    throw tooLarge(declared, maxUncompressedBytes);
  }
  try {
    return gunzipSync(body, {
      maxOutputLength: Math.max(1, declared),
      chunkSize: outputChunkBytes(declared, body.length, maxUncompressedBytes),
    });
  } catch (cause) {
    if (cause instanceof RangeError && (cause as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new BodyDecodeError(
        'invalid_gzip',
        `invalid gzip: the body inflates past the ${declared} bytes its trailer declares (a false trailer, or more than one gzip member: send one member)`,
        -1,
      );
    }
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new BodyDecodeError('invalid_gzip', `invalid gzip: ${detail}`, -1);
  }
}

function tooLarge(declared: number, limit: number): BodyDecodeError {
  const size = declared >= 0 ? `declares ${declared}` : 'inflates to more than';
  return new BodyDecodeError(
    'decompressed_too_large',
    `gzip body ${size} uncompressed bytes, more than the limit of ${limit}`,
    0,
    declared,
    limit,
  );
}
