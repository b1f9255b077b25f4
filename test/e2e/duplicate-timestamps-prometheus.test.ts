// End to end into a real Prometheus receiver (Debian's 2.42, --web.enable-remote-write-receiver): a request whose
// series repeat samples with the same timestamp is charged once per distinct (series, timestamp) against
// ingestion_rate. The burst is tight: charged per sample the request would get 429; charged once it passes.
//
// Mimir's behaviour reproduced (grafana/mimir):
// - pkg/distributor/distributor.go validateSamples: in one series, a sample whose timestamp an earlier sample of
//   the series already has is dropped, keeping the first, before the ingestion rate limit is charged.
// - pkg/distributor/distributor_test.go TestDistributor_SampleDuplicateTimestamp, cases "deduplicate duplicated
//   timestamps within a single timeseries, ..." and "do not deduplicate duplicated timestamps in different
//   timeseries". (Those Mimir versions also answer 400 err-mimir-sample-duplicate-timestamp after pushing the
//   kept samples; the edge forwards the body as sent and relays the upstream's answer, see the deliberate
//   differences in docs/mimir-compatibility.md.)
//
// Prometheus 2.42 as the receiver does the same with such a request: it answers 204 and stores the first sample of
// each timestamp of a series (a later repeat is not appended), so what it holds is what Mimir would ingest.

import { request } from 'undici';
import snappy from 'snappy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { z } from 'zod';
import { stopAllProcesses } from '../helpers/child-process.js';
import { requireDebianBinary } from '../helpers/debian.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { scrapeMetrics, startPrometheus, sumMetric } from '../helpers/prometheus.js';
import type { PrometheusInstance } from '../helpers/prometheus.js';
import { encodeWriteRequest } from '../helpers/write-request.js';

/** 1 item/s and a bucket of 15: 12 distinct samples fit, the 36 samples sent do not. */
const LIMITS = { ingestion_rate: 1, ingestion_burst_size: 15 };
const TENANT = 'dup-stamps';
/** The same limits, sent 36 distinct samples: shows the limit refuses what 36 charged items would cost. */
const CONTROL_TENANT = 'dup-stamps-control';

/**
 * Per series, the samples' timestamps as offsets in seconds, in the order sent: 4 distinct timestamps each sent 3
 * times, repeated next to each other, apart, and out of order between the repeats (Mimir's rule is "seen
 * anywhere earlier in the series", not "equal to the previous one").
 */
const SERIES: Record<string, number[]> = {
  adjacent: [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3],
  apart: [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3],
  mixed: [0, 1, 1, 0, 2, 3, 2, 3, 3, 2, 1, 0],
};
const SENT = Object.values(SERIES).reduce((n, s) => n + s.length, 0);
const DISTINCT = Object.values(SERIES).reduce((n, s) => n + new Set(s).size, 0);

let receiver: PrometheusInstance | undefined;
let edge: EdgeUnderTest | undefined;

beforeAll(async () => {
  requireDebianBinary('prometheus', 'prometheus');
  receiver = await startPrometheus({ name: 'receiver', config: { global: {} }, remoteWriteReceiver: true });
  edge = await startEdge(
    receiver.url,
    {},
    stringify({ overrides: { [TENANT]: LIMITS, [CONTROL_TENANT]: LIMITS } }),
  );
}, 60_000);

afterAll(async () => {
  await edge?.stop();
  await stopAllProcesses();
}, 30_000);

/**
 * A snappy remote-write 1.0 body: series `dup_metric{name, run}` with one sample per offset (seconds after `atMs`);
 * the i-th sample sent in a series has the value i + 1, so what is stored tells which copy was kept.
 */
function body(run: string, series: Record<string, number[]>, atMs: number): Buffer {
  return snappy.compressSync(
    encodeWriteRequest({
      timeseries: Object.entries(series).map(([name, offsets]) => ({
        labels: [
          { name: '__name__', value: 'dup_metric' },
          { name: 'name', value: name },
          { name: 'run', value: run },
        ],
        samples: offsets.map((s, i) => ({ value: i + 1, timestamp: atMs + s * 1000 })),
        exemplars: [],
        histograms: [],
      })),
      metadata: [],
    }),
  );
}

async function push(tenant: string, payload: Buffer): Promise<{ status: number; text: string }> {
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
  return { status: res.statusCode, text: await res.body.text() };
}

/** What the receiver holds for `run`: by series name, [offset in seconds from atMs, value] in time order. */
async function stored(run: string, atMs: number): Promise<Map<string, [number, number][]>> {
  const series = await receiver!.rawSamples(`dup_metric{run="${run}"}`, 600, Date.now() / 1000 + 60);
  return new Map(
    series.map((s) => [
      s.metric['name'] ?? '?',
      s.values.map(([t, v]): [number, number] => [(Math.round(t * 1000) - atMs) / 1000, Number(v)]),
    ]),
  );
}

/** Mimir's (and Prometheus's) result: the first sample sent for each timestamp, in time order. */
function firstOfEachTimestamp(offsets: number[]): [number, number][] {
  const first = new Map<number, number>();
  offsets.forEach((s, i) => {
    if (!first.has(s)) first.set(s, i + 1);
  });
  return [...first].sort((a, b) => a[0] - b[0]);
}

const tenantView = z.object({
  stats: z.object({ samples_allowed: z.number(), samples_denied: z.number() }),
  buckets: z.object({ samples: z.object({ tokens: z.number(), capacity: z.number() }) }),
});

describe('duplicate sample timestamps, through the edge into Prometheus', () => {
  it('charges each distinct (series, timestamp) once: the write passes a burst its raw sample count exceeds', async () => {
    expect(SENT).toBe(36);
    expect(DISTINCT).toBe(12);
    expect(SENT).toBeGreaterThan(LIMITS.ingestion_burst_size);
    expect(DISTINCT).toBeLessThanOrEqual(LIMITS.ingestion_burst_size);

    const at = Date.now() - 60_000;
    const sentAt = Date.now();
    const res = await push(TENANT, body('dup', SERIES, at));
    expect(res.status, `charged once per distinct timestamp the write fits the burst: ${res.text}`).toBe(204);

    // Prometheus holds one sample per distinct timestamp of each series, the first one sent.
    const got = await stored('dup', at);
    expect([...got.keys()].sort()).toEqual(Object.keys(SERIES).sort());
    for (const [name, offsets] of Object.entries(SERIES)) {
      expect(got.get(name), `samples of ${name}`).toEqual(firstOfEachTimestamp(offsets));
    }

    // The edge's own figures: 12 items charged, not 36.
    const metrics = await scrapeMetrics(edge!.metricsUrl);
    expect(sumMetric(metrics, 'rls_samples_total', { tenant: TENANT, decision: 'allow' })).toBe(DISTINCT);
    expect(sumMetric(metrics, 'rls_samples_total', { tenant: TENANT, decision: 'deny' })).toBe(0);
    const res2 = await request(`${edge!.adminUrl}/api/tenants/${TENANT}`, { headers: edge!.adminHeaders });
    const view = tenantView.parse(await res2.body.json());
    expect(view.stats.samples_allowed).toBe(DISTINCT);
    expect(view.buckets.samples.capacity).toBe(LIMITS.ingestion_burst_size);
    // 15 - 12 left, plus what refilled at 1/s since the write.
    const elapsed = (Date.now() - sentAt) / 1000;
    expect(view.buckets.samples.tokens).toBeGreaterThanOrEqual(LIMITS.ingestion_burst_size - DISTINCT - 0.01);
    expect(view.buckets.samples.tokens).toBeLessThanOrEqual(
      LIMITS.ingestion_burst_size - DISTINCT + elapsed * LIMITS.ingestion_rate + 0.01,
    );
  }, 30_000);

  it('refuses with 429 the same number of samples when their timestamps are distinct (the control)', async () => {
    // The same 3 series and 36 samples, each at its own timestamp: 36 items against a bucket of 15.
    const distinct = Object.fromEntries(
      Object.entries(SERIES).map(([name, offsets]) => [name, offsets.map((_, i) => i)]),
    );
    const at = Date.now() - 60_000;
    const res = await push(CONTROL_TENANT, body('control', distinct, at));
    expect(res.status, res.text).toBe(429);
    expect(res.text).toContain('err-mimir-tenant-max-ingestion-rate');
    expect(await stored('control', at), 'nothing of a refused write is stored').toEqual(new Map());
    const metrics = await scrapeMetrics(edge!.metricsUrl);
    expect(sumMetric(metrics, 'rls_samples_total', { tenant: CONTROL_TENANT, decision: 'allow' })).toBe(0);
  }, 30_000);
});
