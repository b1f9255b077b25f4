// Re-encodes a decompressed remote-write 2.0 body keeping only some of its series. The symbols table is kept
// whole (a symbol no series references is allowed by the spec), so kept series and their per-series metadata
// are copied byte for byte and their references stay valid.

import { withoutSeries } from './rw1-reencode.js';
import { WIRE_LENGTH_DELIMITED, makeTag } from '../wire/protobuf-reader.js';
import { REQUEST_TIMESERIES } from './rw2-scanner.js';

const TAG_TIMESERIES = makeTag(REQUEST_TIMESERIES, WIRE_LENGTH_DELIMITED);

/** `buf` without the series whose `keep` entry is 0 (series counted in body order). */
export function reencodeRw2(buf: Uint8Array, keep: Uint8Array): Uint8Array {
  return withoutSeries(buf, TAG_TIMESERIES, keep);
}
