// The OTLP/HTTP JSON field names the token scanner (otlp-json-scanner.ts) matches, as UTF-8 bytes, in both
// spellings (lowerCamelCase and snake_case); the data kinds as numbers; and the small readers that check one
// field's shape (an object, an array, given once) before the scanner counts it.

import { JSON_BYTES } from './json-cursor.js';
import type { JsonCursor } from './json-cursor.js';

const encoder = new TextEncoder();
const { OPEN_BRACE, OPEN_BRACKET, CLOSE_BRACKET } = JSON_BYTES;

export const KINDS = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] as const;
export const SNAKE_KINDS = ['gauge', 'sum', 'histogram', 'exponential_histogram', 'summary'] as const;
export const NAME_SUFFIX_LENGTH = [0, 0, '_bucket'.length, 0, '_count'.length] as const;

const ascii = (s: string): Uint8Array => encoder.encode(s);
export const K_RESOURCE_METRICS = ascii('resourceMetrics');
export const K_RESOURCE_METRICS_SNAKE = ascii('resource_metrics');
export const K_RESOURCE = ascii('resource');
export const K_SCOPE_METRICS = ascii('scopeMetrics');
export const K_SCOPE_METRICS_SNAKE = ascii('scope_metrics');
export const K_ATTRIBUTES = ascii('attributes');
export const K_METRICS = ascii('metrics');
export const K_NAME = ascii('name');
export const K_UNIT = ascii('unit');
const K_KINDS = KINDS.map(ascii);
const K_SNAKE_KINDS = SNAKE_KINDS.map(ascii);
export const K_DATA_POINTS = ascii('dataPoints');
export const K_DATA_POINTS_SNAKE = ascii('data_points');
export const K_TEMPORALITY = ascii('aggregationTemporality');
export const K_TEMPORALITY_SNAKE = ascii('aggregation_temporality');
export const K_EXEMPLARS = ascii('exemplars');
export const K_TIME_UNIX_NANO = ascii('timeUnixNano');
export const K_TIME_UNIX_NANO_SNAKE = ascii('time_unix_nano');
export const K_SUM = ascii('sum');
export const K_BUCKET_COUNTS = ascii('bucketCounts');
export const K_BUCKET_COUNTS_SNAKE = ascii('bucket_counts');
export const K_EXPLICIT_BOUNDS = ascii('explicitBounds');
export const K_EXPLICIT_BOUNDS_SNAKE = ascii('explicit_bounds');
export const K_QUANTILE_VALUES = ascii('quantileValues');
export const K_QUANTILE_VALUES_SNAKE = ascii('quantile_values');
export const K_KEY = ascii('key');
export const K_VALUE = ascii('value');
export const V_CUMULATIVE = ascii('2');
export const V_CUMULATIVE_NAME = ascii('AGGREGATION_TEMPORALITY_CUMULATIVE');
export const SERVICE_NAME = ascii('service.name');
export const SERVICE_NAMESPACE = ascii('service.namespace');
export const SERVICE_INSTANCE_ID = ascii('service.instance.id');

export const SUM = 1;
export const HISTOGRAM = 2;
export const EXPONENTIAL_HISTOGRAM = 3;
export const SUMMARY = 4;

export const METRIC_NAME_LABEL_LENGTH = '__name__'.length;
export const TARGET_INFO_LENGTH = 'target_info'.length;

/** Which data kind a metric key names (0..4), or -1. */
export function metricKind(c: JsonCursor): number {
  for (let kind = 0; kind < K_KINDS.length; kind++) {
    if (c.keyIs(K_KINDS[kind]!) || (kind === EXPONENTIAL_HISTOGRAM && c.keyIs(K_SNAKE_KINDS[kind]!)))
      return kind;
  }
  return -1;
}

/** Marks a field as read; a second occurrence is refused rather than silently counted twice. */
export function once(c: JsonCursor, seen: number, bit: number, field: string): number {
  if ((seen & bit) !== 0) throw c.fail(`${field} appears twice`);
  return seen | bit;
}

export function requireObject(c: JsonCursor, field: string): void {
  if (c.ws() !== OPEN_BRACE) throw c.fail(`${field} holds something other than an object`);
}

/** Opens the array value of `field`: true when it has a first element (the cursor is then on it). */
export function openList(c: JsonCursor, field: string): boolean {
  if (c.buf[c.pos] !== OPEN_BRACKET) throw c.fail(`${field} is not an array`);
  return c.openArray();
}

/** Counts the elements of the array value of `field`, each skipped (and required to be an object if `objects`). */
export function countList(c: JsonCursor, field: string, objects: boolean): number {
  if (!openList(c, field)) return 0;
  let count = 0;
  do {
    if (objects) requireObject(c, field);
    c.skipValue();
    count++;
  } while (c.more(CLOSE_BRACKET));
  return count;
}
