// Bounded decompression of a snappy block-format body (what Prometheus remote write sends).
// Must never allocate more than the bound: the declared size is read from the preamble and checked before the
// native decoder (which allocates the declared size up front) is called. Only BodyDecodeError escapes.

import { uncompressSync } from 'snappy';

import { BodyDecodeError } from './errors.js';

/** The preamble is a little-endian base-128 varint; like Go's binary.Uvarint we accept up to 10 bytes. */
const MAX_PREAMBLE_BYTES = 10;

/**
 * The most output one compressed byte can produce. The densest snappy element is a copy with a 2-byte offset:
 * 3 input bytes yield at most 64 output bytes. A body declaring more than this ratio allows is corrupt, and
 * rejecting it up front stops a few-byte body from making the decoder allocate the full bound.
 */
const MAX_EXPANSION_PER_BYTE = 64 / 3;

/** Parses the preamble; returns the declared length and writes the preamble size to `preambleBytes[0]`. */
function readPreamble(body: Uint8Array, preambleBytes: [number]): number {
  let value = 0;
  let scale = 1;
  const limit = Math.min(body.length, MAX_PREAMBLE_BYTES);
  for (let i = 0; i < limit; i++) {
    const byte = body[i]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      preambleBytes[0] = i + 1;
      return value;
    }
    scale *= 128;
  }
  return -1;
}

/**
 * The uncompressed length a snappy block declares in its preamble, without decompressing anything;
 * -1 if the preamble is missing, truncated or longer than 10 bytes.
 */
export function snappyUncompressedLength(body: Uint8Array): number {
  return readPreamble(body, [0]);
}

/**
 * Decompresses a snappy block whose declared uncompressed size is at most `maxUncompressedBytes`.
 * Throws BodyDecodeError `decompressed_too_large` (with `declaredBytes`) before any allocation when the preamble
 * declares more, and `invalid_snappy` for a malformed preamble or data the decoder rejects.
 */
export function decompressSnappyBlock(body: Uint8Array, maxUncompressedBytes: number): Buffer {
  const preambleBytes: [number] = [0];
  const declared = readPreamble(body, preambleBytes);
  if (declared < 0) {
    throw new BodyDecodeError('invalid_snappy', 'invalid snappy: missing or malformed length preamble', 0);
  }
  if (declared > maxUncompressedBytes) {
    throw new BodyDecodeError(
      'decompressed_too_large',
      `snappy body declares ${declared} uncompressed bytes, more than the limit of ${maxUncompressedBytes}`,
      0,
      declared,
      maxUncompressedBytes,
    );
  }
  const payloadBytes = body.length - preambleBytes[0];
  if (declared > Math.ceil(payloadBytes * MAX_EXPANSION_PER_BYTE)) {
    throw new BodyDecodeError(
      'invalid_snappy',
      `invalid snappy: ${payloadBytes} compressed bytes cannot expand to the declared ${declared} bytes`,
      0,
    );
  }
  let output: string | Buffer;
  try {
    output = uncompressSync(body);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new BodyDecodeError('invalid_snappy', `invalid snappy: ${detail}`, -1);
  }
  // Without `asBuffer: false` the binding returns a Buffer; the check keeps the declared return type honest.
  if (typeof output === 'string' || output.length !== declared) {
    throw new BodyDecodeError(
      'invalid_snappy',
      'invalid snappy: output length differs from the preamble',
      -1,
    );
  }
  return output;
}
