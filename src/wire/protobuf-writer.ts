// A reusable protobuf encoder for the responses the gRPC transports send: one scratch buffer, nested
// messages written in place (a one-byte length slot widened only when a payload reaches 128 bytes), and
// the 5-byte gRPC message prefix reserved up front so framing costs no extra copy.
// It must never share its scratch buffer with a caller: finishFramed() returns a fresh Buffer.

import { WIRE_FIXED64, WIRE_LENGTH_DELIMITED, WIRE_VARINT } from './protobuf-reader.js';

const GRPC_PREFIX_BYTES = 5;

export class WireWriter {
  private buf: Buffer;
  private pos = GRPC_PREFIX_BYTES;
  private readonly open: number[] = [];

  constructor(initialBytes = 512) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  reset(): this {
    this.pos = GRPC_PREFIX_BYTES;
    this.open.length = 0;
    return this;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private rawVarint(value: number): void {
    this.ensure(10);
    const buf = this.buf;
    let v = value;
    while (v >= 0x80) {
      buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    buf[this.pos++] = v;
  }

  /** A varint field (uint32, uint64 below 2^53, enum, bool); negative values are not supported. */
  varint(field: number, value: number): this {
    this.rawVarint(field * 8 + WIRE_VARINT);
    this.rawVarint(value);
    return this;
  }

  /** A double field (google.protobuf.Value.number_value). */
  double(field: number, value: number): this {
    this.rawVarint(field * 8 + WIRE_FIXED64);
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
    return this;
  }

  string(field: number, value: string): this {
    const length = Buffer.byteLength(value);
    this.rawVarint(field * 8 + WIRE_LENGTH_DELIMITED);
    this.rawVarint(length);
    this.ensure(length);
    this.pos += this.buf.write(value, this.pos, 'utf8');
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.rawVarint(field * 8 + WIRE_LENGTH_DELIMITED);
    this.rawVarint(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
    return this;
  }

  /** Opens a nested message; close it with end(). */
  begin(field: number): this {
    this.rawVarint(field * 8 + WIRE_LENGTH_DELIMITED);
    this.ensure(1);
    this.open.push(this.pos);
    this.pos += 1;
    return this;
  }

  end(): this {
    const slot = this.open.pop();
    if (slot === undefined) throw new Error('WireWriter.end() without begin()');
    const length = this.pos - slot - 1;
    if (length < 0x80) {
      this.buf[slot] = length;
      return this;
    }
    let extra = 0;
    for (let v = length; v >= 0x80; v = Math.floor(v / 0x80)) extra++;
    this.ensure(extra);
    this.buf.copyWithin(slot + 1 + extra, slot + 1, this.pos);
    this.pos += extra;
    let v = length;
    let at = slot;
    while (v >= 0x80) {
      this.buf[at++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[at] = v;
    return this;
  }

  /** The message with its gRPC prefix (uncompressed flag + big-endian length), as a new Buffer. */
  finishFramed(): Buffer {
    if (this.open.length > 0) throw new Error('WireWriter.finishFramed() with an open message');
    const length = this.pos - GRPC_PREFIX_BYTES;
    this.buf[0] = 0;
    this.buf.writeUInt32BE(length, 1);
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  /** The message without the gRPC prefix, as a new Buffer (for tests and nested use). */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(GRPC_PREFIX_BYTES, this.pos));
  }
}
