// Decompression bombs from a tenant that has used up its request_rate: request_rate is charged before the body is
// decompressed, so the bomb gets the 429 it is owed without the edge inflating a byte. Timing-free proof: the same
// body is a 413 (decompressed_too_large) for a tenant with requests left, and a 429 with no rls_body_parse_errors_total counted
// for the tenant without; the snappy body that inflates to the cap is measured (a parse duration observed) only
// while requests are left.

import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import snappy from 'snappy';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { encodeWriteRequest, manySeries, writeRequest } from '../helpers/write-request.js';
import { scrapeMetrics, sumMetric } from '../helpers/prometheus.js';
import { startRedisServer } from '../helpers/redis-server.js';
import type { RedisServer } from '../helpers/redis-server.js';

const MAX_REQUEST_BYTES = 1024 * 1024;

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;

// `spent` may send one request per hour; its burst of one is used by the first request of each test.
const OVERRIDES = `overrides:
  spent:
    request_rate: 0.0002
    request_burst_size: 1
  spent-otlp:
    request_rate: 0.0002
    request_burst_size: 1
`;

/** 4 MiB of remote write (four times the cap) in a snappy body well under the cap. */
function snappyBomb(): Buffer {
  const one = encodeWriteRequest(writeRequest(manySeries(2000, 10)));
  const inflated = Buffer.concat(
    Array.from({ length: Math.ceil((4 * MAX_REQUEST_BYTES) / one.length) }, () => one),
  );
  return snappy.compressSync(inflated);
}

async function pushRw(tenant: string, body: Buffer) {
  const res = await request(`${edge.proxyUrl}/api/v1/push`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-scope-orgid': tenant,
    },
    body,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

async function pushOtlpGzip(tenant: string, body: Buffer) {
  const res = await request(`${edge.proxyUrl}/otlp/v1/metrics`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'gzip',
      'x-scope-orgid': tenant,
    },
    body,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

/** Bodies the decoders refused, whatever the cause: each one was decompressed (at least in part). */
async function tooLargeParses(): Promise<number> {
  return sumMetric(await scrapeMetrics(edge.metricsUrl), 'rls_body_parse_errors_total');
}

/**
 * A gzip body whose trailer lies: 8 MiB of zeros declared as 10 bytes, so only inflating it shows it is too large.
 */
function lyingGzipBomb(): Buffer {
  const bomb = Buffer.from(gzipSync(Buffer.alloc(8 * MAX_REQUEST_BYTES)));
  bomb.writeUInt32LE(10, bomb.length - 4);
  return bomb;
}

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url, { MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES) }, OVERRIDES);
});
afterAll(async () => {
  await edge.stop();
  await upstream.close();
});

describe('decompression bombs from a tenant out of requests', () => {
  it('a snappy bomb is a 413 while the tenant has a request left, then a 429 without being inflated', async () => {
    const bomb = snappyBomb();
    expect(bomb.length).toBeLessThan(MAX_REQUEST_BYTES);
    const before = await tooLargeParses();
    const first = await pushRw('spent', bomb);
    expect(first.status, first.text).toBe(413);
    expect(await tooLargeParses()).toBe(before + 1);
    for (let i = 0; i < 5; i++) {
      const again = await pushRw('spent', bomb);
      expect(again.status, again.text).toBe(429);
      expect(again.text).toContain('err-mimir-tenant-max-request-rate');
    }
    // The five 429s never reached the decompressor: no further decompressed_too_large.
    expect(await tooLargeParses()).toBe(before + 1);
    expect(upstream.requests).toHaveLength(0);
  });

  it('a gzip bomb with a lying trailer on the OTLP path: 400 once, then 429 without being inflated', async () => {
    const bomb = lyingGzipBomb();
    expect(bomb.length).toBeLessThan(MAX_REQUEST_BYTES);
    const before = await tooLargeParses();
    const first = await pushOtlpGzip('spent-otlp', bomb);
    // Stopped as soon as the output passed the 10 bytes its trailer declares, not after MAX_REQUEST_BYTES.
    expect(first.status, first.text).toBe(400);
    expect(first.text).toMatch(/inflates past the 10 bytes its trailer declares/);
    expect(await tooLargeParses()).toBe(before + 1);
    const again = await pushOtlpGzip('spent-otlp', bomb);
    expect(again.status, again.text).toBe(429);
    expect(await tooLargeParses()).toBe(before + 1);
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('with the buckets in Redis', () => {
  let redis: RedisServer;
  let shared: EdgeUnderTest;

  beforeAll(async () => {
    redis = await startRedisServer();
    shared = await startEdge(
      upstream.url,
      { MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES), REDIS_ADDRESS: redis.address },
      'overrides:\n  three:\n    request_rate: 0.0002\n    request_burst_size: 3\n    ingestion_rate: 1\n    ingestion_burst_size: 100\n',
    );
  });
  afterAll(async () => {
    await shared?.stop();
    await redis?.stop();
  });

  it('charges each request once (request bucket before decompression, ingestion after), then 429s bombs unread', async () => {
    const push = async (body: Buffer) => {
      const res = await request(`${shared.proxyUrl}/api/v1/push`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-protobuf',
          'content-encoding': 'snappy',
          'x-scope-orgid': 'three',
        },
        body,
      });
      return { status: res.statusCode, text: await res.body.text() };
    };
    upstream.requests.length = 0;
    // Three requests of 40 samples each: the burst of three requests is used once each, and the third is over
    // the 100-sample ingestion burst (40 + 40 + 40 > 100), so it is a 429 for ingestion_rate, not request_rate.
    const body = snappy.compressSync(encodeWriteRequest(writeRequest(manySeries(40, 3))));
    expect((await push(body)).status).toBe(200);
    expect((await push(body)).status).toBe(200);
    const third = await push(body);
    expect(third.status, third.text).toBe(429);
    expect(third.text).toContain('err-mimir-tenant-max-ingestion-rate');
    // The request bucket is empty now: a bomb gets request_rate's 429 without being decompressed.
    const before = sumMetric(await scrapeMetrics(shared.metricsUrl), 'rls_body_parse_errors_total');
    const bomb = await push(snappyBomb());
    expect(bomb.status, bomb.text).toBe(429);
    expect(bomb.text).toContain('err-mimir-tenant-max-request-rate');
    expect(sumMetric(await scrapeMetrics(shared.metricsUrl), 'rls_body_parse_errors_total')).toBe(before);
    expect(upstream.requests).toHaveLength(2);
  });
});
