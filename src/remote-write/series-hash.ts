// A 64-bit identity for every series of a decompressed write body, for counting active series (docs/active-series.md).
// A pass of its own over the label bytes, run after the one-pass scan accepted the body: the scanners are not
// touched, and a body the scanners refused never gets here. Throws only BodyDecodeError (it reads with the same
// bounds-checked reader).
//
// Canonical form: a series is the SET of its (name, value) labels, as UTF-8 bytes. Each label is hashed as its
// protobuf `Label` encoding (`0a <len> name 12 <len> value`, varint lengths): RW1 senders write exactly those
// bytes, so an RW1 label is hashed where it lies, in one call; RW2 (symbol references) and OTLP (translated
// attributes) write the same bytes into a scratch buffer first. The series hash is the SUM of the mixed label
// hashes in two 32-bit lanes: a sum does not depend on the order the labels come in, so the same label set gives
// the same hash in every format, without sorting or allocating. The label count is mixed in at the end. A label
// hash is 32 bits, so two different labels collide with probability 2^-32 per pair: series that differ only in
// those labels then share a hash (counted once; for the new-series check, a new series looks known). The two lanes
// make whole-series collisions of distinct label hashes about 2^-64.

import { ProtoReader } from '../wire/protobuf-reader.js';
import { invalidProtobuf } from './errors.js';
import { walkOtlpSeries } from './otlp-series-labels.js';
import { otlpLabelName } from './otlp-series-labels.js';
import type { OtlpLabel, OtlpSeries } from './otlp-describe-series.js';
import type { WriteFormat } from './request-info.js';
import {
  TAG_LABEL_NAME,
  TAG_LABEL_VALUE,
  TAG_LABELS,
  TAG_TIMESERIES,
  TAG_V2_REFS_ONE,
  TAG_V2_REFS_PACKED,
  TAG_V2_TIMESERIES,
  readRw1Label,
  symbolTable,
} from './rw-series-fields.js';

/** Receives one series: its 64-bit hash as two uint32 halves, and where its metric name's bytes lie. */
export interface SeriesHashSink {
  series(hi: number, lo: number, name: Uint8Array, nameStart: number, nameLength: number): void;
}

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const SEED = 0x9747b28c;
const LANE_B = 0x85ebca6b;
const EMPTY = new Uint8Array(0);

/** MurmurHash3's 32-bit finaliser: every input bit reaches every output bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * DataViews over the last two buffers hashed (a body and the scratch buffer, which the passes alternate between):
 * one 32-bit little-endian load per four bytes, which TurboFan inlines.
 */
let viewedA: Uint8Array | undefined;
let viewA: DataView = new DataView(new ArrayBuffer(0));
let viewedB: Uint8Array | undefined;
let viewB: DataView = viewA;

function viewOf(buf: Uint8Array): DataView {
  if (buf === viewedA) return viewA;
  if (buf === viewedB) return viewB;
  viewedB = viewedA;
  viewB = viewA;
  viewedA = buf;
  viewA = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return viewA;
}

/**
 * A 32-bit hash of `buf[start, end)`, four bytes at a time: each word is multiplied and folded (MurmurHash3's
 * constants, one multiply per word instead of two and no rotations, about twice as fast here), the tail bytes
 * likewise, and MurmurHash3's finaliser at the end. Good enough to count with: every input bit reaches every
 * output bit; it is not meant to resist chosen collisions.
 */
export function hashBytes(buf: Uint8Array, start: number, end: number): number {
  const v = viewOf(buf);
  let h = (SEED ^ (end - start)) | 0;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    let k = Math.imul(v.getInt32(i, true), C1);
    k ^= k >>> 15;
    h = Math.imul(h ^ k, C2);
  }
  if (i < end) {
    let k = buf[i]!;
    if (i + 1 < end) k |= buf[i + 1]! << 8;
    if (i + 2 < end) k |= buf[i + 2]! << 16;
    k = Math.imul(k, C1);
    k ^= k >>> 15;
    h = Math.imul(h ^ k, C2);
  }
  return fmix32(h >>> 0);
}

/** Where RW2 and OTLP labels are written in their canonical encoding before hashing; grown as needed. */
let scratch = new Uint8Array(512);

function putVarint(at: number, n: number): number {
  while (n >= 0x80) {
    scratch[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  scratch[at++] = n;
  return at;
}

/** The hash of the label (name, value) as its protobuf Label encoding, from two byte ranges that may lie anywhere. */
function labelHashOf(
  nameBuf: Uint8Array,
  nameStart: number,
  nameLength: number,
  valueBuf: Uint8Array,
  valueStart: number,
  valueLength: number,
): number {
  const needed = nameLength + valueLength + 12;
  if (scratch.length < needed) scratch = new Uint8Array(needed * 2);
  scratch[0] = TAG_LABEL_NAME;
  let at = putVarint(1, nameLength);
  // Byte loops rather than set(subarray()): labels are short, and a view per label would allocate.
  for (let i = 0; i < nameLength; i++) scratch[at + i] = nameBuf[nameStart + i]!;
  at += nameLength;
  scratch[at++] = TAG_LABEL_VALUE;
  at = putVarint(at, valueLength);
  for (let i = 0; i < valueLength; i++) scratch[at + i] = valueBuf[valueStart + i]!;
  return hashBytes(scratch, 0, at + valueLength);
}

/** The two lanes of one series, summed label by label; read by finish(). Module state: the passes never nest. */
let laneA = 0;
let laneB = 0;
let labelCount = 0;

function addLabel(h: number): void {
  laneA = (laneA + h) | 0;
  laneB = (laneB + fmix32((h ^ LANE_B) >>> 0)) | 0;
  labelCount++;
}

function reset(): void {
  laneA = 0;
  laneB = 0;
  labelCount = 0;
}

/** The series hash's high half (what a HyperLogLog takes its register index from) and low half. */
let outHi = 0;
let outLo = 0;
function finish(): void {
  outHi = fmix32((laneA ^ Math.imul(labelCount, 0x9e3779b1)) >>> 0);
  outLo = fmix32((laneB + Math.imul(labelCount, C2) + outHi) >>> 0);
}

const NAME = [0x5f, 0x5f, 0x6e, 0x61, 0x6d, 0x65, 0x5f, 0x5f]; // __name__

function isMetricName(buf: Uint8Array, start: number, length: number): boolean {
  if (length !== 8) return false;
  for (let i = 0; i < 8; i++) if (buf[start + i] !== NAME[i]) return false;
  return true;
}

/** Hashes every series of a decompressed body of `format`, in body order, into `sink`. Returns the series count. */
export function hashSeries(buf: Uint8Array, format: WriteFormat, sink: SeriesHashSink): number {
  if (format === 'prw1') return hashRw1(buf, sink);
  if (format === 'prw2') return hashRw2(buf, sink);
  return hashOtlp(buf, format, sink);
}

function hashRw1(buf: Uint8Array, sink: SeriesHashSink): number {
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const end = buf.length;
  let count = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== TAG_TIMESERIES) {
      reader.skip(tag, end);
      continue;
    }
    const seriesEnd = reader.messageEnd(end);
    reset();
    let nameStart = 0;
    let nameLength = 0;
    while (reader.pos < seriesEnd) {
      // The encoding every sender writes, `0a <l> 0a <n> name 12 <m> value` with one-byte lengths filling the
      // Label exactly, is read inline; anything else through readRw1Label().
      const p = reader.pos;
      if (buf[p] === TAG_LABELS && p + 1 < seriesEnd) {
        const labelLength = buf[p + 1]!;
        const ls = p + 2;
        const le = ls + labelLength;
        if (labelLength < 0x80 && labelLength >= 4 && le <= seriesEnd && buf[ls] === TAG_LABEL_NAME) {
          const n = buf[ls + 1]!;
          const vt = ls + 2 + n;
          const v = le - vt - 2;
          if (v >= 0 && n < 0x80 && buf[vt] === TAG_LABEL_VALUE && buf[vt + 1] === v) {
            addLabel(hashBytes(buf, ls, le));
            if (isMetricName(buf, ls + 2, n)) {
              nameStart = vt + 2;
              nameLength = v;
            }
            reader.pos = le;
            continue;
          }
        }
      }
      const t = reader.tag(seriesEnd);
      if (t !== TAG_LABELS) {
        reader.skip(t, seriesEnd);
        continue;
      }
      const span = readRw1Label(reader, seriesEnd);
      const ns = span.nameStart;
      const vs = span.valueStart;
      addLabel(labelHashOf(buf, ns, span.nameLength, buf, vs, span.valueLength));
      if (isMetricName(buf, ns, span.nameLength)) {
        nameStart = vs;
        nameLength = span.valueLength;
      }
    }
    finish();
    sink.series(outHi, outLo, buf, nameStart, nameLength);
    count++;
  }
  return count;
}

function hashRw2(buf: Uint8Array, sink: SeriesHashSink): number {
  const { starts, lengths, count: symbolCount } = symbolTable(buf);
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const end = buf.length;
  let count = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== TAG_V2_TIMESERIES) {
      reader.skip(tag, end);
      continue;
    }
    const seriesEnd = reader.messageEnd(end);
    reset();
    let nameRef = -1;
    let pendingName = -1;
    while (reader.pos < seriesEnd) {
      const t = reader.tag(seriesEnd);
      let refsEnd: number;
      if (t === TAG_V2_REFS_PACKED) refsEnd = reader.messageEnd(seriesEnd);
      else if (t === TAG_V2_REFS_ONE) refsEnd = -1;
      else {
        reader.skip(t, seriesEnd);
        continue;
      }
      do {
        const ref = reader.varint(refsEnd < 0 ? seriesEnd : refsEnd);
        if (ref >= symbolCount)
          throw invalidProtobuf(`labels_refs points past the symbols table: ${ref}`, reader.pos);
        if (pendingName < 0) {
          pendingName = ref;
          continue;
        }
        const ns = starts[pendingName]!;
        const nl = lengths[pendingName]!;
        addLabel(labelHashOf(buf, ns, nl, buf, starts[ref]!, lengths[ref]!));
        if (isMetricName(buf, ns, nl)) nameRef = ref;
        pendingName = -1;
      } while (refsEnd >= 0 && reader.pos < refsEnd);
    }
    finish();
    if (nameRef >= 0) sink.series(outHi, outLo, buf, starts[nameRef]!, lengths[nameRef]!);
    else sink.series(outHi, outLo, EMPTY, 0, 0);
    count++;
  }
  return count;
}

const encoder = new TextEncoder();
const METRIC_NAME = encoder.encode('__name__');

function textLabelHash(name: string, value: Uint8Array, valueStart: number, valueLength: number): number {
  const nameBytes = encoder.encode(name);
  return labelHashOf(nameBytes, 0, nameBytes.length, value, valueStart, valueLength);
}

function otlpLabelHash(name: string, label: OtlpLabel): number {
  if (label.text !== undefined) {
    const value = encoder.encode(label.text);
    return textLabelHash(name, value, 0, value.length);
  }
  return textLabelHash(name, label.buf, label.start, label.end - label.start);
}

/**
 * OTLP: one hash per point (and per emitted target_info), over the labels Mimir's translation gives it: the
 * attributes under their translated names, job and instance, and __name__ as the metric name is sent. Mimir's
 * translation adds suffixes and, for a classic histogram or a summary, several series per point; see
 * docs/active-series.md for what that means for the estimate. The walk builds objects per series: OTLP pays more.
 */
function hashOtlp(buf: Uint8Array, format: WriteFormat, sink: SeriesHashSink): number {
  let count = 0;
  walkOtlpSeries(
    buf,
    format,
    () => true,
    (s: OtlpSeries) => {
      if (s.kind === -1 && !s.emitted) return false;
      reset();
      const nameBytes = encoder.encode(s.metricName);
      addLabel(labelHashOf(METRIC_NAME, 0, METRIC_NAME.length, nameBytes, 0, nameBytes.length));
      for (const a of s.attributes) addLabel(otlpLabelHash(otlpLabelName(a.name), a));
      for (const r of s.resource) addLabel(otlpLabelHash(r.name, r));
      finish();
      sink.series(outHi, outLo, nameBytes, 0, nameBytes.length);
      count++;
      return false;
    },
  );
  return count;
}
