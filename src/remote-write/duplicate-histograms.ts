// Native histogram samples Mimir keeps once: in one series, a histogram whose timestamp an earlier histogram of
// that series already has is dropped before the ingestion rate is charged (Mimir's validateHistograms, as
// validateSamples does for float samples: duplicate-samples.ts). The scanners do not read inside histograms, so a
// request with two or more of them is read here, series by series; this may allocate.

import type { ProtoReader } from '../wire/protobuf-reader.js';
import { WIRE_LENGTH_DELIMITED, WIRE_VARINT, makeTag } from '../wire/protobuf-reader.js';
import { repeatedTimestamps } from './duplicate-samples.js';
import type { WriteFormat } from './request-info.js';

// RW1 TimeSeries.histograms = 4; RW2 TimeSeries.histograms = 3. Histogram (both versions): int64 timestamp = 15.
const TAG_RW1_HISTOGRAMS = makeTag(4, WIRE_LENGTH_DELIMITED);
const TAG_RW2_HISTOGRAMS = makeTag(3, WIRE_LENGTH_DELIMITED);
const TAG_HISTOGRAM_TIMESTAMP = makeTag(15, WIRE_VARINT);

/** The timestamp field of the Histogram ending at `end` (the last one written; 0 when absent). */
export function histogramTimestamp(reader: ProtoReader, end: number): number {
  let timestamp = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === TAG_HISTOGRAM_TIMESTAMP) timestamp = reader.varint(end);
    else reader.skip(tag, end);
  }
  return timestamp;
}

/**
 * For each series of a scanned RW1 or RW2 body (body order), how many of its native histogram samples repeat a
 * timestamp of an earlier histogram of the same series: what Mimir drops and does not charge.
 */
export function duplicateHistograms(buf: Uint8Array, format: WriteFormat, series: number): Uint32Array {
  const histogramsTag = format === 'prw2' ? TAG_RW2_HISTOGRAMS : TAG_RW1_HISTOGRAMS;
  return repeatedTimestamps(buf, format, series, histogramsTag, TAG_HISTOGRAM_TIMESTAMP);
}
