// The bounded hand-over of write bodies from the event loop to the active-series worker (docs/active-series.md):
// one SharedArrayBuffer used as a single-producer, single-consumer ring of records. The event loop copies a body in
// and publishes it with one atomic store; it never waits, and a body that does not fit is dropped (the caller
// counts it). The worker copies each record out, frees its room, and reads it at its own pace.
//
// Why a copy into shared memory and not a transfer: transferring detaches an ArrayBuffer, and the first detach of a
// process turns off V8's ArrayBufferDetaching protector, after which every typed-array read in optimized code
// checks for detachment: the body scanners measured 11-23% slower (scripts/run-compiled.mjs). And the body that
// is cheapest to hand over is often the very one the proxy forwards.
//
// Why each body keeps its alignment: V8 copies into shared memory with relaxed atomic stores, a word at a time
// when source and destination agree modulo 8 and a byte at a time when they do not (6x slower, measured).
//
// Record layout, at an offset that is a multiple of 8 (little-endian, as every platform Node runs on):
//   u32 record bytes (to the next record; WRAP: the next record is at offset 0) | u32 body bytes |
//   u32 decoded bytes | u8 format | u8 encoding | u16 tenant bytes | f64 nowMs | u32 body offset | u32 unused |
//   tenant (UTF-8) | padding | body

import type { WriteFormat } from '../../remote-write/request-info.js';

/** How the body of a record is encoded: as decoded (identity), snappy block, or gzip. */
export type HandoverEncoding = 'identity' | 'snappy' | 'gzip';

const FORMATS: readonly WriteFormat[] = ['prw1', 'prw2', 'otlp-proto', 'otlp-json'];
const ENCODINGS: readonly HandoverEncoding[] = ['identity', 'snappy', 'gzip'];

/** Int32 slots of the control block. */
const HEAD = 0; // where the producer writes next (bytes into the data region)
const TAIL = 1; // where the consumer reads next
const SEQ = 2; // bumped to wake a waiting consumer
const WAITING = 3; // 1 while the consumer is about to wait or waiting
const CONTROL_BYTES = 64;
const HEADER_BYTES = 32;
const WRAP = 0xffffffff;
const MAX_TENANT_BYTES = 0xffff;

export interface HandoverRecord {
  tenant: string;
  format: WriteFormat;
  encoding: HandoverEncoding;
  nowMs: number;
  /** Bytes of the body once decoded (the bound for decompressing it). */
  decodedBytes: number;
  /** A copy of the body, the consumer's own (valid until the next record is read). */
  body: Uint8Array;
}

/** A ring of `capacity` bytes (rounded up to a multiple of 8), shared by the two sides. */
export function createRingBuffer(capacity: number): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_BYTES + align8(Math.max(capacity, 1024)));
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

class RingViews {
  readonly control: Int32Array;
  readonly bytes: Uint8Array;
  readonly words: Uint32Array;
  readonly doubles: Float64Array;
  readonly capacity: number;

  constructor(buffer: SharedArrayBuffer) {
    this.control = new Int32Array(buffer, 0, CONTROL_BYTES / 4);
    this.capacity = buffer.byteLength - CONTROL_BYTES;
    this.bytes = new Uint8Array(buffer, CONTROL_BYTES, this.capacity);
    this.words = new Uint32Array(buffer, CONTROL_BYTES, this.capacity / 4);
    this.doubles = new Float64Array(buffer, CONTROL_BYTES, this.capacity / 8);
  }
}

const encoder = new TextEncoder();

/** The event loop's side: put() copies a body in, or refuses it when the ring is full. Never waits. */
export class RingProducer {
  private readonly v: RingViews;
  /** Bodies put, and refused for want of room. */
  put = 0;
  full = 0;

  constructor(buffer: SharedArrayBuffer) {
    this.v = new RingViews(buffer);
  }

  /** Bytes waiting for the consumer. */
  get queuedBytes(): number {
    const head = Atomics.load(this.v.control, HEAD);
    const tail = Atomics.load(this.v.control, TAIL);
    return head >= tail ? head - tail : this.v.capacity - tail + head;
  }

  /** Copies one body in; false (nothing written) when it does not fit in the room left. */
  offer(
    tenant: string,
    format: WriteFormat,
    encoding: HandoverEncoding,
    nowMs: number,
    decodedBytes: number,
    body: Uint8Array,
  ): boolean {
    const v = this.v;
    let tenantBytes = tenant.length;
    let tenantUtf8: Uint8Array | undefined;
    for (let i = 0; i < tenant.length; i++) {
      if (tenant.charCodeAt(i) > 0x7f) {
        tenantUtf8 = encoder.encode(tenant);
        tenantBytes = tenantUtf8.length;
        break;
      }
    }
    if (tenantBytes > MAX_TENANT_BYTES) return this.refuse();
    // Padding so that the body lands at the same offset modulo 8 as it has in its own buffer.
    const bodyOffset = HEADER_BYTES + align8(tenantBytes) + (body.byteOffset & 7);
    const need = align8(bodyOffset + body.length);
    const head = Atomics.load(v.control, HEAD);
    const tail = Atomics.load(v.control, TAIL);
    let at: number;
    if (head >= tail) {
      // Room at the end (the ring must never become full to the byte: head === tail means empty) ...
      if (v.capacity - head > need || (v.capacity - head === need && tail > 0)) at = head;
      // ... or at the start, behind a wrap marker.
      else if (tail > need) at = 0;
      else return this.refuse();
    } else if (tail - head > need) at = head;
    else return this.refuse();

    const words = v.words;
    const w = at >>> 2;
    words[w] = need;
    words[w + 1] = body.length;
    words[w + 2] = decodedBytes;
    words[w + 3] = FORMATS.indexOf(format) | (ENCODINGS.indexOf(encoding) << 8) | (tenantBytes << 16);
    v.doubles[(at >>> 3) + 2] = nowMs;
    words[w + 6] = bodyOffset;
    const bytes = v.bytes;
    const t0 = at + HEADER_BYTES;
    if (tenantUtf8 !== undefined) bytes.set(tenantUtf8, t0);
    else for (let i = 0; i < tenantBytes; i++) bytes[t0 + i] = tenant.charCodeAt(i);
    bytes.set(body, at + bodyOffset);
    if (at === 0 && head !== 0) words[head >>> 2] = WRAP;
    let next = at + need;
    if (next === v.capacity) next = 0;
    // Publishes the record: the consumer's atomic load of HEAD sees every write above.
    Atomics.store(v.control, HEAD, next);
    this.put++;
    // A consumer that announced it is waiting is woken; one still reading will see HEAD itself.
    if (Atomics.load(v.control, WAITING) === 1) {
      Atomics.store(v.control, WAITING, 0);
      Atomics.add(v.control, SEQ, 1);
      Atomics.notify(v.control, SEQ);
    }
    return true;
  }

  private refuse(): false {
    this.full++;
    return false;
  }
}

const decoder = new TextDecoder();

/** Atomics.waitAsync (Node 16+; typed in lib ES2024, newer than this project's ES2023). */
interface AtomicsWaitAsync {
  waitAsync(
    array: Int32Array,
    index: number,
    value: number,
    timeoutMs: number,
  ): { async: false; value: string } | { async: true; value: Promise<string> };
}

/** The worker's side: take() the next record (a copy of its own), or wait for one. */
export class RingConsumer {
  private readonly v: RingViews;
  private scratch = new Uint8Array(1 << 16);

  constructor(buffer: SharedArrayBuffer) {
    this.v = new RingViews(buffer);
  }

  /** The next record, its room freed already; undefined when the ring is empty. */
  take(): HandoverRecord | undefined {
    const v = this.v;
    let tail = Atomics.load(v.control, TAIL);
    const head = Atomics.load(v.control, HEAD);
    if (tail === head) return undefined;
    const words = v.words;
    if (words[tail >>> 2] === WRAP) tail = 0;
    const w = tail >>> 2;
    const need = words[w]!;
    const bodyBytes = words[w + 1]!;
    const decodedBytes = words[w + 2]!;
    const kinds = words[w + 3]!;
    const nowMs = v.doubles[(tail >>> 3) + 2]!;
    const bodyOffset = words[w + 6]!;
    const tenantBytes = kinds >>> 16;
    const t0 = tail + HEADER_BYTES;
    if (this.scratch.length < bodyBytes)
      this.scratch = new Uint8Array(Math.max(bodyBytes, this.scratch.length * 2));
    const tenant = decoder.decode(v.bytes.slice(t0, t0 + tenantBytes));
    const body = this.scratch.subarray(0, bodyBytes);
    body.set(v.bytes.subarray(tail + bodyOffset, tail + bodyOffset + bodyBytes));
    let next = tail + need;
    if (next === v.capacity) next = 0;
    Atomics.store(v.control, TAIL, next);
    return {
      tenant,
      format: FORMATS[kinds & 0xff]!,
      encoding: ENCODINGS[(kinds >>> 8) & 0xff]!,
      nowMs,
      decodedBytes,
      body,
    };
  }

  /**
   * Resolves once a record may be waiting (or after `timeoutMs`). Announces the wait first and looks again, so a
   * record published meanwhile is never missed (the producer reads the announcement after publishing).
   */
  async wait(timeoutMs: number): Promise<void> {
    const c = this.v.control;
    const seq = Atomics.load(c, SEQ);
    Atomics.store(c, WAITING, 1);
    if (Atomics.load(c, HEAD) !== Atomics.load(c, TAIL)) {
      Atomics.store(c, WAITING, 0);
      return;
    }
    const waited = (Atomics as unknown as AtomicsWaitAsync).waitAsync(c, SEQ, seq, timeoutMs);
    if (waited.async) await waited.value;
    Atomics.store(c, WAITING, 0);
  }
}
