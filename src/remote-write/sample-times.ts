// Mimir's sample time checks (validateSample, validateSampleHistogram in pkg/distributor/validate.go): a series
// with a float or native histogram sample later than now + creation_grace_period, or (with past_grace_period
// set) earlier than now - past_grace_period - out_of_order_time_window, is refused. The scanners bound a
// request's sample times as they go (sampleTimeKey: four byte reads per sample of the usual layout); only a body
// whose bound crosses a limit is read here, series by series, so this may allocate.

import { ProtoReader, WIRE_LENGTH_DELIMITED, WIRE_VARINT, makeTag } from '../wire/protobuf-reader.js';
import { invalidProtobuf } from './errors.js';
import type { WriteFormat } from './request-info.js';
import { sampleTimestamp } from './duplicate-samples.js';

// Sample: int64 timestamp = 2. Histogram (RW1 prometheus.Histogram and RW2 Histogram): int64 timestamp = 15.
const TAG_SAMPLE_TIMESTAMP = makeTag(2, WIRE_VARINT);
const TAG_HISTOGRAM_TIMESTAMP = makeTag(15, WIRE_VARINT);
// RW1 WriteRequest.timeseries = 1 with samples = 2, histograms = 4; RW2 Request.timeseries = 5 with samples = 2,
// histograms = 3.
const TAG_RW1_SERIES = makeTag(1, WIRE_LENGTH_DELIMITED);
const TAG_RW2_SERIES = makeTag(5, WIRE_LENGTH_DELIMITED);
const TAG_SAMPLES = makeTag(2, WIRE_LENGTH_DELIMITED);
const TAG_RW1_HISTOGRAMS = makeTag(4, WIRE_LENGTH_DELIMITED);
const TAG_RW2_HISTOGRAMS = makeTag(3, WIRE_LENGTH_DELIMITED);

/** Why Mimir refuses a series for a sample's time: 0 none, 1 too far in the future, 2 too far in the past. */
export const SAMPLE_TIME_OK = 0;
export const SAMPLE_TOO_NEW = 1;
export const SAMPLE_TOO_OLD = 2;

/**
 * The scanners' bound on a sample time: the timestamp divided by 2^14 (16.384 s), read from the top four bytes of
 * its six-byte varint (timestamps from 1971 to 2109). A request's largest key k says no timestamp is past
 * (k + 1) * 2^14 - 1, its smallest that none is before k * 2^14.
 */
export const SAMPLE_KEY_MS = 16_384;

/**
 * The sample-time key of the Sample in buf[start, end): read from four bytes for the layout every sender writes
 * (a value, or none for 0, then a six-byte timestamp), else from the exact timestamp; -1 when it cannot be read
 * here (a negative timestamp, an unusual encoding), which sends the request to the exact pass.
 */
export function sampleTimeKey(buf: Uint8Array, start: number, end: number): number {
  let at: number;
  if (end - start === 16 && buf[start] === 0x09) at = start + 10;
  else if (end - start === 7 && buf[start] === 0x10) at = start + 1;
  else return slowSampleTimeKey(buf, start, end);
  return timeKeyAt(buf, at);
}

/**
 * The key of a six-byte timestamp varint at `at`: its last four bytes, without checking the tag before them or
 * their continuation bits (four loads per sample). Any other bytes there mean a Sample whose timestamp is absent
 * or below 2^28 ms (January 1970) with other fields after it, or a varint running past the Sample (a body Mimir
 * refuses whole): the key is then wrong only towards a later time, or hides a time before past_grace_period in a
 * body no sender writes. A time too far in the future is never hidden.
 */
export function timeKeyAt(buf: Uint8Array, at: number): number {
  return (
    (buf[at + 5]! << 21) |
    ((buf[at + 4]! & 0x7f) << 14) |
    ((buf[at + 3]! & 0x7f) << 7) |
    (buf[at + 2]! & 0x7f)
  );
}

/**
 * The key of a Sample of another layout (a shorter timestamp, fields in another order), read exactly; -1 when it
 * cannot be read here (a negative timestamp, an unusual encoding): the exact pass then reads every sample.
 */
export function slowSampleTimeKey(buf: Uint8Array, start: number, end: number): number {
  const ts = sampleTimestamp(buf, start, end);
  return ts >= 0 ? Math.floor(ts / SAMPLE_KEY_MS) : -1;
}

export interface SampleTimeVerdicts {
  /** Per series (body order): SAMPLE_TIME_OK, SAMPLE_TOO_NEW or SAMPLE_TOO_OLD. */
  verdict: Uint8Array;
  /** Per series: the timestamp of the first sample refused, for the message. */
  timestamp: Float64Array;
}

const TWO_63 = 2 ** 63;
const TWO_64 = 2 ** 64;

/** Reads the int64 varint timestamp field of a Sample or Histogram ending at `end` (0 when absent). */
function readTimestamp(reader: ProtoReader, end: number, timestampTag: number): number {
  let ts = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === timestampTag) ts = reader.varint(end);
    else reader.skip(tag, end);
  }
  // int64 in two's complement: a negative timestamp is a ten-byte varint read as a large positive number.
  return ts >= TWO_63 ? ts - TWO_64 : ts;
}

/**
 * For each series, whether Mimir refuses it for a float or histogram sample later than `latestMs` or (when
 * `earliestMs` is finite) earlier than `earliestMs`: the first such sample in body order decides, the future
 * checked before the past.
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
  const histogramsTag = format === 'prw2' ? TAG_RW2_HISTOGRAMS : TAG_RW1_HISTOGRAMS;
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
      const timestampTag =
        field === TAG_SAMPLES ? TAG_SAMPLE_TIMESTAMP : field === histogramsTag ? TAG_HISTOGRAM_TIMESTAMP : -1;
      if (timestampTag < 0 || i >= series || verdict[i] !== SAMPLE_TIME_OK) {
        reader.skip(field, seriesEnd);
        continue;
      }
      const ts = readTimestamp(reader, reader.messageEnd(seriesEnd), timestampTag);
      if (ts > latestMs) verdict[i] = SAMPLE_TOO_NEW;
      else if (ts < earliestMs) verdict[i] = SAMPLE_TOO_OLD;
      if (verdict[i] !== SAMPLE_TIME_OK) timestamp[i] = ts;
    }
  }
  return { verdict, timestamp };
}
