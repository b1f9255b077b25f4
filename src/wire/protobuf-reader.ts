// The one protobuf wire-format reader (varints, tags, lengths, field skipping, strings) over a Uint8Array: the
// remote-write scanners read bodies with it, the gRPC transports their request messages. Must never allocate per
// field (except the strings a caller asks for), never read past the limit it is given, and never throw anything
// but the error its owner chose (WireFormatError unless told otherwise): every length is checked against the end
// of the enclosing message before it is used.

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LENGTH_DELIMITED = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

/** Malformed protobuf, from a reader built without its own `fail`: the gRPC server answers INVALID_ARGUMENT. */
export class WireFormatError extends Error {
  override readonly name = 'WireFormatError';
  readonly code = 'ERR_EDGE_PROTOBUF';
  /** Byte offset in the message where reading failed. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

/**
 * Builds the error a reader throws: `what` went wrong at byte `offset`. Called on the error path only. A layer
 * with its own error type (remote-write's BodyDecodeError) passes its factory, so the scanners keep throwing
 * nothing but their own error and the reader needs no try/catch around it.
 */
export type WireErrorFactory = (what: string, offset: number) => Error;

/** The default factory; the message always names the offset, so logs point at the byte. */
export function wireFormatError(what: string, offset: number): WireFormatError {
  return new WireFormatError(`invalid protobuf: ${what} at offset ${offset}`, offset);
}

const UTF8 = new TextDecoder('utf-8');

/** A protobuf varint is at most 10 bytes (64 bits, 7 per byte). */
export const MAX_VARINT_BYTES = 10;

/** Field numbers are 29 bits, so a valid tag fits in an unsigned 32-bit integer. */
const MAX_TAG = 0xffff_ffff;

/** Bit i set when wire type i is accepted: 0 (varint), 1 (fixed64), 2 (length-delimited), 5 (fixed32). */
const ACCEPTED_WIRE_TYPES =
  (1 << WIRE_VARINT) | (1 << WIRE_FIXED64) | (1 << WIRE_LENGTH_DELIMITED) | (1 << WIRE_FIXED32);

/** The tag (key) for a field number and wire type, e.g. `makeTag(1, WIRE_LENGTH_DELIMITED) === 10`. */
export function makeTag(fieldNumber: number, wireType: number): number {
  return fieldNumber * 8 + wireType;
}

export function tagFieldNumber(tag: number): number {
  return tag >>> 3;
}

export function tagWireType(tag: number): number {
  return tag & 7;
}

/**
 * A cursor over one buffer. The position lives in a field (not a returned object) so the hot loops of a scanner
 * stay allocation-free; every read takes `end`, the exclusive end of the message being read, and refuses to
 * cross it.
 *
 * Values are returned as JavaScript numbers. Varints above 2^53 lose precision, which is harmless here: they are
 * only ever compared against buffer sizes, and any such length is rejected anyway.
 */
export class ProtoReader {
  buf: Uint8Array;
  pos: number;
  /** Makes every error this reader throws; read on the error path only, so it costs the hot loops nothing. */
  private readonly fail: WireErrorFactory;

  constructor(buf: Uint8Array, pos = 0, fail: WireErrorFactory = wireFormatError) {
    this.buf = buf;
    this.pos = pos;
    this.fail = fail;
  }

  /** Reads an unsigned varint that must end before `end`. One-byte varints take the inlinable fast path. */
  varint(end: number): number {
    const pos = this.pos;
    if (pos < end) {
      const first = this.buf[pos]!;
      if (first < 0x80) {
        this.pos = pos + 1;
        return first;
      }
    }
    return this.varintSlow(end);
  }

  private varintSlow(end: number): number {
    const buf = this.buf;
    const start = this.pos;
    let pos = start;
    let value = 0;
    // Multiplication instead of shifts: bitwise operators truncate to 32 bits, lengths near 2^40 must survive.
    let scale = 1;
    // One throw site for both failures: the methods a scanner inlines must stay as small in bytecode as they
    // were, or V8's inlining budget for a whole scanner runs out sooner (measured: RW1 scan 3-5% slower).
    let what = 'varint longer than 10 bytes';
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (pos >= end) {
        what = 'truncated varint';
        break;
      }
      const byte = buf[pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        this.pos = pos;
        return value;
      }
      scale *= 128;
    }
    throw this.fail(what, start);
  }

  /**
   * Reads a field tag and validates it: field number 0, groups (wire types 3 and 4) and wire types 6 and 7 are
   * rejected, so callers can dispatch on the returned tag without further checks.
   */
  tag(end: number): number {
    const start = this.pos;
    const tag = this.varint(end);
    // tag < 8 means field number 0; the mask test rejects wire types 3, 4, 6 and 7 in one step.
    if (tag < 8 || tag > MAX_TAG || ((ACCEPTED_WIRE_TYPES >>> (tag & 7)) & 1) === 0) {
      throw this.tagError(tag, start);
    }
    return tag;
  }

  /** Reads the length prefix of a length-delimited field and checks the payload fits before `end`. */
  length(end: number): number {
    const start = this.pos;
    const length = this.varint(end);
    if (length > end - this.pos) {
      throw this.fail(`length ${length} runs past the end of the enclosing message (${end})`, start);
    }
    return length;
  }

  /**
   * Reads the length prefix of a sub-message and returns where its payload ends; the reader is left at the
   * payload's start. (Writing `pos + length(end)` instead would read `pos` before `length()` advances it.)
   */
  messageEnd(end: number): number {
    const length = this.length(end);
    return this.pos + length;
  }

  /**
   * Reads a length prefix and skips that many bytes, e.g. a sub-message that is only counted. (A one-liner
   * `pos += length(end)` would be wrong: `+=` reads `pos` before `length()` advances it.)
   */
  skipLengthDelimited(end: number): void {
    const length = this.length(end);
    this.pos += length;
  }

  /** Skips the payload of a field whose tag was just read by `tag()`. */
  skip(tag: number, end: number): void {
    switch (tag & 7) {
      case WIRE_VARINT:
        this.varint(end);
        return;
      case WIRE_FIXED64:
        this.skipBytes(8, end);
        return;
      case WIRE_LENGTH_DELIMITED:
        this.skipLengthDelimited(end);
        return;
      case WIRE_FIXED32:
        this.skipBytes(4, end);
        return;
      default:
        // Unreachable for tags from tag(); kept so a hand-built tag cannot make the reader wander.
        throw this.tagError(tag, this.pos);
    }
  }

  /** A length-delimited payload as a view into the buffer (no copy). */
  bytes(end: number): Uint8Array {
    const stop = this.messageEnd(end);
    const view = this.buf.subarray(this.pos, stop);
    this.pos = stop;
    return view;
  }

  /** A length-delimited payload decoded as UTF-8 (an invalid sequence becomes U+FFFD, never an error). */
  string(end: number): string {
    const stop = this.messageEnd(end);
    const text = UTF8.decode(this.buf.subarray(this.pos, stop));
    this.pos = stop;
    return text;
  }

  /** The error for a tag that tag() refuses; out of line, so tag() stays small enough to inline everywhere. */
  private tagError(tag: number, offset: number): Error {
    return this.fail(invalidTag(tag), offset);
  }

  private skipBytes(count: number, end: number): void {
    if (count > end - this.pos) {
      throw this.fail(`truncated ${count}-byte fixed field`, this.pos);
    }
    this.pos += count;
  }
}

/** What is wrong with a tag that tag() refused. */
function invalidTag(tag: number): string {
  if (tag < 8) {
    return 'field number 0';
  }
  if (tag > MAX_TAG) {
    return 'field number out of range';
  }
  const wireType = tag & 7;
  if (wireType === WIRE_START_GROUP || wireType === WIRE_END_GROUP) {
    return `unsupported group (wire type ${wireType}) in field ${tag >>> 3}`;
  }
  return `invalid wire type ${wireType} in field ${tag >>> 3}`;
}
