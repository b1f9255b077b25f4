// End to end into a real Prometheus receiver (Debian's, with --web.enable-remote-write-receiver):
// - partial acceptance: the valid series of a mixed request are stored, the invalid one is not, and the sender
//   gets Mimir's 400 naming it;
// - selective filtering: an over-budget request stores the series that fit, the sender gets 429 + Retry-After,
//   and its retry of the same request (as Prometheus retries) delivers only the rest: every sample arrives once,
//   none is refused as out of order.

import { request } from 'undici';
import snappy from 'snappy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { sleep, stopAllProcesses } from '../helpers/child-process.js';
import { requireDebianBinary } from '../helpers/debian.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { startPrometheus } from '../helpers/prometheus.js';
import type { PrometheusInstance } from '../helpers/prometheus.js';
import { encodeWriteRequest, writeRequest } from '../helpers/write-request.js';
import type { SeriesSpec } from '../helpers/write-request.js';

/** 6 items/s and a burst of 12: a 12-item request passes whole only once the bucket is full again. */
const SELECTIVE = { ingestion_rate: 6, ingestion_burst_size: 12, selective_filtering: true };

let receiver: PrometheusInstance | undefined;
let edge: EdgeUnderTest | undefined;

beforeAll(async () => {
  requireDebianBinary('prometheus', 'prometheus');
  receiver = await startPrometheus({ name: 'receiver', config: { global: {} }, remoteWriteReceiver: true });
  const overrides = stringify({
    overrides: { mixed: { max_label_value_length: 8 }, selective: SELECTIVE },
  });
  edge = await startEdge(receiver.url, {}, overrides);
}, 60_000);

afterAll(async () => {
  await edge?.stop();
  await stopAllProcesses();
}, 30_000);

/** A remote-write 1.0 body of `series` whose samples are stamped from `atMs` on, one second apart. */
function body(series: SeriesSpec[], atMs: number): Buffer {
  const req = writeRequest(series);
  for (const ts of req.timeseries) ts.samples.forEach((s, i) => (s.timestamp = atMs + i * 1000));
  return snappy.compressSync(encodeWriteRequest(req));
}

async function push(
  tenant: string,
  payload: Buffer,
): Promise<{ status: number; text: string; retryAfter: string | undefined }> {
  const res = await request(`${edge!.proxyUrl}/api/v1/write`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '0.1.0',
      'x-scope-orgid': tenant,
    },
    body: payload,
  });
  const retryAfter = res.headers['retry-after'];
  return {
    status: res.statusCode,
    text: await res.body.text(),
    retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
  };
}

/** Sample timestamps (ms) the receiver holds, by the series' `name` label. */
async function stored(selector: string): Promise<Map<string, number[]>> {
  const series = await receiver!.rawSamples(selector, 600, Date.now() / 1000 + 60);
  return new Map(
    series.map((s) => [
      s.metric['name'] ?? '?',
      s.values.map(([t]) => Math.round(t * 1000)).sort((a, b) => a - b),
    ]),
  );
}

describe('a mixed request through the edge into Prometheus (partial acceptance)', () => {
  it('stores the valid series, not the invalid one, and answers Mimir’s 400 naming it', async () => {
    const at = Date.now() - 5_000;
    const res = await push(
      'mixed',
      body(
        [
          { labels: { __name__: 'mx', name: 'ok_1' } },
          { labels: { __name__: 'mx', name: 'bad', job: 'much-too-long-value' } },
          { labels: { __name__: 'mx', name: 'ok_2' } },
        ],
        at,
      ),
    );
    expect(res.status).toBe(400);
    expect(res.text).toContain('err-mimir-label-value-too-long');
    expect(res.text).toContain('much-too-long-value');
    const got = await stored('mx');
    expect([...got.keys()].sort()).toEqual(['ok_1', 'ok_2']);
    expect(got.get('ok_1')).toEqual([at]);
  }, 30_000);
});

describe('an over-budget request with selective filtering, into Prometheus', () => {
  it('stores the series that fit, answers 429 with Retry-After, and the retried request fills in the rest', async () => {
    const at = Date.now() - 60_000;
    const series = (names: string[]): SeriesSpec[] =>
      names.map((name) => ({ labels: { __name__: 'selective_metric', name }, samples: 3 }));
    // 6 of the 12 tokens go to a first request, so the next 12-item request finds 6 (and a few ms of refill).
    const first = await push('selective', body(series(['warm_1', 'warm_2']), at));
    expect(first.status, first.text).toBe(204);

    const whole = body(series(['s_1', 's_2', 's_3', 's_4']), at);
    const partly = await push('selective', whole);
    expect(partly.status, partly.text).toBe(429);
    expect(partly.text).toContain('err-mimir-tenant-max-ingestion-rate');
    expect(partly.text).toContain('2 of its series (6 items) were forwarded, 2 of 4 so far');
    expect(
      Number(partly.retryAfter),
      'Retry-After: until the whole request fits again',
    ).toBeGreaterThanOrEqual(1);
    const afterPart = await stored('selective_metric{name=~"s_.*"}');
    expect([...afterPart.keys()].sort(), 'only the series that fit are stored').toEqual(['s_1', 's_2']);

    // The sender retries the same bytes after Retry-After, as Prometheus does with retry_on_http_429; the edge
    // forwards only s_3 and s_4 (resending s_1's older samples would be refused as out of order).
    let retried = partly;
    for (let attempt = 0; attempt < 10 && retried.status === 429; attempt++) {
      await sleep(Number(retried.retryAfter ?? '1') * 1000);
      retried = await push('selective', whole);
    }
    expect(retried.status, `the rest of the retry is stored: ${retried.text}`).toBe(204);
    const all = await stored('selective_metric{name=~"s_.*"}');
    const stamps = [at, at + 1000, at + 2000];
    expect([...all.keys()].sort()).toEqual(['s_1', 's_2', 's_3', 's_4']);
    for (const [name, got] of all) expect(got, `samples of ${name}: none lost, none doubled`).toEqual(stamps);
  }, 60_000);
});
