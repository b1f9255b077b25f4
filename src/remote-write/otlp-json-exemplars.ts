// The points and exemplars of an OTLP/JSON request, for the exemplar rules (otlp-exemplars.ts). Runs only for a
// request with exemplars the tenant is charged for, after the scanner has validated the body, so it parses the
// body whole. Both spellings of a key are read (lowerCamelCase and snake_case), as the scanner reads them; IDs are
// hex, as OTLP/JSON writes them.

import type { OtlpExemplar, OtlpPoints, PointExemplars } from './otlp-exemplar-labels.js';
import { translatedExemplar } from './otlp-exemplar-labels.js';

type Json = Record<string, unknown>;

const object = (v: unknown): Json | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
/** A field by its lowerCamelCase name, or its snake_case one. */
const field = (o: Json, camel: string, snake?: string): unknown =>
  o[camel] ?? (snake === undefined ? undefined : o[snake]);

const KINDS: [camel: string, snake: string, kind: 'number' | 'histogram' | 'exponential' | 'summary'][] = [
  ['gauge', 'gauge', 'number'],
  ['sum', 'sum', 'number'],
  ['histogram', 'histogram', 'histogram'],
  ['exponentialHistogram', 'exponential_histogram', 'exponential'],
  ['summary', 'summary', 'summary'],
];

/** A JSON uint64 or int64 (a string of digits or a number) as Mimir reads nanoseconds into milliseconds. */
function nanosToMs(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v / 1e6) : 0;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(BigInt.asIntN(64, BigInt(v)) / 1_000_000n);
  return 0;
}

const numberOf = (v: unknown): number => {
  if (typeof v === 'number') return v;
  return typeof v === 'string' && v !== '' ? Number(v) : 0;
};

/** Characters of an AnyValue as pcommon's AsString writes it (arrays and maps by their JSON's length). */
function valueRunes(v: unknown): number {
  const value = object(v);
  if (value === undefined) return 0;
  const s = field(value, 'stringValue', 'string_value');
  if (typeof s === 'string') return [...s].length;
  const b = field(value, 'boolValue', 'bool_value');
  if (typeof b === 'boolean') return b ? 4 : 5;
  const i = field(value, 'intValue', 'int_value');
  if (i !== undefined) return String(i).length;
  const d = field(value, 'doubleValue', 'double_value');
  if (typeof d === 'number') return String(d).length;
  const bytes = field(value, 'bytesValue', 'bytes_value');
  if (typeof bytes === 'string') return bytes.length;
  const nested = field(value, 'arrayValue', 'array_value') ?? field(value, 'kvlistValue', 'kvlist_value');
  return nested === undefined ? 0 : JSON.stringify(nested).length;
}

/** An ID is a label when it is not empty and not all zeros. */
const isId = (v: unknown): boolean => typeof v === 'string' && /[1-9a-fA-F]/.test(v);

function exemplarOf(v: unknown): OtlpExemplar {
  const e = object(v) ?? {};
  let attributes = 0;
  let attributeRunes = 0;
  let validAttribute = false;
  for (const a of list(field(e, 'filteredAttributes', 'filtered_attributes'))) {
    const kv = object(a) ?? {};
    const key = typeof kv['key'] === 'string' ? [...kv['key']].length : 0;
    const value = valueRunes(kv['value']);
    attributes++;
    attributeRunes += key + value;
    if (key > 0 && value > 0) validAttribute = true;
  }
  const asInt = field(e, 'asInt', 'as_int');
  const value = asInt !== undefined ? numberOf(asInt) : numberOf(field(e, 'asDouble', 'as_double'));
  return translatedExemplar(
    nanosToMs(field(e, 'timeUnixNano', 'time_unix_nano')),
    value,
    isId(field(e, 'traceId', 'trace_id')),
    isId(field(e, 'spanId', 'span_id')),
    attributes,
    attributeRunes,
    validAttribute,
  );
}

/** A temporality Mimir keeps: cumulative, as a number or its enum name. */
const cumulative = (v: unknown): boolean =>
  v === 2 || v === '2' || v === 'AGGREGATION_TEMPORALITY_CUMULATIVE';

/** Every point's time (ms) and the points carrying exemplars, ordinals as the JSON scanner numbers them. */
export function readJsonPoints(buf: Uint8Array): OtlpPoints {
  const request = object(
    JSON.parse(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8')),
  );
  const times: number[] = [];
  const withExemplars: PointExemplars[] = [];
  let ordinal = 0;
  for (const r of list(request && field(request, 'resourceMetrics', 'resource_metrics'))) {
    const rm = object(r) ?? {};
    const resourceKey = JSON.stringify(rm['resource'] ?? null);
    for (const s of list(field(rm, 'scopeMetrics', 'scope_metrics'))) {
      for (const m of list(object(s)?.['metrics'])) {
        const metric = object(m) ?? {};
        const name = typeof metric['name'] === 'string' ? metric['name'] : '';
        for (const [camel, snake, kind] of KINDS) {
          const data = object(field(metric, camel, snake));
          if (data === undefined) continue;
          if (
            (camel === 'sum' || kind === 'histogram' || kind === 'exponential') &&
            !cumulative(field(data, 'aggregationTemporality', 'aggregation_temporality'))
          )
            continue;
          for (const p of list(field(data, 'dataPoints', 'data_points'))) {
            const point = object(p) ?? {};
            times.push(nanosToMs(field(point, 'timeUnixNano', 'time_unix_nano')));
            const exemplars = kind === 'summary' ? [] : list(point['exemplars']).map(exemplarOf);
            if (exemplars.length > 0) {
              const attributes = list(point['attributes'])
                .map((a) => JSON.stringify(a))
                .sort();
              const bounds = list(field(point, 'explicitBounds', 'explicit_bounds')).map(numberOf);
              const buckets = list(field(point, 'bucketCounts', 'bucket_counts')).length;
              withExemplars.push({
                ordinal,
                key: `${resourceKey}\u0001${name}\u0001${attributes.join('\u0001')}`,
                bounds: kind === 'histogram' ? bounds.slice(0, Math.min(bounds.length, buckets)) : undefined,
                exemplars,
              });
            }
            ordinal++;
          }
        }
      }
    }
    ordinal++; // the resource's target_info
  }
  return { ordinals: ordinal, times, withExemplars };
}
