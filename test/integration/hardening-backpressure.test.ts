// Backpressure over real sockets: past MAX_INFLIGHT_REQUESTS or MAX_INFLIGHT_BYTES a sender gets 503 +
// Retry-After at once (never a queue), and the slots come back when requests finish or clients leave.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startFaultUpstream } from '../helpers/fault-upstream.js';
import type { FaultUpstream } from '../helpers/fault-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { manySeries, snappyBody } from '../helpers/write-request.js';
import { scrapeMetrics } from '../helpers/prometheus.js';

const RW_HEADERS = {
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '0.1.0',
};

let upstream: FaultUpstream;
let edge: EdgeUnderTest;

async function push(body: Buffer, tenant = 'team-a', signal?: AbortSignal) {
  const res = await request(`${edge.proxyUrl}/api/v1/push`, {
    method: 'POST',
    headers: { ...RW_HEADERS, 'x-scope-orgid': tenant },
    body,
    ...(signal ? { signal } : {}),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const samples = await scrapeMetrics(edge.metricsUrl);
  const found = samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return found?.value ?? 0;
}

// 1,000 bytes of budget: one ~700-byte body fits, a second does not while the first is held.
const BODY = snappyBody(manySeries(20, 6));

beforeAll(async () => {
  upstream = await startFaultUpstream();
  edge = await startEdge(upstream.url, {
    MAX_INFLIGHT_REQUESTS: '2',
    MAX_INFLIGHT_BYTES: String(Math.floor(BODY.length * 1.5)),
  });
});
afterAll(async () => {
  upstream.release();
  await edge.stop();
  await upstream.close();
});
afterEach(() => {
  upstream.mode = 'ok';
  upstream.release();
});

describe('bounded in-flight requests', () => {
  it('answers 503 + Retry-After past MAX_INFLIGHT_REQUESTS, then admits again once requests finish', async () => {
    upstream.mode = 'hold';
    const small = snappyBody(manySeries(1, 2));
    const first = push(small);
    const second = push(small);
    await until('two requests held upstream', () => upstream.held === 2);

    const third = await push(small);
    expect(third.status).toBe(503);
    // Mimir's Retry-After for a first attempt: 6 s, plus up to 3 s of jitter.
    expect(Number(third.headers['retry-after'])).toBeGreaterThanOrEqual(6);
    expect(Number(third.headers['retry-after'])).toBeLessThanOrEqual(9);
    expect(third.text).toContain('err-mimir-edge-overloaded');
    expect(third.text).toContain('MAX_INFLIGHT_REQUESTS');
    expect(await metric('rls_overload_rejections_total', { limit: 'requests' })).toBe(1);
    expect(await metric('rls_inflight_requests')).toBe(2);

    upstream.mode = 'ok';
    upstream.release();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    expect((await push(small)).status).toBe(200);
    expect(await metric('rls_inflight_requests')).toBe(0);
  });

  it('gives the slot back when a client gives up while the upstream is still working', async () => {
    upstream.mode = 'hold';
    const small = snappyBody(manySeries(1, 2));
    const controllers = [new AbortController(), new AbortController()];
    const abandoned = controllers.map((c) => push(small, 'team-a', c.signal).catch(() => 'aborted'));
    await until('two requests held upstream', () => upstream.held === 2);
    for (const c of controllers) c.abort();
    expect(await Promise.all(abandoned)).toEqual(['aborted', 'aborted']);

    // Both slots must be free again, or every later request would be refused with 503.
    const deadline = Date.now() + 5000;
    while ((await metric('rls_inflight_requests')) !== 0) {
      if (Date.now() > deadline) throw new Error('the abandoned requests still hold their in-flight slots');
      await new Promise((r) => setTimeout(r, 20));
    }
    upstream.mode = 'ok';
    const results = await Promise.all([push(small), push(small)]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    expect(await metric('rls_inflight_bytes')).toBe(0);
  });
});

describe('bounded in-flight bytes', () => {
  it('answers 503 for a body that does not fit beside the bodies held, and takes it once they are gone', async () => {
    upstream.mode = 'hold';
    const first = push(BODY);
    await until('one request held upstream', () => upstream.held === 1);

    const second = await push(BODY, 'team-b');
    expect(second.status).toBe(503);
    // Mimir's Retry-After for a first attempt: 6 s, plus up to 3 s of jitter.
    expect(Number(second.headers['retry-after'])).toBeGreaterThanOrEqual(6);
    expect(Number(second.headers['retry-after'])).toBeLessThanOrEqual(9);
    expect(second.text).toContain('MAX_INFLIGHT_BYTES');
    expect(await metric('rls_inflight_bytes')).toBe(BODY.length);

    upstream.mode = 'ok';
    upstream.release();
    expect((await first).status).toBe(200);
    const retried = await push(BODY, 'team-b');
    expect(retried.status).toBe(200);
    expect(upstream.bodies.at(-1)!.equals(BODY)).toBe(true);
  });

  it('admits a body larger than MAX_INFLIGHT_BYTES when it is the only one, so no valid write is refused forever', async () => {
    const big = snappyBody(manySeries(60, 6));
    expect(big.length).toBeGreaterThan(BODY.length * 1.5);
    const res = await push(big);
    expect(res.status).toBe(200);
  });
});
