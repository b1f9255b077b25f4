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

/**
 * Why Mimir refuses a series for one of its samples: 0 none, 1 too far in the future, 2 too far in the past, and
 * for a native histogram 3 a schema outside -4..8 (and not -53, custom buckets), 4 more buckets than
 * max_native_histogram_buckets, 5 more than that even at the lowest resolution (or custom buckets, which cannot
 * be reduced), when reduce_native_histogram_over_max_buckets lets Mimir reduce the others.
 */
export const SAMPLE_TIME_OK = 0;
export const SAMPLE_TOO_NEW = 1;
export const SAMPLE_TOO_OLD = 2;
export const HISTOGRAM_SCHEMA_INVALID = 3;
export const HISTOGRAM_TOO_MANY_BUCKETS = 4;
export const HISTOGRAM_NOT_REDUCIBLE = 5;

/** Mimir's max_native_histogram_buckets (0: unlimited) and reduce_native_histogram_over_max_buckets. */
export interface HistogramRules {
  maxBuckets: number;
  reduce: boolean;
  /** Whether a schema outside Mimir's range refuses the series (off in dry run). */
  checkSchema: boolean;
}

const NO_HISTOGRAM_RULES: HistogramRules = { maxBuckets: 0, reduce: true, checkSchema: false };
// Prometheus' exponential schemas, and the custom-buckets schema (mimirpb).
const MIN_SCHEMA = -4;
const MAX_SCHEMA = 8;
const CUSTOM_BUCKETS_SCHEMA = -53;

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
  /** Per series (body order): SAMPLE_TIME_OK or the first reason found (SAMPLE_TOO_NEW, ...). */
  verdict: Uint8Array;
  /** Per series: the timestamp of the first sample refused, for the message. */
  timestamp: Float64Array;
  /** Per series: the refused histogram's schema (HISTOGRAM_SCHEMA_INVALID) or bucket count (the other two). */
  observed: Float64Array;
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
  histogramRules: HistogramRules = NO_HISTOGRAM_RULES,
): SampleTimeVerdicts {
  const verdict = new Uint8Array(series);
  const timestamp = new Float64Array(series);
  const observed = new Float64Array(series);
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
      const messageEnd = reader.messageEnd(seriesEnd);
      if (timestampTag === TAG_SAMPLE_TIMESTAMP) {
        const ts = readTimestamp(reader, messageEnd, timestampTag);
        if (ts > latestMs) verdict[i] = SAMPLE_TOO_NEW;
        else if (ts < earliestMs) verdict[i] = SAMPLE_TOO_OLD;
        if (verdict[i] !== SAMPLE_TIME_OK) timestamp[i] = ts;
        continue;
      }
      readHistogram(reader, messageEnd);
      const h = histogram;
      const why = histogramVerdict(h, latestMs, earliestMs, histogramRules);
      if (why === SAMPLE_TIME_OK) continue;
      verdict[i] = why;
      timestamp[i] = h.timestamp;
      observed[i] = why === HISTOGRAM_SCHEMA_INVALID ? h.schema : h.buckets;
    }
  }
  return { verdict, timestamp, observed };
}

// One Histogram (RW1 prometheus.Histogram and RW2 Histogram share the numbers): sint32 schema = 4; repeated
// BucketSpan negative_spans = 8, positive_spans = 11; sint64 deltas 9 and 12 and double counts 10 and 13 (packed,
// or one field each); int64 timestamp = 15. BucketSpan: sint32 offset = 1; uint32 length = 2.
const H_SCHEMA = makeTag(4, WIRE_VARINT);
const H_NEGATIVE_SPANS = makeTag(8, WIRE_LENGTH_DELIMITED);
const H_POSITIVE_SPANS = makeTag(11, WIRE_LENGTH_DELIMITED);
const H_DELTAS_PACKED = [makeTag(9, WIRE_LENGTH_DELIMITED), makeTag(12, WIRE_LENGTH_DELIMITED)];
const H_DELTAS_ONE = [makeTag(9, WIRE_VARINT), makeTag(12, WIRE_VARINT)];
const H_COUNTS_PACKED = [makeTag(10, WIRE_LENGTH_DELIMITED), makeTag(13, WIRE_LENGTH_DELIMITED)];
const H_COUNTS_ONE = [makeTag(10, 1), makeTag(13, 1)];
const SPAN_OFFSET = makeTag(1, WIRE_VARINT);
const SPAN_LENGTH = makeTag(2, WIRE_VARINT);

/** What readHistogram() found; reused, so read it before the next call. */
const histogram = {
  timestamp: 0,
  schema: 0,
  /** Mimir's BucketCount(): the deltas and counts carried, positive and negative. */
  buckets: 0,
  /** Bucket indexes the spans cover, per side, in order (for the count at a lower resolution). */
  positive: [] as number[],
  negative: [] as number[],
};

const zigzag = (n: number): number => (n % 2 === 1 ? -(n + 1) / 2 : n / 2);

function readHistogram(reader: ProtoReader, end: number): void {
  const h = histogram;
  h.timestamp = 0;
  h.schema = 0;
  h.buckets = 0;
  h.positive.length = 0;
  h.negative.length = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === TAG_HISTOGRAM_TIMESTAMP) {
      const ts = reader.varint(end);
      h.timestamp = ts >= TWO_63 ? ts - TWO_64 : ts;
    } else if (tag === H_SCHEMA) {
      // sint32: zigzag of the low 32 bits.
      h.schema = zigzag(reader.varint(end) % 2 ** 32);
    } else if (tag === H_NEGATIVE_SPANS || tag === H_POSITIVE_SPANS) {
      readSpan(reader, reader.messageEnd(end), tag === H_POSITIVE_SPANS ? h.positive : h.negative);
    } else if (H_DELTAS_PACKED.includes(tag)) {
      const listEnd = reader.messageEnd(end);
      while (reader.pos < listEnd) {
        reader.varint(listEnd);
        h.buckets++;
      }
    } else if (H_COUNTS_PACKED.includes(tag)) {
      const listEnd = reader.messageEnd(end);
      h.buckets += Math.floor((listEnd - reader.pos) / 8);
      reader.pos = listEnd;
    } else {
      if (H_DELTAS_ONE.includes(tag) || H_COUNTS_ONE.includes(tag)) h.buckets++;
      reader.skip(tag, end);
    }
  }
}

/** Appends the bucket indexes one BucketSpan covers (offsets are relative to the end of the span before). */
function readSpan(reader: ProtoReader, end: number, indexes: number[]): void {
  let offset = 0;
  let length = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === SPAN_OFFSET) offset = zigzag(reader.varint(end) % 2 ** 32);
    else if (tag === SPAN_LENGTH) length = reader.varint(end);
    else reader.skip(tag, end);
  }
  const last = indexes.length > 0 ? indexes[indexes.length - 1]! : 0;
  const first = last + offset + (indexes.length > 0 ? 1 : 0);
  // A span longer than any real histogram is cut: past this many buckets every limit is exceeded anyway.
  for (let k = 0; k < Math.min(length, 1 << 16); k++) indexes.push(first + k);
}

/** Mimir's validateSampleHistogram on the histogram readHistogram() just read. */
function histogramVerdict(
  h: typeof histogram,
  latestMs: number,
  earliestMs: number,
  rules: HistogramRules,
): number {
  if (h.timestamp > latestMs) return SAMPLE_TOO_NEW;
  if (h.timestamp < earliestMs) return SAMPLE_TOO_OLD;
  const custom = h.schema === CUSTOM_BUCKETS_SCHEMA;
  const invalidSchema = !custom && (h.schema < MIN_SCHEMA || h.schema > MAX_SCHEMA);
  if (invalidSchema && rules.checkSchema) return HISTOGRAM_SCHEMA_INVALID;
  const limit = rules.maxBuckets;
  if (limit === 0 || h.buckets <= limit) return SAMPLE_TIME_OK;
  if (!rules.reduce) return HISTOGRAM_TOO_MANY_BUCKETS;
  // Mimir halves the resolution until fewer than `limit` buckets are left, and fails below schema -4.
  if (custom || invalidSchema) return HISTOGRAM_NOT_REDUCIBLE;
  const atLowest = bucketsAtSchema(h.positive, h.schema) + bucketsAtSchema(h.negative, h.schema);
  return atLowest < limit ? SAMPLE_TIME_OK : HISTOGRAM_NOT_REDUCIBLE;
}

/** How many buckets the indexes of one side merge into at schema -4 (each step merges pairs: idx -> (idx-1)/2+1). */
function bucketsAtSchema(indexes: readonly number[], schema: number): number {
  const shift = schema - MIN_SCHEMA;
  let count = 0;
  let previous = NaN;
  for (const index of indexes) {
    const target = Math.floor((index - 1) / 2 ** shift) + 1;
    if (target !== previous) count++;
    previous = target;
  }
  return count;
}
