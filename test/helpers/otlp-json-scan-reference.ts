// The OTLP JSON scanner as it was before the streaming one: JSON.parse builds the tree, a walk counts it. Kept as
// the oracle of test/unit/remote-write/otlp-json-scanner.property.test.ts: for every valid OTLP/JSON body the streaming scanner
// must return the same RequestInfo.

import { BodyDecodeError } from '../../src/remote-write/errors.js';
import type { RequestInfo } from '../../src/remote-write/request-info.js';

type Json = unknown;
type JsonObject = Record<string, Json>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

const KINDS = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] as const;
const SNAKE_KINDS = ['gauge', 'sum', 'histogram', 'exponential_histogram', 'summary'] as const;
const NAME_SUFFIX_LENGTH = [0, 0, '_bucket'.length, 0, '_count'.length] as const;

/** Counts like scanOtlpProto(); series indexes are the same point ordinals, read by describeOtlpJsonSeries(). */
export function scanOtlpJsonReference(buf: Uint8Array, bytesCompressed: number): RequestInfo {
  const root = parse(buf);
  const info: RequestInfo = {
    format: 'otlp-json',
    series: 0,
    floatSamples: 0,
    histogramSamples: 0,
    exemplars: 0,
    metadata: 0,
    maxLabelNames: 0,
    maxLabelNamesSeries: -1,
    maxLabelNameLength: 0,
    maxLabelNameSeries: -1,
    maxLabelValueLength: 0,
    maxLabelValueSeries: -1,
    bytesCompressed,
    bytesUncompressed: buf.length,
  };
  const observe = (ordinal: number, labels: number, nameLength: number, valueLength: number): void => {
    if (labels > info.maxLabelNames || info.maxLabelNamesSeries < 0) {
      info.maxLabelNames = labels;
      info.maxLabelNamesSeries = ordinal;
    }
    if (nameLength > info.maxLabelNameLength || info.maxLabelNameSeries < 0) {
      info.maxLabelNameLength = nameLength;
      info.maxLabelNameSeries = ordinal;
    }
    if (valueLength > info.maxLabelValueLength || info.maxLabelValueSeries < 0) {
      info.maxLabelValueLength = valueLength;
      info.maxLabelValueSeries = ordinal;
    }
  };
  let minTimeMs = Infinity;
  let maxTimeMs = -1;
  let timeUnreadable = false;
  const chargedNames = new Set<string>();
  let targetInfoCharged = false;
  let ordinal = 0;

  for (const rm of list(root, 'resourceMetrics', 'resource_metrics')) {
    const resource = optionalObject(rm, 'resource', 'resource');
    let serviceName = -1;
    let serviceNamespace = -1;
    let instance = -1;
    let targetLabels = 0;
    let targetNameLength = 0;
    let targetValueLength = 0;
    for (const kv of resource ? list(resource, 'attributes', 'attributes') : []) {
      const key = keyOf(kv);
      const length = valueLength(kv);
      if (key === 'service.name') serviceName = length;
      else if (key === 'service.namespace') serviceNamespace = length;
      else if (key === 'service.instance.id') instance = length;
      else {
        targetLabels++;
        targetNameLength = Math.max(targetNameLength, Buffer.byteLength(key));
        targetValueLength = Math.max(targetValueLength, length);
      }
    }
    const resourceLabels = (serviceName >= 0 ? 1 : 0) + (instance >= 0 ? 1 : 0);
    const resourceValue = Math.max(
      serviceName >= 0 ? (serviceNamespace >= 0 ? serviceNamespace + 1 : 0) + serviceName : 0,
      instance,
      0,
    );
    const samplesBefore = info.floatSamples + info.histogramSamples;

    for (const sm of list(rm, 'scopeMetrics', 'scope_metrics')) {
      for (const metric of list(sm, 'metrics', 'metrics')) {
        const name = optionalString(metric, 'name');
        const metricSamplesBefore = info.floatSamples + info.histogramSamples;
        for (let kind = 0; kind < KINDS.length; kind++) {
          const data = optionalObject(metric, KINDS[kind]!, SNAKE_KINDS[kind]!);
          if (!data || !kindIsKept(kind, data)) continue;
          const nameValueLength = Buffer.byteLength(name) + NAME_SUFFIX_LENGTH[kind]!;
          for (const point of list(data, 'dataPoints', 'data_points')) {
            let attributes = 0;
            let keyLength = 0;
            let valueMax = 0;
            for (const kv of list(point, 'attributes', 'attributes')) {
              attributes++;
              keyLength = Math.max(keyLength, Buffer.byteLength(keyOf(kv)));
              valueMax = Math.max(valueMax, valueLength(kv));
            }
            let samples = 1;
            let extraLabel = 0;
            if (kind === 2) {
              const bounds = count(point, 'explicitBounds', 'explicit_bounds');
              const counts = count(point, 'bucketCounts', 'bucket_counts');
              samples =
                (point['sum'] !== undefined && point['sum'] !== null ? 1 : 0) + 2 + Math.min(bounds, counts);
              extraLabel = 1;
            } else if (kind === 4) {
              const quantiles = list(point, 'quantileValues', 'quantile_values').length;
              samples = 2 + quantiles;
              if (quantiles > 0) extraLabel = 1;
            }
            const ms = pointTimeMs(point);
            if (ms < 0) timeUnreadable = true;
            else {
              minTimeMs = Math.min(minTimeMs, ms);
              maxTimeMs = Math.max(maxTimeMs, ms);
            }
            if (kind === 3) info.histogramSamples++;
            else info.floatSamples += samples;
            info.series += samples;
            if (kind !== 4) info.exemplars += list(point, 'exemplars', 'exemplars').length;
            observe(
              ordinal++,
              attributes + resourceLabels + 1 + extraLabel,
              Math.max(keyLength, 8, resourceLabels > 0 ? 8 : 0),
              Math.max(valueMax, nameValueLength, resourceValue),
            );
          }
        }
        if (info.floatSamples + info.histogramSamples > metricSamplesBefore && !chargedNames.has(name)) {
          chargedNames.add(name);
          info.metadata++;
        }
      }
    }
    const targetInfo = ordinal++;
    if (targetLabels > 0 && info.floatSamples + info.histogramSamples > samplesBefore) {
      info.series++;
      info.floatSamples++;
      if (!targetInfoCharged) {
        targetInfoCharged = true;
        info.metadata++;
      }
      observe(
        targetInfo,
        targetLabels + resourceLabels + 1,
        Math.max(targetNameLength, 8),
        Math.max(targetValueLength, resourceValue, 'target_info'.length),
      );
    }
  }
  if (maxTimeMs >= 0 || timeUnreadable) {
    // An unreadable time bounds nothing; otherwise the exact keys (ms / 2^14).
    info.minSampleTimeKey = timeUnreadable ? 0 : Math.floor(minTimeMs / 16_384);
    info.maxSampleTimeKey = timeUnreadable ? Number.MAX_SAFE_INTEGER : Math.floor(maxTimeMs / 16_384);
  }
  return info;
}

/** A point's timeUnixNano in ms: 0 when absent, -1 when not plain digits or a whole number of 0 or more. */
function pointTimeMs(point: JsonObject): number {
  const raw = point['timeUnixNano'] ?? point['time_unix_nano'];
  if (raw === undefined || raw === null) return 0;
  // A number's exact double (JSON.parse's); the scanner reads its digits, which differ only past 2^53 ns, and then
  // by less than a ms.
  if (typeof raw === 'number') {
    return Number.isInteger(raw) && raw >= 0 ? Number(BigInt(raw) / 1_000_000n) : -1;
  }
  if (typeof raw !== 'string' || !/^[0-9]+$/u.test(raw)) return -1;
  return Number(BigInt(raw) / 1_000_000n);
}

function parse(buf: Uint8Array): JsonObject {
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
function kindIsKept(kind: number, data: JsonObject): boolean {
  if (kind === 0 || kind === 4) return true;
  const temporality = data['aggregationTemporality'] ?? data['aggregation_temporality'];
  return temporality === 2 || temporality === '2' || temporality === 'AGGREGATION_TEMPORALITY_CUMULATIVE';
}

function keyOf(kv: JsonObject): string {
  const key = kv['key'] ?? '';
  if (typeof key !== 'string') throw invalidJson('an attribute key is not a string');
  return key;
}

/** The byte length of an attribute value as Mimir prints it (see the protobuf scanner for the rules). */
function valueLength(kv: JsonObject): number {
  const value = kv['value'];
  if (value === undefined || value === null) return 0;
  if (!isObject(value)) throw invalidJson('an attribute value is not an object');
  const s = value['stringValue'] ?? value['string_value'];
  if (typeof s === 'string') return Buffer.byteLength(s);
  return Buffer.byteLength(valueText(kv));
}

function valueText(kv: JsonObject): string {
  const value = kv['value'];
  if (!isObject(value)) return '';
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined || v === null) continue;
    if (key === 'stringValue' || key === 'string_value' || key === 'bytesValue' || key === 'bytes_value') {
      if (typeof v !== 'string') throw invalidJson(`${key} is not a string`);
      return v;
    }
    if (key === 'boolValue' || key === 'bool_value') return v === true ? 'true' : 'false';
    if (key === 'intValue' || key === 'int_value' || key === 'doubleValue' || key === 'double_value') {
      if (typeof v !== 'string' && typeof v !== 'number') throw invalidJson(`${key} is not a number`);
      return String(v);
    }
    if (key === 'arrayValue' || key === 'array_value' || key === 'kvlistValue' || key === 'kvlist_value') {
      try {
        return JSON.stringify(v);
      } catch {
        throw invalidJson(`${key} is nested too deeply`);
      }
    }
  }
  return '';
}

/** An array of objects (absent: empty); anything else is a shape error. */
function list(obj: JsonObject, camel: string, snake: string): JsonObject[] {
  const value = obj[camel] ?? obj[snake];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidJson(`${camel} is not an array`);
  for (const item of value as Json[]) {
    if (!isObject(item)) throw invalidJson(`${camel} holds a ${item === null ? 'null' : typeof item}`);
  }
  return value as JsonObject[];
}

/** The length of an array of scalars (bucket counts, bounds); absent: 0. */
function count(obj: JsonObject, camel: string, snake: string): number {
  const value = obj[camel] ?? obj[snake];
  if (value === undefined || value === null) return 0;
  if (!Array.isArray(value)) throw invalidJson(`${camel} is not an array`);
  return value.length;
}

function optionalObject(obj: JsonObject, camel: string, snake: string): JsonObject | undefined {
  const value = obj[camel] ?? obj[snake];
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalidJson(`${camel} is not an object`);
  return value;
}

function optionalString(obj: JsonObject, key: string): string {
  const value = obj[key] ?? '';
  if (typeof value !== 'string') throw invalidJson(`${key} is not a string`);
  return value;
}

function isObject(value: Json): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalidJson(detail: string): BodyDecodeError {
  return new BodyDecodeError('invalid_json', `invalid OTLP JSON: ${detail}`, -1);
}
