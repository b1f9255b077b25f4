// Selective filtering through the real proxy (a client → the edge → a recording upstream), on a clock the test
// holds still: the series that fit the tokens left go upstream, the client gets 429 + Retry-After for the rest,
// a tenant without the option gets the whole 429 as before, and an upstream failure is relayed as it came.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import snappy from 'snappy';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { scrapeMetrics, sumMetric } from '../helpers/prometheus.js';
import { snappyBody, writeRequestType } from '../helpers/write-request.js';
import type { SeriesSpec } from '../helpers/write-request.js';

// Rate 1 item/s on a clock that does not move: the bucket only empties.
const LIMITS = 'ingestion_rate: 1\n    ingestion_burst_size: 10';
const OVERRIDES = `
overrides:
  selective:
    ${LIMITS}
    selective_filtering: true
  selective-b:
    ${LIMITS}
    selective_filtering: true
  selective-c:
    ${LIMITS}
    selective_filtering: true
  plain:
    ${LIMITS}
`;

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
const clock = { ms: 1_700_000_000_000 };

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url, {}, OVERRIDES, () => clock.ms);
});
afterAll(async () => {
  await edge.stop();
  await upstream.close();
});
afterEach(() => {
  upstream.requests.length = 0;
  upstream.respond.status = 200;
  upstream.respond.body = '';
});

async function push(tenant: string, body: Buffer) {
  const res = await request(`${edge.proxyUrl}/api/v1/push`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-scope-orgid': tenant,
    },
    body,
  });
  return { status: res.statusCode, text: await res.body.text(), retryAfter: res.headers['retry-after'] };
}

function receivedNames(): string[] {
  expect(upstream.requests, 'requests that reached the upstream').toHaveLength(1);
  const decoded = writeRequestType.toObject(
    writeRequestType.decode(snappy.uncompressSync(upstream.requests[0]!.body) as Buffer),
  ) as { timeseries: { labels: { name: string; value: string }[] }[] };
  return decoded.timeseries.map((t) => t.labels.find((l) => l.name === '__name__')!.value);
}

/** Four series of three samples: 12 items, two more than the burst. */
const FOUR: SeriesSpec[] = ['s1', 's2', 's3', 's4'].map((n) => ({ labels: { __name__: n }, samples: 3 }));

describe('selective filtering (selective_filtering: true)', () => {
  it('forwards the series that fit, answers 429 with Retry-After, and sends only the rest on the retry', async () => {
    const body = snappyBody(FOUR);
    const res = await push('selective', body);
    expect(res.status).toBe(429);
    // Mimir's Retry-After for a first attempt (6 s, up to 3 s of jitter), as on any 429: longer than the 2 s the
    // rest (s4, 3 items, 1 token left at 1 item/s) needs to fit.
    expect(Number(res.retryAfter)).toBeGreaterThanOrEqual(6);
    expect(Number(res.retryAfter)).toBeLessThanOrEqual(9);
    expect(res.text).toContain('3 of its series (9 items) were forwarded, 3 of 4 so far');
    expect(res.text).toContain('err-mimir-tenant-max-ingestion-rate');
    expect(receivedNames()).toEqual(['s1', 's2', 's3']);
    expect(upstream.requests[0]!.headers['content-encoding']).toBe('snappy');

    // Retried too early: the rest does not fit yet, and nothing is forwarded (the delivered part least of all).
    upstream.requests.length = 0;
    const early = await push('selective', body);
    expect(early.status).toBe(429);
    expect(early.text).toContain('carries 3 items');
    expect(upstream.requests).toHaveLength(0);

    // After Retry-After the same bytes come again: only s4 goes, and the upstream's own answer is the client's.
    clock.ms += 2_000;
    upstream.respond.body = 'stored';
    const retried = await push('selective', body);
    expect(retried.status).toBe(200);
    expect(retried.text).toBe('stored');
    expect(receivedNames()).toEqual(['s4']);

    // Complete: the same bytes once more are a new request, decided whole.
    upstream.requests.length = 0;
    clock.ms += 10_000;
    const again = await push('selective', body);
    expect(again.status).toBe(429);
    expect(receivedNames()).toEqual(['s1', 's2', 's3']);

    const metrics = await scrapeMetrics(edge.metricsUrl);
    expect(sumMetric(metrics, 'rls_selective_filter_total', { outcome: 'part_forwarded' })).toBe(2);
  });

  it('does not remember a part the upstream refused: the retry starts from the first series', async () => {
    upstream.respond.status = 503;
    const body = snappyBody(FOUR);
    expect((await push('selective-c', body)).status).toBe(503);
    expect(receivedNames()).toEqual(['s1', 's2', 's3']);
    upstream.requests.length = 0;
    upstream.respond.status = 200;
    clock.ms += 20_000;
    expect((await push('selective-c', body)).status).toBe(429);
    expect(receivedNames()).toEqual(['s1', 's2', 's3']);
  });

  it('relays the upstream’s own failure for the forwarded part, so the sender retries and loses nothing', async () => {
    upstream.respond.status = 500;
    upstream.respond.body = 'ingesters unavailable';
    const res = await push('selective-b', snappyBody(FOUR));
    expect(res.status).toBe(500);
    expect(res.text).toBe('ingesters unavailable');
    expect(receivedNames()).toEqual(['s1', 's2', 's3']);
  });

  it('is off by default: the whole request gets the 429 and nothing is forwarded', async () => {
    const res = await push('plain', snappyBody(FOUR));
    expect(res.status).toBe(429);
    expect(upstream.requests).toHaveLength(0);
  });
});
