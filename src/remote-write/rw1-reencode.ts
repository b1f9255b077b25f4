// Re-encodes a decompressed remote-write 1.0 body keeping only some of its series and metadata: every other
// top-level field (Mimir's `source`, fields unknown to the edge) and every kept entry are copied byte for byte,
// in their original order. Never decodes a series; one copy of the body at most.

import { ProtoReader, WIRE_LENGTH_DELIMITED, makeTag } from '../wire/protobuf-reader.js';
import { invalidProtobuf } from './errors.js';
import { WRITE_REQUEST_METADATA, WRITE_REQUEST_TIMESERIES } from './rw1-scanner.js';

const TAG_TIMESERIES = makeTag(WRITE_REQUEST_TIMESERIES, WIRE_LENGTH_DELIMITED);
const TAG_METADATA = makeTag(WRITE_REQUEST_METADATA, WIRE_LENGTH_DELIMITED);

/**
 * `buf` without the series whose `keep` entry is 0 (series counted in body order) and, when `keepMetadata` is
 * given, without the metadata whose entry in it is 0 (metadata counted in body order).
 */
export function reencodeRw1(
  buf: Uint8Array,
  keep: Uint8Array | undefined,
  keepMetadata?: Uint8Array,
): Uint8Array {
  return withoutFields(buf, TAG_TIMESERIES, keep, TAG_METADATA, keepMetadata);
}

/** `buf` without the occurrences of the repeated field `seriesTag` whose `keep` entry is 0. */
export function withoutSeries(buf: Uint8Array, seriesTag: number, keep: Uint8Array): Uint8Array {
  return withoutFields(buf, seriesTag, keep, -1, undefined);
}

/**
 * Copies `buf` field by field, leaving out the occurrences of the repeated fields `tagA` and `tagB` whose entry
 * in `keepA` / `keepB` is 0 (each counted separately, in body order); an undefined keep list keeps every
 * occurrence of its field. Runs of kept bytes are copied in one go, so a body keeping most entries costs a few
 * copies.
 */
function withoutFields(
  buf: Uint8Array,
  tagA: number,
  keepA: Uint8Array | undefined,
  tagB: number,
  keepB: Uint8Array | undefined,
): Uint8Array {
  const out = new Uint8Array(buf.length);
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const end = buf.length;
  let written = 0;
  let runStart = 0;
  let indexA = 0;
  let indexB = 0;
  while (reader.pos < end) {
    const fieldStart = reader.pos;
    const tag = reader.tag(end);
    reader.skip(tag, end);
    let drop = false;
    if (tag === tagA) drop = keepA !== undefined && keepA[indexA++] !== 1;
    else if (tag === tagB) drop = keepB !== undefined && keepB[indexB++] !== 1;
    if (drop) {
      out.set(buf.subarray(runStart, fieldStart), written);
      written += fieldStart - runStart;
      runStart = reader.pos;
    }
  }
  out.set(buf.subarray(runStart, end), written);
  written += end - runStart;
  return out.subarray(0, written);
}
