// A body labelled as another format than it is, through the real proxy: a remote write 1.0 body sent with the
// remote write 2.0 Content-Type used to be measured as zero items and forwarded, so a tenant over its ingestion
// rate could write anything. Every mislabelled body is now a 400 err-mimir-edge-invalid-body that names the
// field, and nothing reaches the upstream.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import snappy from 'snappy';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { encodeWriteRequest, manySeries, writeRequest } from '../helpers/write-request.js';
import { RW2_CONTENT_TYPE, encodeRw2, rw2Request } from '../helpers/rw2-request.js';
import { encodeOtlpProto, otlpRequest } from '../helpers/otlp-request.js';

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;

// 10 samples per second, no burst beyond that: a 1,000-sample body is over budget whatever its label.
const OVERRIDES = `overrides:
  tight:
    ingestion_rate: 10
    ingestion_burst_size: 10
`;

async function post(path: string, headers: Record<string, string>, body: Buffer) {
  const res = await request(`${edge.proxyUrl}${path}`, {
    method: 'POST',
    headers: { 'x-scope-orgid': 'tight', ...headers },
    body,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

const rw1 = encodeWriteRequest(writeRequest(manySeries(100, 4, 10)));
const rw2 = encodeRw2(
  rw2Request(Array.from({ length: 100 }, (_, i) => ({ labels: { __name__: `m${i}` }, samples: 10 }))),
);
const otlp = encodeOtlpProto(
  otlpRequest([
    {
      attributes: { 'service.name': 'a' },
      metrics: [
        { name: 'm', kind: 'gauge', points: Array.from({ length: 100 }, () => ({ attributes: {} })) },
      ],
    },
  ]),
);

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url, {}, OVERRIDES);
});
afterAll(async () => {
  await edge.stop();
  await upstream.close();
});
afterEach(() => {
  upstream.requests.length = 0;
});

describe('a body whose fields do not fit the format its Content-Type names', () => {
  const RW = { 'content-encoding': 'snappy' };
  const cases: [string, string, Record<string, string>, Buffer, RegExp][] = [
    [
      'remote write 1.0 labelled 2.0',
      '/api/v1/push',
      { ...RW, 'content-type': RW2_CONTENT_TYPE },
      snappy.compressSync(rw1),
      /field 1 \(length-delimited\) is not a field of io\.prometheus\.write\.v2\.Request/,
    ],
    [
      'remote write 2.0 labelled 1.0',
      '/api/v1/push',
      { ...RW, 'content-type': 'application/x-protobuf' },
      snappy.compressSync(rw2),
      /field 4 \(length-delimited\) is not a field of prometheus\.WriteRequest/,
    ],
    [
      'OTLP labelled remote write 2.0',
      '/api/v1/push',
      { ...RW, 'content-type': RW2_CONTENT_TYPE },
      snappy.compressSync(otlp),
      /field 1 .* is not a field of io\.prometheus\.write\.v2\.Request/,
    ],
    [
      'remote write 2.0 sent as OTLP protobuf',
      '/otlp/v1/metrics',
      { 'content-type': 'application/x-protobuf' },
      rw2,
      /field 4 .* is not a field of ExportMetricsServiceRequest/,
    ],
    [
      'remote write 1.0 sent as OTLP JSON',
      '/otlp/v1/metrics',
      { 'content-type': 'application/json' },
      rw1,
      /not a valid OTLP metrics message: invalid OTLP JSON/,
    ],
  ];

  it.each(cases)(
    '%s: 400 err-mimir-edge-invalid-body, nothing forwarded',
    async (_, path, headers, body, why) => {
      const res = await post(path, headers, body);
      expect(res.status, res.text).toBe(400);
      expect(res.text).toContain('err-mimir-edge-invalid-body');
      expect(res.text).toMatch(why);
      expect(upstream.requests).toHaveLength(0);
    },
  );

  it('the same bodies under their own Content-Type are measured and refused for the ingestion rate', async () => {
    const own = await post(
      '/api/v1/push',
      { ...RW, 'content-type': RW2_CONTENT_TYPE },
      snappy.compressSync(rw2),
    );
    expect(own.status, own.text).toBe(429);
    expect(upstream.requests).toHaveLength(0);
  });
});
