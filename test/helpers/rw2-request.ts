// Builds Prometheus remote-write 2.0 bodies with protobufjs from the published io.prometheus.write.v2 schema
// (an encoder independent of our scanner), for tests and benchmarks.

import protobuf from 'protobufjs';
import snappy from 'snappy';
import { exemplarTimestamp } from './write-request.js';
import type { ExemplarSpec } from './write-request.js';

// From prometheus/prompb io/prometheus/write/v2/types.proto (gogoproto options removed; field numbers as published).
const PROTO = `
syntax = "proto3";
package io.prometheus.write.v2;
message Request { reserved 1 to 3; repeated string symbols = 4; repeated TimeSeries timeseries = 5; }
message TimeSeries {
  repeated uint32 labels_refs = 1; repeated Sample samples = 2; repeated Histogram histograms = 3;
  repeated Exemplar exemplars = 4; Metadata metadata = 5; int64 created_timestamp = 6;
}
message Exemplar { repeated uint32 labels_refs = 1; double value = 2; int64 timestamp = 3; }
message Sample { double value = 1; int64 timestamp = 2; }
message Metadata {
  enum MetricType { METRIC_TYPE_UNSPECIFIED = 0; METRIC_TYPE_COUNTER = 1; METRIC_TYPE_GAUGE = 2; METRIC_TYPE_HISTOGRAM = 3;
    METRIC_TYPE_GAUGEHISTOGRAM = 4; METRIC_TYPE_SUMMARY = 5; METRIC_TYPE_INFO = 6; METRIC_TYPE_STATESET = 7; }
  MetricType type = 1; uint32 help_ref = 3; uint32 unit_ref = 4;
}
message Histogram {
  oneof count { uint64 count_int = 1; double count_float = 2; }
  double sum = 3; sint32 schema = 4; double zero_threshold = 5;
  oneof zero_count { uint64 zero_count_int = 6; double zero_count_float = 7; }
  repeated BucketSpan negative_spans = 8; repeated sint64 negative_deltas = 9; repeated double negative_counts = 10;
  repeated BucketSpan positive_spans = 11; repeated sint64 positive_deltas = 12; repeated double positive_counts = 13;
  int32 reset_hint = 14; int64 timestamp = 15; repeated double custom_values = 16;
}
message BucketSpan { sint32 offset = 1; uint32 length = 2; }
`;

export const rw2RequestType = protobuf.parse(PROTO).root.lookupType('io.prometheus.write.v2.Request');

export interface Rw2SeriesSpec {
  labels: Record<string, string>;
  samples?: number;
  /** The samples' timestamps as offsets in ms from the base time, instead of `samples` 1 ms apart. */
  timestamps?: number[];
  histograms?: number;
  /** The native histograms one by one, instead of `histograms`. */
  histogramList?: HistogramSpec[];
  exemplars?: number;
  /** The exemplars one by one, instead of `exemplars` (test/helpers/write-request.ts ExemplarSpec). */
  exemplarList?: ExemplarSpec[];
  /** Metadata type (0 = unset), help and unit text. */
  metadata?: { type: number; help?: string; unit?: string };
}

/** One native histogram: its schema, positive spans as [offset, length] (deltas of 1 each) and time offset. */
export interface HistogramSpec {
  schema?: number;
  spans?: [number, number][];
  /** ms after the base time (default 0) */
  offset?: number;
}

/** The Request object (symbols deduplicated, "" first as the spec asks) for protobufjs to encode. */
export function rw2Request(series: Rw2SeriesSpec[]): Record<string, unknown> {
  const symbols = [''];
  const index = new Map<string, number>([['', 0]]);
  const ref = (s: string): number => {
    let i = index.get(s);
    if (i === undefined) {
      i = symbols.length;
      symbols.push(s);
      index.set(s, i);
    }
    return i;
  };
  const ts = 1_700_000_000_000;
  const timeseries = series.map((s) => ({
    labelsRefs: Object.entries(s.labels).flatMap(([n, v]) => [ref(n), ref(v)]),
    samples: s.timestamps
      ? s.timestamps.map((offset, i) => ({ value: i, timestamp: ts + offset }))
      : Array.from({ length: s.samples ?? 1 }, (_, i) => ({ value: i, timestamp: ts + i })),
    histograms: s.histogramList
      ? s.histogramList.map((h) => {
          const spans = h.spans ?? [[0, 2]];
          const buckets = spans.reduce((n, [, length]) => n + length, 0);
          return {
            countInt: buckets,
            sum: 1.5,
            schema: h.schema ?? 0,
            positiveSpans: spans.map(([offset, length]) => ({ offset, length })),
            positiveDeltas: Array.from({ length: buckets }, (_, k) => (k === 0 ? 1 : 0)),
            timestamp: ts + (h.offset ?? 0),
          };
        })
      : Array.from({ length: s.histograms ?? 0 }, (_, i) => ({
          countInt: 3,
          sum: 1.5,
          schema: 0,
          positiveSpans: [{ offset: 0, length: 2 }],
          positiveDeltas: [1, 1],
          timestamp: ts + i,
        })),
    exemplars: s.exemplarList
      ? s.exemplarList.map((e, i) => ({
          labelsRefs: Object.entries(e.labels).flatMap(([name, value]) => [ref(name), ref(value)]),
          value: i,
          timestamp: exemplarTimestamp(e, ts),
        }))
      : Array.from({ length: s.exemplars ?? 0 }, (_, i) => ({
          labelsRefs: [ref('trace_id'), ref(`t${i}`)],
          value: i,
          timestamp: ts,
        })),
    ...(s.metadata
      ? {
          metadata: {
            type: s.metadata.type,
            helpRef: ref(s.metadata.help ?? ''),
            unitRef: ref(s.metadata.unit ?? ''),
          },
        }
      : {}),
  }));
  return { symbols, timeseries };
}

export function encodeRw2(request: Record<string, unknown>): Buffer {
  return Buffer.from(rw2RequestType.encode(rw2RequestType.fromObject(request)).finish());
}

/** A snappy-compressed remote-write 2.0 body. */
export function rw2SnappyBody(series: Rw2SeriesSpec[]): Buffer {
  return snappy.compressSync(encodeRw2(rw2Request(series)));
}

export const RW2_CONTENT_TYPE = 'application/x-protobuf;proto=io.prometheus.write.v2.Request';
