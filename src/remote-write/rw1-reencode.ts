// Re-encodes a decompressed remote-write 1.0 body keeping only some of its series: every other top-level field
// (metadata, Mimir's `source`, fields unknown to the edge) and every kept series are copied byte for byte, in
// their original order. Never decodes a series; one copy of the body at most.

import { ProtoReader, WIRE_LENGTH_DELIMITED, makeTag } from './protobuf-reader.js';
import { WRITE_REQUEST_TIMESERIES } from './rw1-scanner.js';

const TAG_TIMESERIES = makeTag(WRITE_REQUEST_TIMESERIES, WIRE_LENGTH_DELIMITED);

/** `buf` without the series whose `keep` entry is 0 (series counted in body order). */
export function reencodeRw1(buf: Uint8Array, keep: Uint8Array): Uint8Array {
  return withoutSeries(buf, TAG_TIMESERIES, keep);
}

/**
 * Copies `buf` field by field, leaving out the occurrences of the repeated field `seriesTag` whose `keep` entry
 * is 0. Runs of kept bytes are copied in one go, so a body keeping most series costs a few copies.
 */
export function withoutSeries(buf: Uint8Array, seriesTag: number, keep: Uint8Array): Uint8Array {
  const out = new Uint8Array(buf.length);
  const reader = new ProtoReader(buf);
  const end = buf.length;
  let written = 0;
  let runStart = 0;
  let series = 0;
  while (reader.pos < end) {
    const fieldStart = reader.pos;
    const tag = reader.tag(end);
    reader.skip(tag, end);
    if (tag === seriesTag && keep[series++] !== 1) {
      out.set(buf.subarray(runStart, fieldStart), written);
      written += fieldStart - runStart;
      runStart = reader.pos;
    }
  }
  out.set(buf.subarray(runStart, end), written);
  written += end - runStart;
  return out.subarray(0, written);
}
