// Field numbers and tags of the OTLP metrics messages the scanners read, from opentelemetry-proto
// (collector/metrics/v1/metrics_service.proto, metrics/v1/metrics.proto, common/v1/common.proto,
// resource/v1/resource.proto), plus the helpers both the scanner and the describer share. Holds no state.

import { invalidProtobuf } from './errors.js';
import type { ProtoReader } from '../wire/protobuf-reader.js';
import { WIRE_FIXED64, WIRE_LENGTH_DELIMITED, WIRE_VARINT, makeTag } from '../wire/protobuf-reader.js';

const LD = WIRE_LENGTH_DELIMITED;

// ExportMetricsServiceRequest: repeated ResourceMetrics resource_metrics = 1;
export const TAG_RESOURCE_METRICS = makeTag(1, LD);
// ResourceMetrics: Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; string schema_url = 3;
export const TAG_RESOURCE = makeTag(1, LD);
export const TAG_SCOPE_METRICS = makeTag(2, LD);
// Resource: repeated KeyValue attributes = 1;
export const TAG_RESOURCE_ATTRIBUTES = makeTag(1, LD);
// ScopeMetrics: InstrumentationScope scope = 1; repeated Metric metrics = 2;
export const TAG_METRICS = makeTag(2, LD);
// Metric: string name = 1; oneof data { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9;
// ExponentialHistogram exponential_histogram = 10; Summary summary = 11; }
export const TAG_METRIC_NAME = makeTag(1, LD);
// Metric: string unit = 3 (what the translation's unit suffix is made of).
export const TAG_METRIC_UNIT = makeTag(3, LD);
export const TAG_GAUGE = makeTag(5, LD);
export const TAG_SUM = makeTag(7, LD);
export const TAG_HISTOGRAM = makeTag(9, LD);
export const TAG_EXPONENTIAL_HISTOGRAM = makeTag(10, LD);
export const TAG_SUMMARY = makeTag(11, LD);
// Gauge, Sum, Histogram, ExponentialHistogram, Summary: repeated <Point> data_points = 1;
// Sum, Histogram, ExponentialHistogram: AggregationTemporality aggregation_temporality = 2;
export const TAG_DATA_POINTS = makeTag(1, LD);
const TAG_TEMPORALITY = makeTag(2, WIRE_VARINT);
export const TEMPORALITY_CUMULATIVE = 2;
// Attributes: NumberDataPoint 7, HistogramDataPoint 9, ExponentialHistogramDataPoint 1, SummaryDataPoint 7.
export const TAG_NUMBER_ATTRIBUTES = makeTag(7, LD);
export const TAG_HISTOGRAM_ATTRIBUTES = makeTag(9, LD);
export const TAG_EXPONENTIAL_ATTRIBUTES = makeTag(1, LD);
export const TAG_SUMMARY_ATTRIBUTES = makeTag(7, LD);
// Every data point kind: fixed64 time_unix_nano = 3 (nanoseconds since the epoch).
export const TAG_POINT_TIME = makeTag(3, WIRE_FIXED64);
// Exemplars: NumberDataPoint 5, HistogramDataPoint 8, ExponentialHistogramDataPoint 11.
export const TAG_NUMBER_EXEMPLARS = makeTag(5, LD);
export const TAG_HISTOGRAM_EXEMPLARS = makeTag(8, LD);
export const TAG_EXPONENTIAL_EXEMPLARS = makeTag(11, LD);
// HistogramDataPoint: optional double sum = 5; repeated fixed64 bucket_counts = 6; repeated double explicit_bounds = 7;
export const TAG_HISTOGRAM_SUM = makeTag(5, WIRE_FIXED64);
export const TAG_BUCKET_COUNTS_PACKED = makeTag(6, LD);
export const TAG_BUCKET_COUNTS_ONE = makeTag(6, WIRE_FIXED64);
export const TAG_EXPLICIT_BOUNDS_PACKED = makeTag(7, LD);
export const TAG_EXPLICIT_BOUNDS_ONE = makeTag(7, WIRE_FIXED64);
// SummaryDataPoint: repeated ValueAtQuantile quantile_values = 6;
export const TAG_QUANTILE_VALUES = makeTag(6, LD);
// KeyValue: string key = 1; AnyValue value = 2;
export const TAG_KEY = makeTag(1, LD);
export const TAG_VALUE = makeTag(2, LD);
// AnyValue: oneof { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
// ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; }
export const TAG_STRING_VALUE = makeTag(1, LD);
export const TAG_BOOL_VALUE = makeTag(2, WIRE_VARINT);
export const TAG_INT_VALUE = makeTag(3, WIRE_VARINT);
export const TAG_DOUBLE_VALUE = makeTag(4, WIRE_FIXED64);
export const TAG_ARRAY_VALUE = makeTag(5, LD);
export const TAG_KVLIST_VALUE = makeTag(6, LD);
export const TAG_BYTES_VALUE = makeTag(7, LD);

/** Resource attributes Mimir maps to `job` and `instance` instead of copying them to target_info. */
export const SERVICE_NAME = new TextEncoder().encode('service.name');
export const SERVICE_NAMESPACE = new TextEncoder().encode('service.namespace');
export const SERVICE_INSTANCE_ID = new TextEncoder().encode('service.instance.id');

/** True when bytes `[start, start + length)` of `buf` equal `expected`. */
export function bytesEqual(buf: Uint8Array, start: number, length: number, expected: Uint8Array): boolean {
  if (length !== expected.length) return false;
  for (let i = 0; i < length; i++) {
    if (buf[start + i] !== expected[i]) return false;
  }
  return true;
}

/**
 * The aggregation temporality of a Sum, Histogram or ExponentialHistogram payload `[reader.pos, end)`, read
 * without moving the reader (0 when absent). Mimir drops non-cumulative ones, so the scanners check it first.
 */
export function temporalityOf(reader: ProtoReader, end: number): number {
  const saved = reader.pos;
  let temporality = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === TAG_TEMPORALITY) temporality = reader.varint(end);
    else if (tag >>> 3 === 2) throw wrongWireType(tag, 'aggregation', reader.pos);
    else reader.skip(tag, end);
  }
  reader.pos = saved;
  return temporality;
}

// Sum: bool is_monotonic = 3 (a monotonic sum is a counter, named with _total under the suffixing strategies).
const TAG_MONOTONIC = makeTag(3, WIRE_VARINT);

/** Whether the Sum at the reader (up to `end`) is monotonic; the reader is left where it was. */
export function isMonotonic(reader: ProtoReader, end: number): boolean {
  const saved = reader.pos;
  let monotonic = false;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === TAG_MONOTONIC) monotonic = reader.varint(end) !== 0;
    else reader.skip(tag, end);
  }
  reader.pos = saved;
  return monotonic;
}

export function wrongWireType(tag: number, message: string, offset: number): Error {
  return invalidProtobuf(`wrong wire type ${tag & 7} for ${message} field ${tag >>> 3}`, offset);
}

/**
 * The length of the AnyValue `[reader.pos, end)` as Mimir turns it into a label value (pcommon's AsString): a
 * string's bytes, `true`/`false`, an integer's digits, a double's shortest form, bytes as base64. Arrays and maps
 * become JSON; their encoded size stands in for it, so nesting is skipped by length, never descended.
 */
export function anyValueLength(reader: ProtoReader, buf: Uint8Array, end: number): number {
  let length = 0;
  while (reader.pos < end) {
    const tag = reader.tag(end);
    if (tag === TAG_STRING_VALUE || tag === TAG_ARRAY_VALUE || tag === TAG_KVLIST_VALUE) {
      length = reader.length(end);
      reader.pos += length;
    } else if (tag === TAG_BYTES_VALUE) {
      const bytes = reader.length(end);
      reader.pos += bytes;
      length = 4 * Math.ceil(bytes / 3);
    } else if (tag === TAG_BOOL_VALUE) {
      length = reader.varint(end) !== 0 ? 4 : 5;
    } else if (tag === TAG_INT_VALUE) {
      length = int64DecimalLength(reader.varint(end));
    } else if (tag === TAG_DOUBLE_VALUE) {
      length = String(readDouble(buf, reader.pos)).length;
      reader.skip(tag, end);
    } else if (tag >>> 3 >= 1 && tag >>> 3 <= 7) {
      throw wrongWireType(tag, 'AnyValue', reader.pos);
    } else {
      reader.skip(tag, end);
    }
  }
  return length;
}

const doubleBytes = new Uint8Array(8);
const doubleView = new Float64Array(doubleBytes.buffer);

function readDouble(buf: Uint8Array, pos: number): number {
  for (let i = 0; i < 8; i++) doubleBytes[i] = buf[pos + i]!;
  return doubleView[0]!;
}

/** Decimal digits of an int64 read as an unsigned varint (negative values arrive as 2^64 - |v|). */
function int64DecimalLength(unsigned: number): number {
  const value = unsigned >= 2 ** 63 ? unsigned - 2 ** 64 : unsigned;
  return String(value).length;
}
