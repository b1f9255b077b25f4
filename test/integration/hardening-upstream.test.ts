// Upstream faults as a sender sees them: down, silent, resetting connections. Each is answered with a
// retriable 5xx and Retry-After (never a 4xx, which Prometheus would drop), and the edge recovers alone.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startFaultUpstream } from '../helpers/fault-upstream.js';
import type { FaultUpstream } from '../helpers/fault-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { freePort } from '../helpers/ports.js';
import { manySeries, snappyBody } from '../helpers/write-request.js';
import { scrapeMetrics, sumMetric } from '../helpers/prometheus.js';

const RW_HEADERS = {
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '0.1.0',
  'x-scope-orgid': 'team-a',
};
const BODY = snappyBody(manySeries(10, 4));

async function push(edge: EdgeUnderTest, body = BODY) {
  const res = await request(`${edge.proxyUrl}/api/v1/push`, { method: 'POST', headers: RW_HEADERS, body });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

describe('an upstream that is down', () => {
  let port: number;
  let edge: EdgeUnderTest;
  let upstream: FaultUpstream | undefined;
  beforeAll(async () => {
    port = await freePort();
    edge = await startEdge(`http://127.0.0.1:${port}`, { UPSTREAM_TIMEOUT: '2s' });
  });
  afterAll(async () => {
    await edge.stop();
    await upstream?.close();
  });

  it('gets 502 + Retry-After while down, and writes flow again by themselves once it is back', async () => {
    const down = await push(edge);
    expect(down.status).toBe(502);
    // Mimir's Retry-After for a first attempt: 6 s, plus up to 3 s of jitter.
    expect(Number(down.headers['retry-after'])).toBeGreaterThanOrEqual(6);
    expect(Number(down.headers['retry-after'])).toBeLessThanOrEqual(9);
    expect(down.text).toContain('err-mimir-edge-upstream-unavailable');

    upstream = await startFaultUpstream(port);
    const up = await push(edge);
    expect(up.status).toBe(200);
    expect(upstream.bodies).toHaveLength(1);
    expect(upstream.bodies[0]!.equals(BODY)).toBe(true);
    const samples = await scrapeMetrics(edge.metricsUrl);
    expect(sumMetric(samples, 'rls_upstream_errors_total', { cause: 'unavailable' })).toBe(1);
  });
});

describe('an upstream that misbehaves', () => {
  let upstream: FaultUpstream;
  let edge: EdgeUnderTest;
  beforeAll(async () => {
    upstream = await startFaultUpstream();
    edge = await startEdge(upstream.url, { UPSTREAM_TIMEOUT: '400ms' });
  });
  afterAll(async () => {
    await edge.stop();
    await upstream.close();
  });
  afterEach(() => {
    upstream.mode = 'ok';
    upstream.resetNext = 0;
    upstream.bodies.length = 0;
    upstream.arrived = 0;
  });

  it('answers 504 + Retry-After when the upstream does not answer within UPSTREAM_TIMEOUT', async () => {
    upstream.mode = 'silent';
    const started = Date.now();
    const res = await push(edge);
    expect(res.status).toBe(504);
    // Mimir's Retry-After for a first attempt: 6 s, plus up to 3 s of jitter.
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(6);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(9);
    expect(res.text).toContain('err-mimir-edge-upstream-timeout');
    expect(Date.now() - started).toBeLessThan(5000);

    upstream.mode = 'ok';
    expect((await push(edge)).status).toBe(200);
  });

  it('sends a write once more when the connection is reset before any answer, and the sender sees 200', async () => {
    upstream.resetNext = 1;
    const res = await push(edge);
    expect(res.status).toBe(200);
    expect(upstream.arrived).toBe(2);
    expect(upstream.bodies).toHaveLength(1);
    expect(upstream.bodies[0]!.equals(BODY)).toBe(true);
  });

  it('answers 502 + Retry-After when every attempt is reset, and never retries more than once', async () => {
    upstream.mode = 'reset';
    const res = await push(edge);
    expect(res.status).toBe(502);
    // Mimir's Retry-After for a first attempt: 6 s, plus up to 3 s of jitter.
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(6);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(9);
    expect(upstream.arrived).toBe(2);
  });

  it('does not resend a streamed (non-write) request body, which it no longer holds', async () => {
    upstream.resetNext = 1;
    const res = await request(`${edge.proxyUrl}/api/v1/other`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    await res.body.text();
    expect(res.statusCode).toBe(502);
    expect(upstream.arrived).toBe(1);
  });

  it('never answers a 4xx for an upstream fault, whichever fault it is', async () => {
    const statuses: number[] = [];
    for (const mode of ['silent', 'reset'] as const) {
      upstream.mode = mode;
      statuses.push((await push(edge)).status);
    }
    expect(statuses.every((s) => s >= 500 && s <= 599)).toBe(true);
  });
});
