// OTLP JSON read as parsed objects, for the paths that may allocate: the label-limit message
// (describeOtlpJsonSeries) and the exact pass of tenants that drop labels or run HA pairs (otlp-series-labels.ts).
// The fast path (otlp-json-scanner.ts) never parses; these read what it already accepted, with the same errors.

import { BodyDecodeError } from './errors.js';

export type Json = unknown;
export type JsonObject = Record<string, Json>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The body as a JSON object, or BodyDecodeError `invalid_json`. */
export function parseOtlpJson(buf: Uint8Array): JsonObject {
  let root: Json;
  try {
    root = JSON.parse(utf8.decode(buf));
  } catch (cause) {
    throw invalidJson(cause instanceof Error ? cause.message : String(cause));
  }
  if (!isObject(root)) throw invalidJson('the body is not a JSON object');
  return root;
}

/** Mimir keeps gauges and summaries, and sums and histograms only when cumulative. */
export function kindIsKept(kind: number, data: JsonObject): boolean {
  if (kind === 0 || kind === 4) return true;
  const temporality = data['aggregationTemporality'] ?? data['aggregation_temporality'];
  return temporality === 2 || temporality === '2' || temporality === 'AGGREGATION_TEMPORALITY_CUMULATIVE';
}

/** A KeyValue's key ('' when absent). */
export function keyOf(kv: JsonObject): string {
  const key = kv['key'] ?? '';
  if (typeof key !== 'string') throw invalidJson('an attribute key is not a string');
  return key;
}

/** An array of objects (absent: empty); anything else is a shape error. */
export function list(obj: JsonObject, camel: string, snake: string): JsonObject[] {
  const value = obj[camel] ?? obj[snake];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidJson(`${camel} is not an array`);
  for (const item of value as Json[]) {
    if (!isObject(item)) throw invalidJson(`${camel} holds a ${item === null ? 'null' : typeof item}`);
  }
  return value as JsonObject[];
}

export function optionalObject(obj: JsonObject, camel: string, snake: string): JsonObject | undefined {
  const value = obj[camel] ?? obj[snake];
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalidJson(`${camel} is not an object`);
  return value;
}

export function optionalString(obj: JsonObject, key: string): string {
  const value = obj[key] ?? '';
  if (typeof value !== 'string') throw invalidJson(`${key} is not a string`);
  return value;
}

export function isObject(value: Json): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function invalidJson(detail: string): BodyDecodeError {
  return new BodyDecodeError('invalid_json', `invalid OTLP JSON: ${detail}`, -1);
}
