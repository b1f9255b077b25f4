// Bounded gzip decompression for OTLP bodies (Content-Encoding: gzip).
// Must never hold more than the bound of output: the trailer's size is checked first, then zlib stops the
// moment its output passes the bound. Only BodyDecodeError escapes.

import { gunzipSync } from 'node:zlib';

import { BodyDecodeError } from './errors.js';

/** A gzip member is at least a 10-byte header and an 8-byte trailer (CRC32, ISIZE). */
const MIN_GZIP_BYTES = 18;

/**
 * Decompresses a gzip body whose output is at most `maxUncompressedBytes`.
 *
 * The trailer's ISIZE is the last member's size modulo 2^32, so a member declaring more than the bound is
 * either that large or corrupt: either way it is refused before inflating a byte (`decompressed_too_large`
 * with `declaredBytes`). A body whose trailer lies is cut off by zlib's `maxOutputLength` as soon as the output
 * passes the bound (`declaredBytes` -1). Malformed streams are `invalid_gzip`.
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
    return gunzipSync(body, { maxOutputLength: Math.max(1, maxUncompressedBytes) });
  } catch (cause) {
    if (cause instanceof RangeError && (cause as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw tooLarge(-1, maxUncompressedBytes);
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
