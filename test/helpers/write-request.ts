// Builds Prometheus remote-write 1.0 bodies with protobufjs (an encoder independent of our scanner)
// and snappy, for tests and benchmarks.

import protobuf from 'protobufjs';
import snappy from 'snappy';
import { request } from 'undici';

const PROTO = `
syntax = "proto3";
package prometheus;
message WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
message Label { string name = 1; string value = 2; }
message Sample { double value = 1; int64 timestamp = 2; }
message Exemplar { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }
message Histogram { uint64 count_int = 1; double sum = 3; int32 schema = 4; int64 timestamp = 15; }
message MetricMetadata { int32 type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }
`;

export const writeRequestType = protobuf.parse(PROTO).root.lookupType('prometheus.WriteRequest');

export interface SeriesSpec {
  labels: Record<string, string>;
  samples?: number;
  /** The samples' timestamps as offsets in ms from the base time, instead of `samples` one second apart. */
  timestamps?: number[];
  exemplars?: number;
  /** The exemplars one by one, instead of `exemplars`: labels, and a time as an offset from the base or absolute. */
  exemplarList?: ExemplarSpec[];
  histograms?: number;
  /** The native histograms one by one, instead of `histograms`: each a time as an offset in ms from the base. */
  histogramList?: { offset?: number }[];
}

export interface ExemplarSpec {
  labels: Record<string, string>;
  /** ms after the base time (default 0) */
  offset?: number;
  /** absolute ms timestamp, instead of `offset` */
  timestamp?: number;
}

/** An exemplar's timestamp from its spec and the base time. */
export function exemplarTimestamp(e: ExemplarSpec, base: number): number {
  return e.timestamp ?? base + (e.offset ?? 0);
}

export interface WriteRequestObject {
  timeseries: {
    labels: { name: string; value: string }[];
    samples: { value: number; timestamp: number }[];
    exemplars: { labels: { name: string; value: string }[]; value: number; timestamp: number }[];
    histograms: { countInt: number; sum: number; schema: number; timestamp: number }[];
  }[];
  metadata: { type: number; metricFamilyName: string; help: string; unit: string }[];
}

export function writeRequest(series: SeriesSpec[], metadata = 0): WriteRequestObject {
  const ts = 1_700_000_000_000;
  return {
    timeseries: series.map((s) => ({
      labels: Object.entries(s.labels).map(([name, value]) => ({ name, value })),
      samples: s.timestamps
        ? s.timestamps.map((offset, i) => ({ value: i, timestamp: ts + offset }))
        : Array.from({ length: s.samples ?? 1 }, (_, i) => ({ value: i, timestamp: ts + i * 1000 })),
      exemplars: s.exemplarList
        ? s.exemplarList.map((e, i) => ({
            labels: Object.entries(e.labels).map(([name, value]) => ({ name, value })),
            value: i,
            timestamp: exemplarTimestamp(e, ts),
          }))
        : Array.from({ length: s.exemplars ?? 0 }, (_, i) => ({
            labels: [{ name: 'trace_id', value: `t${i}` }],
            value: i,
            timestamp: ts,
          })),
      histograms: s.histogramList
        ? s.histogramList.map((h) => ({ countInt: 3, sum: 1.5, schema: 0, timestamp: ts + (h.offset ?? 0) }))
        : Array.from({ length: s.histograms ?? 0 }, (_, i) => ({
            countInt: 3,
            sum: 1.5,
            schema: 0,
            timestamp: ts + i,
          })),
    })),
    metadata: Array.from({ length: metadata }, (_, i) => ({
      type: 1,
      metricFamilyName: `m${i}`,
      help: 'help',
      unit: '',
    })),
  };
}

export function encodeWriteRequest(request: WriteRequestObject): Buffer {
  return Buffer.from(writeRequestType.encode(writeRequestType.fromObject(request)).finish());
}

/** A snappy-compressed remote-write 1.0 body. */
export function snappyBody(series: SeriesSpec[], metadata = 0): Buffer {
  return snappy.compressSync(encodeWriteRequest(writeRequest(series, metadata)));
}

/** `count` series of `labelsPerSeries` labels each (including __name__), one sample each. */
export function manySeries(count: number, labelsPerSeries = 12, samples = 1): SeriesSpec[] {
  return Array.from({ length: count }, (_, i) => {
    const labels: Record<string, string> = { __name__: `metric_${i % 50}` };
    for (let l = 1; l < labelsPerSeries; l++) labels[`label_${l}`] = `value_${l}_${i}`;
    return { labels, samples };
  });
}

/** The headers Prometheus sends with a snappy remote-write 1.0 body, for `tenant`. */
export function remoteWriteHeaders(tenant: string): Record<string, string> {
  return {
    'content-encoding': 'snappy',
    'content-type': 'application/x-protobuf',
    'x-scope-orgid': tenant,
  };
}

/** POSTs a snappy remote-write 1.0 body to `<proxyUrl>/api/v1/push` as `tenant`; resolves to the status. */
export async function pushRemoteWrite(proxyUrl: string, tenant: string, body: Buffer): Promise<number> {
  const res = await request(`${proxyUrl}/api/v1/push`, {
    method: 'POST',
    headers: remoteWriteHeaders(tenant),
    body,
  });
  await res.body.dump();
  return res.statusCode;
}
