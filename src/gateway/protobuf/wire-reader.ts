// A bounds-checked cursor over protobuf wire format, for the few Envoy messages the gRPC transports decode
// by hand. It must never read past the end it is given, never allocate per field except the strings a
// caller asks for, and never throw anything but WireFormatError for bad input.

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LENGTH_DELIMITED = 2;
export const WIRE_FIXED32 = 5;

/** Malformed protobuf: the gRPC server answers INVALID_ARGUMENT with this message. */
export class WireFormatError extends Error {
  override readonly name = 'WireFormatError';
  readonly code = 'ERR_EDGE_PROTOBUF';
}

const UTF8 = new TextDecoder('utf-8');

export class WireReader {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    pos = 0,
  ) {
    this.pos = pos;
  }

  /** An unsigned varint ending before `end`; values above 2^53 lose precision (only lengths and enums are read). */
  varint(end: number): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos < end && buf[pos]! < 0x80) {
      this.pos = pos + 1;
      return buf[pos]!;
    }
    const start = pos;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw new WireFormatError(`truncated varint at offset ${start}`);
      const byte = buf[pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        this.pos = pos;
        return value;
      }
      scale *= 128;
    }
    throw new WireFormatError(`varint longer than 10 bytes at offset ${start}`);
  }

  /** A field tag; field number 0 and the group wire types are refused. */
  tag(end: number): number {
    const start = this.pos;
    const tag = this.varint(end);
    const wire = tag & 7;
    if (tag < 8 || wire === 3 || wire === 4 || wire > 5) {
      throw new WireFormatError(`invalid field tag ${tag} at offset ${start}`);
    }
    return tag;
  }

  /** The end offset of the length-delimited payload that starts here (the cursor moves to its first byte). */
  delimitedEnd(end: number): number {
    const start = this.pos;
    const length = this.varint(end);
    if (length > end - this.pos) {
      throw new WireFormatError(`length ${length} at offset ${start} runs past the end of its message`);
    }
    return this.pos + length;
  }

  /** A length-delimited payload as a view into the buffer (no copy). */
  bytes(end: number): Uint8Array {
    const stop = this.delimitedEnd(end);
    const view = this.buf.subarray(this.pos, stop);
    this.pos = stop;
    return view;
  }

  string(end: number): string {
    const stop = this.delimitedEnd(end);
    const text = UTF8.decode(this.buf.subarray(this.pos, stop));
    this.pos = stop;
    return text;
  }

  /** Skips the payload of a field whose tag was just read. */
  skip(tag: number, end: number): void {
    switch (tag & 7) {
      case WIRE_VARINT:
        this.varint(end);
        return;
      case WIRE_FIXED64:
        this.skipBytes(8, end);
        return;
      case WIRE_LENGTH_DELIMITED:
        this.pos = this.delimitedEnd(end);
        return;
      default:
        this.skipBytes(4, end);
    }
  }

  private skipBytes(count: number, end: number): void {
    if (count > end - this.pos) throw new WireFormatError(`truncated fixed field at offset ${this.pos}`);
    this.pos += count;
  }
}
