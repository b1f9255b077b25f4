// The one error type the remote-write body decoders throw: a stable code plus where the body went wrong.
// Decoders must never let any other exception (RangeError, snappy's native errors) escape for bad input;
// callers turn this error into a Decision without inspecting its message.

import type { DecisionReason } from '../decision/decision.js';

/**
 * Stable identifiers of what was wrong with a body. They appear in metrics and logs, so never rename one.
 * - `decompressed_too_large`: the snappy preamble declares more bytes than the configured bound.
 * - `invalid_snappy`: the snappy block is malformed (bad preamble, impossible length, corrupt data).
 * - `invalid_protobuf`: the decompressed bytes are not a well-formed message of the format (RW1, RW2, OTLP).
 * - `invalid_gzip`: the gzip stream is malformed or truncated.
 * - `invalid_json`: an OTLP/JSON body is not JSON, or not shaped like an ExportMetricsServiceRequest.
 */
export type BodyDecodeErrorCode =
  'decompressed_too_large' | 'invalid_snappy' | 'invalid_protobuf' | 'invalid_gzip' | 'invalid_json';

export class BodyDecodeError extends Error {
  override readonly name = 'BodyDecodeError';
  readonly code: BodyDecodeErrorCode;
  /** Byte offset in the decoded buffer (or the compressed body for snappy errors) where decoding failed; -1 if none. */
  readonly offset: number;
  /** For `decompressed_too_large`: the uncompressed size the body declares (-1 when unknown, e.g. a gzip stream cut off at the bound). */
  readonly declaredBytes: number;
  /** For `decompressed_too_large`: the bound that was exceeded; -1 otherwise. */
  readonly limitBytes: number;

  constructor(code: BodyDecodeErrorCode, message: string, offset = -1, declaredBytes = -1, limitBytes = -1) {
    super(message);
    this.code = code;
    this.offset = offset;
    this.declaredBytes = declaredBytes;
    this.limitBytes = limitBytes;
  }

  /** The DecisionReason this failure maps to: a bound violation is `body_too_large`, anything else `invalid_body`. */
  get reason(): Extract<DecisionReason, 'body_too_large' | 'invalid_body'> {
    return this.code === 'decompressed_too_large' ? 'body_too_large' : 'invalid_body';
  }
}

/** Builds an `invalid_protobuf` error whose message always names the offset, so logs point at the byte. */
export function invalidProtobuf(what: string, offset: number): BodyDecodeError {
  return new BodyDecodeError('invalid_protobuf', `invalid protobuf: ${what} at offset ${offset}`, offset);
}

export function isBodyDecodeError(value: unknown): value is BodyDecodeError {
  return value instanceof BodyDecodeError;
}
