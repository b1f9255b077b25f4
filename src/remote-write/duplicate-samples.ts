// Samples Mimir keeps once: in one series, a sample whose timestamp an earlier sample of that series already has
// is dropped before the ingestion rate is charged (Mimir's validateSamples). The scanners flag a request whose
// timestamps do not increase (sampleTimestamp, one read per sample after a series' first); only then does
// duplicateSamples count the dropped ones exactly, series by series, for RW1 and RW2 alike.

import {
  ProtoReader,
  WIRE_FIXED64,
  WIRE_LENGTH_DELIMITED,
  WIRE_VARINT,
  makeTag,
} from '../wire/protobuf-reader.js';
import { invalidProtobuf } from './errors.js';
import type { WriteFormat } from './request-info.js';

// Sample (RW1 prometheus.Sample and RW2 io.prometheus.write.v2.Sample): double value = 1; int64 timestamp = 2.
const TAG_VALUE = makeTag(1, WIRE_FIXED64);
const TAG_TIMESTAMP = makeTag(2, WIRE_VARINT);
// The series list: RW1 WriteRequest.timeseries = 1, RW2 Request.timeseries = 5; samples are field 2 in both.
const TAG_RW1_SERIES = makeTag(1, WIRE_LENGTH_DELIMITED);
const TAG_RW2_SERIES = makeTag(5, WIRE_LENGTH_DELIMITED);
const TAG_SAMPLES = makeTag(2, WIRE_LENGTH_DELIMITED);

/**
 * The timestamp of the Sample in buf[start, end) as every sender encodes it (`09` value, then `10` timestamp,
 * either omitted when zero), or NaN for any other layout or a timestamp beyond 7 varint bytes (negative ones):
 * NaN compares false, so the scanner sends such a request to the exact count. Allocates nothing.
 */
export function sampleTimestamp(buf: Uint8Array, start: number, end: number): number {
  let p = start;
  if (p < end && buf[p] === TAG_VALUE) p += 9;
  if (p === end) return 0;
  if (p > end || buf[p] !== TAG_TIMESTAMP) return NaN;
  p++;
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 7 && p < end; i++) {
    const b = buf[p++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return p === end ? value : NaN;
    scale *= 128;
  }
  return NaN;
}

/**
 * For each series of a scanned RW1 or RW2 body (in body order), how many of its float samples repeat a timestamp
 * of an earlier sample of the same series: what Mimir drops and does not charge. Runs only for a body the scan
 * flagged (samplesOutOfOrder), so it may allocate.
 */
export function duplicateSamples(buf: Uint8Array, format: WriteFormat, series: number): Uint32Array {
  return repeatedTimestamps(buf, format, series, TAG_SAMPLES, TAG_TIMESTAMP);
}

/**
 * For each series (body order), how many of its items (field `itemTag` of the series: samples, histograms) carry a
 * timestamp (field `timestampTag` of the item, the last one written, 0 when absent) that an earlier item of that
 * series already has.
 */
export function repeatedTimestamps(
  buf: Uint8Array,
  format: WriteFormat,
  series: number,
  itemTag: number,
  timestampTag: number,
): Uint32Array {
  const duplicates = new Uint32Array(series);
  const seriesTag = format === 'prw2' ? TAG_RW2_SERIES : TAG_RW1_SERIES;
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const end = buf.length;
  const seen = new Set<number>();
  let index = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== seriesTag) {
      reader.skip(tag, end);
      continue;
    }
    const seriesEnd = reader.messageEnd(end);
    seen.clear();
    let count = 0;
    while (reader.pos < seriesEnd) {
      const field = reader.tag(seriesEnd);
      if (field !== itemTag) {
        reader.skip(field, seriesEnd);
        continue;
      }
      const itemEnd = reader.messageEnd(seriesEnd);
      // Proto3 keeps the last timestamp written; an absent one is 0.
      let timestamp = 0;
      while (reader.pos < itemEnd) {
        const itemField = reader.tag(itemEnd);
        if (itemField === timestampTag) timestamp = reader.varint(itemEnd);
        else reader.skip(itemField, itemEnd);
      }
      if (seen.has(timestamp)) count++;
      else seen.add(timestamp);
    }
    if (index < series) duplicates[index] = count;
    index++;
  }
  return duplicates;
}
