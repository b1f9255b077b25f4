// Builds OTLP/HTTP metrics bodies for tests and benchmarks: one plain object in OTLP/JSON shape (lowerCamelCase,
// as the OTLP spec maps proto3 to JSON), encoded as protobuf by protobufjs from the published schema, or as JSON.

import protobuf from 'protobufjs';

// From opentelemetry-proto: collector/metrics/v1/metrics_service.proto, metrics/v1/metrics.proto,
// common/v1/common.proto, resource/v1/resource.proto (field numbers and types as published).
const PROTO = `
syntax = "proto3";
package otlp;
message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
  ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; } }
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; string schema_url = 3; }
message ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; string schema_url = 3; }
message Metric { string name = 1; string description = 2; string unit = 3;
  oneof data { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9; ExponentialHistogram exponential_histogram = 10; Summary summary = 11; }
  repeated KeyValue metadata = 12; }
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum { repeated NumberDataPoint data_points = 1; int32 aggregation_temporality = 2; bool is_monotonic = 3; }
message Histogram { repeated HistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message ExponentialHistogram { repeated ExponentialHistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message Summary { repeated SummaryDataPoint data_points = 1; }
message NumberDataPoint { repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  oneof value { double as_double = 4; sfixed64 as_int = 6; } repeated Exemplar exemplars = 5; uint32 flags = 8; }
message HistogramDataPoint { repeated KeyValue attributes = 9; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  fixed64 count = 4; optional double sum = 5; repeated fixed64 bucket_counts = 6; repeated double explicit_bounds = 7;
  repeated Exemplar exemplars = 8; uint32 flags = 10; optional double min = 11; optional double max = 12; }
message ExponentialHistogramDataPoint { repeated KeyValue attributes = 1; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  fixed64 count = 4; optional double sum = 5; sint32 scale = 6; fixed64 zero_count = 7; Buckets positive = 8; Buckets negative = 9;
  message Buckets { sint32 offset = 1; repeated uint64 bucket_counts = 2; }
  uint32 flags = 10; repeated Exemplar exemplars = 11; optional double min = 12; optional double max = 13; double zero_threshold = 14; }
message SummaryDataPoint { repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  fixed64 count = 4; double sum = 5; message ValueAtQuantile { double quantile = 1; double value = 2; }
  repeated ValueAtQuantile quantile_values = 6; uint32 flags = 8; }
message Exemplar { repeated KeyValue filtered_attributes = 7; fixed64 time_unix_nano = 2;
  oneof value { double as_double = 3; sfixed64 as_int = 6; } bytes span_id = 4; bytes trace_id = 5; }
`;

export const otlpRequestType = protobuf.parse(PROTO).root.lookupType('otlp.ExportMetricsServiceRequest');

export type Attributes = Record<string, string>;
export const CUMULATIVE = 2;
export const DELTA = 1;

export interface OtlpMetricSpec {
  name: string;
  kind: 'gauge' | 'sum' | 'histogram' | 'exponentialHistogram' | 'summary';
  temporality?: number;
  /** The metric's unit (Metric.unit). */
  unit?: string;
  /** sum: is_monotonic (a counter, named with _total under Mimir's suffixing strategies). */
  monotonic?: boolean;
  points: {
    attributes: Attributes;
    exemplars?: number;
    /** Exemplars spelled out (after the `exemplars` ones): IDs in hex, as OTLP/JSON writes them. */
    exemplarList?: OtlpExemplarSpec[];
    /** histogram: explicit bounds (bucket counts are bounds + 1); summary: quantiles. */
    buckets?: number;
    hasSum?: boolean;
    /** The point's time as an offset in ms from the base time (2023-11-14), instead of the base time itself. */
    timeOffsetMs?: number;
  }[];
}

export interface OtlpExemplarSpec {
  traceId?: string;
  spanId?: string;
  attributes?: Attributes;
  /** The exemplar's time as an offset in ms from the base time; `null`: no time. */
  timeOffsetMs?: number | null;
  value?: number;
}

export interface OtlpResourceSpec {
  attributes: Attributes;
  metrics: OtlpMetricSpec[];
}

const kv = (attributes: Attributes): { key: string; value: { stringValue: string } }[] =>
  Object.entries(attributes).map(([key, value]) => ({ key, value: { stringValue: value } }));

const TIME = 1_700_000_000_000_000_000;

/** The request in OTLP/JSON shape (protobufjs accepts the same object for protobuf encoding). */
export function otlpRequest(resources: OtlpResourceSpec[]): Record<string, unknown> {
  return {
    resourceMetrics: resources.map((r) => ({
      resource: { attributes: kv(r.attributes) },
      scopeMetrics: [
        {
          scope: { name: 'test', version: '1' },
          metrics: r.metrics.map((m) => {
            const dataPoints = m.points.map((p) => {
              const exemplars = Array.from({ length: p.exemplars ?? 0 }, (_, i) => ({
                timeUnixNano: TIME,
                asDouble: i,
              }));
              for (const e of p.exemplarList ?? []) {
                exemplars.push({
                  ...(e.timeOffsetMs === null ? {} : { timeUnixNano: TIME + (e.timeOffsetMs ?? 0) * 1e6 }),
                  asDouble: e.value ?? 0,
                  ...(e.traceId !== undefined ? { traceId: e.traceId } : {}),
                  ...(e.spanId !== undefined ? { spanId: e.spanId } : {}),
                  ...(e.attributes !== undefined ? { filteredAttributes: kv(e.attributes) } : {}),
                } as (typeof exemplars)[number]);
              }
              const base = { attributes: kv(p.attributes), timeUnixNano: TIME + (p.timeOffsetMs ?? 0) * 1e6 };
              const n = p.buckets ?? 0;
              switch (m.kind) {
                case 'histogram':
                  return {
                    ...base,
                    count: n,
                    ...(p.hasSum ? { sum: 1.5 } : {}),
                    bucketCounts: Array.from({ length: n + 1 }, () => 1),
                    explicitBounds: Array.from({ length: n }, (_, i) => i * 0.5),
                    exemplars,
                  };
                case 'summary':
                  return {
                    ...base,
                    count: 3,
                    sum: 2,
                    quantileValues: Array.from({ length: n }, (_, i) => ({ quantile: i / 10, value: i })),
                  };
                case 'exponentialHistogram':
                  return {
                    ...base,
                    count: 2,
                    scale: 1,
                    positive: { offset: 0, bucketCounts: [1, 1] },
                    exemplars,
                  };
                default:
                  return { ...base, asDouble: 1.25, exemplars };
              }
            });
            const data: Record<string, unknown> = { dataPoints };
            if (m.kind !== 'gauge' && m.kind !== 'summary')
              data['aggregationTemporality'] = m.temporality ?? CUMULATIVE;
            if (m.kind === 'sum' && m.monotonic) data['isMonotonic'] = true;
            return { name: m.name, ...(m.unit !== undefined ? { unit: m.unit } : {}), [m.kind]: data };
          }),
        },
      ],
    })),
  };
}

export function encodeOtlpProto(request: Record<string, unknown>): Buffer {
  return Buffer.from(otlpRequestType.encode(otlpRequestType.fromObject(hexIdsToBytes(request))).finish());
}

/** OTLP/JSON writes trace and span IDs in hex; protobuf carries their bytes. */
function hexIdsToBytes<T>(value: T): T {
  if (Array.isArray(value)) return value.map(hexIdsToBytes) as T;
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] =
      (key === 'traceId' || key === 'spanId') && typeof v === 'string'
        ? Buffer.from(v, 'hex')
        : hexIdsToBytes(v);
  }
  return out as T;
}

export function encodeOtlpJson(request: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify(request));
}
