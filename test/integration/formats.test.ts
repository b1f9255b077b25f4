// Every write format over real sockets: a sender → the edge → a recording upstream. Asserts what a sender sees
// (status, text, relayed headers) and what the upstream receives (the exact bytes, or nothing).

import { gunzipSync, gzipSync } from 'node:zlib';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { encodeOtlpJson, encodeOtlpProto, otlpRequest, otlpRequestType } from '../helpers/otlp-request.js';
import type { OtlpResourceSpec } from '../helpers/otlp-request.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { RW2_CONTENT_TYPE, rw2SnappyBody } from '../helpers/rw2-request.js';
import { snappyBody, manySeries } from '../helpers/write-request.js';

const OVERRIDES = `
overrides:
  tight:
    ingestion_rate: 1
    ingestion_burst_size: 10
    max_global_exemplars_per_user: 100000 # exemplars count towards ingestion_rate only when enabled, as in Mimir
  short-values:
    max_label_value_length: 20
`;

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url, { MAX_REQUEST_BYTES: String(4 << 20) }, OVERRIDES);
});

afterAll(async () => {
  await edge.stop();
  await upstream.close();
});

beforeEach(() => {
  upstream.requests.length = 0;
  upstream.respond.status = 200;
  upstream.respond.headers = {};
  upstream.respond.body = '';
});

async function post(path: string, body: Buffer, headers: Record<string, string>) {
  const res = await request(`${edge.proxyUrl}${path}`, { method: 'POST', body, headers });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

const rw2 = (tenant: string) => ({
  'x-scope-orgid': tenant,
  'content-type': RW2_CONTENT_TYPE,
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '2.0.0',
});

const oneGauge = (points: number, attributes: Record<string, string> = {}): OtlpResourceSpec[] => [
  {
    attributes: { 'service.name': 'api' },
    metrics: [{ name: 'up', kind: 'gauge', points: Array.from({ length: points }, () => ({ attributes })) }],
  },
];

describe('remote write 2.0', () => {
  it('forwards the exact bytes and relays the X-Prometheus-Remote-Write-*-Written headers untouched', async () => {
    upstream.respond.status = 204;
    upstream.respond.headers = {
      'x-prometheus-remote-write-samples-written': '3',
      'x-prometheus-remote-write-histograms-written': '1',
      'x-prometheus-remote-write-exemplars-written': '0',
    };
    const body = rw2SnappyBody([
      { labels: { __name__: 'up', job: 'a' }, samples: 3 },
      { labels: { __name__: 'lat', job: 'a' }, samples: 0, histograms: 1 },
    ]);
    const res = await post('/api/v1/push', body, rw2('team-a'));
    expect(res.status).toBe(204);
    expect(res.headers['x-prometheus-remote-write-samples-written']).toBe('3');
    expect(res.headers['x-prometheus-remote-write-histograms-written']).toBe('1');
    expect(res.headers['x-prometheus-remote-write-exemplars-written']).toBe('0');
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requests[0]!.body.equals(body)).toBe(true);
    expect(upstream.requests[0]!.headers['content-type']).toBe(RW2_CONTENT_TYPE);
  });

  it('charges every sample, histogram and exemplar to ingestion_rate', async () => {
    // 8 samples + 1 histogram + 2 exemplars = 11 items, more than the burst of 10: never accepted.
    const body = rw2SnappyBody([{ labels: { __name__: 'up' }, samples: 8, histograms: 1, exemplars: 2 }]);
    const res = await post('/api/v1/push', body, rw2('tight'));
    expect(res.status).toBe(429);
    expect(res.text).toMatch(/this request carries 11 items/);
    expect(upstream.requests).toHaveLength(0);
  });

  it('names the series through the symbols table when a label value is too long', async () => {
    const body = rw2SnappyBody([{ labels: { __name__: 'up', path: '/a/very/long/path/value' } }]);
    const res = await post('/api/v1/push', body, rw2('short-values'));
    expect(res.status).toBe(400);
    expect(res.text).toContain(`series: 'up{path="/a/very/long/path/value"}'`);
  });

  it('answers 415 for an unknown proto= and forwards nothing', async () => {
    const res = await post('/api/v1/push', snappyBody(manySeries(1)), {
      ...rw2('team-a'),
      'content-type': 'application/x-protobuf;proto=io.prometheus.write.v9.Request',
    });
    expect(res.status).toBe(415);
    expect(res.text).toMatch(/unsupported remote-write message io\.prometheus\.write\.v9\.Request/);
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('OTLP metrics', () => {
  const otlp = (tenant: string, type: string, encoding?: string) => ({
    'x-scope-orgid': tenant,
    'content-type': type,
    ...(encoding ? { 'content-encoding': encoding } : {}),
  });

  it('forwards protobuf and JSON bodies, gzip or not, byte for byte', async () => {
    const request = otlpRequest(oneGauge(2));
    const bodies: [string, string | undefined, Buffer][] = [
      ['application/x-protobuf', undefined, encodeOtlpProto(request)],
      ['application/x-protobuf', 'gzip', gzipSync(encodeOtlpProto(request))],
      ['application/json', undefined, encodeOtlpJson(request)],
      ['application/json', 'gzip', gzipSync(encodeOtlpJson(request))],
    ];
    for (const [type, encoding, body] of bodies) {
      const res = await post('/otlp/v1/metrics', body, otlp('team-a', type, encoding));
      expect(res.status, `${type} ${encoding ?? 'uncompressed'}`).toBe(200);
    }
    expect(upstream.requests.map((r) => r.url)).toEqual(Array(4).fill('/otlp/v1/metrics'));
    upstream.requests.forEach((r, i) => expect(r.body.equals(bodies[i]![2])).toBe(true));
  });

  it('charges data points as Mimir translates them into samples', async () => {
    // A classic histogram point with a sum and 3 bounds is sum + count + 3 buckets + +Inf = 6 samples;
    // two of them, plus one metadata entry, are 13 items: more than the burst of 10.
    const resources: OtlpResourceSpec[] = [
      {
        attributes: {},
        metrics: [
          {
            name: 'latency',
            kind: 'histogram',
            points: [
              { attributes: { a: '1' }, buckets: 3, hasSum: true },
              { attributes: { a: '2' }, buckets: 3, hasSum: true },
            ],
          },
        ],
      },
    ];
    const res = await post(
      '/otlp/v1/metrics',
      encodeOtlpProto(otlpRequest(resources)),
      otlp('tight', 'application/x-protobuf'),
    );
    expect(res.status).toBe(429);
    expect(res.text).toMatch(/this request carries 13 items/);
    expect(upstream.requests).toHaveLength(0);
  });

  it('checks point and resource attributes against the label limits', async () => {
    const body = encodeOtlpJson(otlpRequest(oneGauge(1, { route: '/a/very/long/route/value' })));
    const res = await post('/otlp/v1/metrics', body, otlp('short-values', 'application/json'));
    expect(res.status).toBe(400);
    // Mimir's OTLP handler words a value too long in OTel terms (pkg/distributor/otel.go otelAttributeValueTooLongError).
    expect(res.text).toContain(`metric: 'up{route="/a/very/long/route/value", job="api"}'`);
  });

  it('forwards the valid points of an OTLP request and answers 400 for the rest (partial acceptance)', async () => {
    const resources: OtlpResourceSpec[] = [
      {
        attributes: { 'service.name': 'api' },
        metrics: [
          { name: 'up', kind: 'gauge', points: [{ attributes: { zone: 'a' } }] },
          { name: 'bad', kind: 'gauge', points: [{ attributes: { route: '/a/very/long/route/value' } }] },
          { name: 'down', kind: 'gauge', points: [{ attributes: { zone: 'b' } }] },
        ],
      },
    ];
    const body = gzipSync(encodeOtlpProto(otlpRequest(resources)));
    const res = await post('/otlp/v1/metrics', body, otlp('short-values', 'application/x-protobuf', 'gzip'));
    expect(res.status).toBe(400);
    // Mimir's OTLP wording for err-mimir-label-value-too-long (pkg/distributor/otel.go), which quotes no id.
    expect(res.text).toContain('received a metric whose attribute value length of 24 exceeds the limit');
    expect(res.text).toContain(`metric: 'bad{route="/a/very/long/route/value", job="api"}'`);
    expect(upstream.requests).toHaveLength(1);
    const sent = upstream.requests[0]!;
    expect(sent.headers['content-encoding']).toBe('gzip');
    const forwarded = otlpRequestType.toObject(otlpRequestType.decode(gunzipSync(sent.body))) as {
      resourceMetrics: { scopeMetrics: { metrics: { name: string }[] }[] }[];
    };
    const names = forwarded.resourceMetrics.flatMap((r) =>
      r.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.name)),
    );
    expect(names).toEqual(['up', 'down']);

    // OTLP/JSON the same way, uncompressed.
    upstream.requests.length = 0;
    const json = encodeOtlpJson(otlpRequest(resources));
    const jsonRes = await post('/otlp/v1/metrics', json, otlp('short-values', 'application/json'));
    expect(jsonRes.status).toBe(400);
    expect(jsonRes.text).toContain('received a metric whose attribute value length of 24 exceeds the limit');
    expect(upstream.requests).toHaveLength(1);
    const sentJson = JSON.parse(upstream.requests[0]!.body.toString('utf8')) as typeof forwarded;
    expect(
      sentJson.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.name))),
    ).toEqual(['up', 'down']);
  });

  it('answers 413 for a gzip bomb and keeps serving', async () => {
    const bomb = gzipSync(Buffer.alloc(64 << 20));
    const res = await post('/otlp/v1/metrics', bomb, otlp('team-a', 'application/x-protobuf', 'gzip'));
    expect(res.status).toBe(413);
    expect(upstream.requests).toHaveLength(0);
    const ok = await post(
      '/otlp/v1/metrics',
      encodeOtlpProto(otlpRequest(oneGauge(1))),
      otlp('team-a', 'application/x-protobuf'),
    );
    expect(ok.status).toBe(200);
  });

  it('answers 400 for a body that is not what its Content-Type says, and 415 for an unknown one', async () => {
    const bad = await post(
      '/otlp/v1/metrics',
      Buffer.from('{"resourceMetrics": 3}'),
      otlp('team-a', 'application/json'),
    );
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/invalid OTLP JSON: resourceMetrics is not an array/);
    const unknown = await post('/otlp/v1/metrics', Buffer.from('x'), otlp('team-a', 'text/plain'));
    expect(unknown.status).toBe(415);
    expect(upstream.requests).toHaveLength(0);
  });
});
