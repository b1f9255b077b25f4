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
  // Every sender's Sample today: value, then a six-byte timestamp (2^35..2^42 ms: 1971 to 2109), 16 bytes in all.
  // Read unrolled, so the scanners pay six byte reads per sample; anything else takes the general read.
  if (end - start === 16 && buf[start] === TAG_VALUE && buf[start + 9] === TAG_TIMESTAMP) {
    const b5 = buf[start + 15]!;
    const more = buf[start + 10]! & buf[start + 11]! & buf[start + 12]! & buf[start + 13]! & buf[start + 14]!;
    if (b5 < 0x80 && b5 !== 0 && (more & 0x80) !== 0) {
      return (
        (buf[start + 10]! & 0x7f) +
        (buf[start + 11]! & 0x7f) * 0x80 +
        (buf[start + 12]! & 0x7f) * 0x4000 +
        (buf[start + 13]! & 0x7f) * 0x200000 +
        (buf[start + 14]! & 0x7f) * 0x10000000 +
        b5 * 0x800000000
      );
    }
  }
  return sampleTimestampSlow(buf, start, end);
}

function sampleTimestampSlow(buf: Uint8Array, start: number, end: number): number {
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
      if (field !== TAG_SAMPLES) {
        reader.skip(field, seriesEnd);
        continue;
      }
      const sampleEnd = reader.messageEnd(seriesEnd);
      // Proto3 keeps the last timestamp written; an absent one is 0.
      let timestamp = 0;
      while (reader.pos < sampleEnd) {
        const sampleTag = reader.tag(sampleEnd);
        if (sampleTag === TAG_TIMESTAMP) timestamp = reader.varint(sampleEnd);
        else reader.skip(sampleTag, sampleEnd);
      }
      if (seen.has(timestamp)) count++;
      else seen.add(timestamp);
    }
    if (index < series) duplicates[index] = count;
    index++;
  }
  return duplicates;
}

/** Why Mimir refuses a series for a sample's time: 0 none, 1 too far in the future, 2 too far in the past. */
export const SAMPLE_TIME_OK = 0;
export const SAMPLE_TOO_NEW = 1;
export const SAMPLE_TOO_OLD = 2;

export interface SampleTimeVerdicts {
  /** Per series (body order): SAMPLE_TIME_OK, SAMPLE_TOO_NEW or SAMPLE_TOO_OLD. */
  verdict: Uint8Array;
  /** Per series: the timestamp of the first sample refused, for the message. */
  timestamp: Float64Array;
}

/**
 * For each series, whether Mimir's validateSamples refuses it for a float sample later than `latestMs` or (with
 * `earliestMs` above 0) earlier than `earliestMs`: the first such sample in body order decides, the future
 * checked before the past. Runs only when the scan's time span crosses a bound, so it may allocate.
 */
export function sampleTimeVerdicts(
  buf: Uint8Array,
  format: WriteFormat,
  series: number,
  latestMs: number,
  earliestMs: number,
): SampleTimeVerdicts {
  const verdict = new Uint8Array(series);
  const timestamp = new Float64Array(series);
  const seriesTag = format === 'prw2' ? TAG_RW2_SERIES : TAG_RW1_SERIES;
  const reader = new ProtoReader(buf, 0, invalidProtobuf);
  const end = buf.length;
  let index = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag !== seriesTag) {
      reader.skip(tag, end);
      continue;
    }
    const seriesEnd = reader.messageEnd(end);
    const i = index++;
    while (reader.pos < seriesEnd) {
      const field = reader.tag(seriesEnd);
      if (field !== TAG_SAMPLES || i >= series || verdict[i] !== SAMPLE_TIME_OK) {
        reader.skip(field, seriesEnd);
        continue;
      }
      const sampleEnd = reader.messageEnd(seriesEnd);
      let ts = 0;
      while (reader.pos < sampleEnd) {
        const sampleTag = reader.tag(sampleEnd);
        if (sampleTag === TAG_TIMESTAMP) ts = reader.varint(sampleEnd);
        else reader.skip(sampleTag, sampleEnd);
      }
      if (ts > latestMs) verdict[i] = SAMPLE_TOO_NEW;
      else if (earliestMs > 0 && ts < earliestMs) verdict[i] = SAMPLE_TOO_OLD;
      if (verdict[i] !== SAMPLE_TIME_OK) timestamp[i] = ts;
    }
  }
  return { verdict, timestamp };
}
