// Active series at the edge through the real proxy (client → edge → recording upstream): an operator sees each
// tenant's estimated active series against max_global_series_per_user in /metrics and the admin API, with the
// new-series rate and the metric that brought them; a tenant that opted into enforce_max_series_at_edge gets
// its new series refused with Mimir's 400 once over the limit, while its known series keep flowing.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import snappy from 'snappy';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { scrapeMetrics, sumMetric } from '../helpers/prometheus.js';
import { snappyBody, writeRequestType } from '../helpers/write-request.js';
import { encodeOtlpProto, otlpRequest } from '../helpers/otlp-request.js';
import type { SeriesSpec } from '../helpers/write-request.js';
import type { OffThreadActiveSeries } from '../../src/observe/active-series/off-thread.js';

const OVERRIDES = `
overrides:
  guarded:
    max_global_series_per_user: 900
    enforce_max_series_at_edge: true
  watched:
    max_global_series_per_user: 900
  otlp-guarded:
    max_global_series_per_user: 5
    enforce_max_series_at_edge: true
`;

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;
const clock = { ms: Date.UTC(2026, 11, 7, 8, 0, 0) };

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  edge = await startEdge(
    upstream.url,
    { ACTIVE_SERIES_ENABLED: 'true', ACTIVE_SERIES_SAMPLE_EVERY: '1', ACTIVE_SERIES_REFRESH: '1ms' },
    OVERRIDES,
    () => clock.ms,
  );
});
afterAll(async () => {
  await edge.stop();
  await upstream.close();
});
afterEach(() => {
  upstream.requests.length = 0;
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
  return { status: res.statusCode, text: await res.body.text() };
}

async function admin(path: string) {
  const res = await request(`${edge.adminUrl}${path}`, { headers: edge.adminHeaders });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

function pods(metric: string, from: number, count: number): SeriesSpec[] {
  return Array.from({ length: count }, (_, i) => ({ labels: { __name__: metric, pod: `pod-${from + i}` } }));
}

function forwardedSeries(): number {
  let total = 0;
  for (const r of upstream.requests) {
    const decoded = writeRequestType.decode(snappy.uncompressSync(r.body) as Buffer) as unknown as {
      timeseries: unknown[];
    };
    total += decoded.timeseries.length;
  }
  return total;
}

describe('active series at the edge', () => {
  it('refuses only the new series of an enforcing tenant over its limit; known series keep flowing', async () => {
    // 1,000 series: over the limit of 900 once counted (the edge does not refuse what it has not counted yet).
    expect((await push('guarded', snappyBody(pods('up', 0, 1000)))).status).toBe(200);
    expect(forwardedSeries()).toBe(1000);
    upstream.requests.length = 0;

    clock.ms += 15_000;
    const res = await push('guarded', snappyBody([...pods('up', 0, 1000), ...pods('exploding', 0, 40)]));
    expect(res.status).toBe(400);
    expect(res.text).toContain('per-user series limit of 900 exceeded (err-mimir-max-series-per-user)');
    expect(res.text).toContain('40 of the 1040 series in this request are new');
    // The known 1,000 went upstream; the 40 new ones did not.
    expect(forwardedSeries()).toBe(1000);

    const detail = await admin('/api/active-series/guarded');
    expect(detail.status).toBe(200);
    expect(detail.json.active_series).toBeGreaterThan(980);
    expect(detail.json.active_series).toBeLessThan(1020);
    expect(detail.json.utilisation).toBeGreaterThan(1);
    expect(detail.json.new_series_refused_requests).toBe(1);
  });

  it('shows a tenant without enforcement over its limit, its new-series rate and the metric that exploded', async () => {
    expect((await push('watched', snappyBody(pods('steady', 0, 500)))).status).toBe(200);
    clock.ms += 15_000;
    const res = await push(
      'watched',
      snappyBody([...pods('steady', 0, 500), ...pods('exploding_metric', 0, 600)]),
    );
    expect(res.status, 'only observed: everything is forwarded').toBe(200);
    expect(forwardedSeries()).toBe(1600);

    const detail = await admin('/api/active-series/watched');
    // A Bloom false positive may call a new series known (rarely), never the reverse.
    const total = detail.json.new_series_total as number;
    expect(total).toBeLessThanOrEqual(1100);
    expect(total).toBeGreaterThan(1089);
    const top = detail.json.top_new_metrics as { name: string; new_series: number }[];
    expect(top[0]!.name).toBe('exploding_metric');
    expect(top[0]!.new_series).toBeGreaterThan(594);
    expect(detail.json.utilisation).toBeGreaterThan(1.18);

    const tenant = await admin('/api/tenants/watched');
    expect((tenant.json.active_series as Record<string, unknown>).tenant).toBe('watched');

    const list = await admin('/api/active-series?sort=new_series');
    const growth = list.json.top_growth as { tenant: string }[];
    expect(growth.map((g) => g.tenant)).toContain('watched');

    const metrics = await scrapeMetrics(edge.metricsUrl);
    const utilisation = sumMetric(metrics, 'rls_tenant_active_series_utilisation', { tenant: 'watched' });
    expect(utilisation).toBeGreaterThan(1.18);
    expect(sumMetric(metrics, 'rls_tenant_new_series_total', { tenant: 'watched' })).toBe(total);
    expect(sumMetric(metrics, 'rls_tenant_max_global_series_per_user', { tenant: 'watched' })).toBe(900);
  });

  it('refuses an OTLP write with a new series whole once over the limit (OTLP is decided whole)', async () => {
    const otlp = (pods: number) =>
      encodeOtlpProto(
        otlpRequest([
          {
            attributes: { 'service.name': 'api' },
            metrics: [
              {
                name: 'requests',
                kind: 'gauge',
                points: Array.from({ length: pods }, (_, i) => ({ attributes: { pod: `p-${i}` } })),
              },
            ],
          },
        ]),
      );
    const send = async (body: Buffer) => {
      const res = await request(`${edge.proxyUrl}/otlp/v1/metrics`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', 'x-scope-orgid': 'otlp-guarded' },
        body,
      });
      return { status: res.statusCode, text: await res.body.text() };
    };
    expect((await send(otlp(10))).status).toBe(200);
    upstream.requests.length = 0;
    clock.ms += 15_000;
    // The same 10 series: all known, forwarded although over the limit.
    expect((await send(otlp(10))).status).toBe(200);
    expect(upstream.requests).toHaveLength(1);
    upstream.requests.length = 0;
    const res = await send(otlp(11));
    expect(res.status).toBe(400);
    expect(res.text).toContain('err-mimir-max-series-per-user');
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers 404 for a tenant it does not track and 400 for a bad sort', async () => {
    expect((await admin('/api/active-series/nobody')).status).toBe(404);
    expect((await admin('/api/active-series?sort=bogus')).status).toBe(400);
  });

  it('keeps passing writes while the worker is down, and restarts it', async () => {
    const tracker = edge.service.activeSeries as OffThreadActiveSeries;
    const first = tracker.currentWorker!;
    await first.terminate();
    for (let i = 0; i < 3; i++)
      expect((await push('restarted', snappyBody(pods('up', 0, 50)))).status).toBe(200);
    await expect.poll(() => tracker.currentWorker, { timeout: 10_000, interval: 50 }).toBeDefined();
    expect(tracker.currentWorker).not.toBe(first);
    expect((await push('restarted', snappyBody(pods('up', 0, 60)))).status).toBe(200);
    const detail = await admin('/api/active-series/restarted');
    expect(detail.status).toBe(200);
    expect(detail.json.active_series).toBeGreaterThan(57);
    const metrics = await scrapeMetrics(edge.metricsUrl);
    expect(sumMetric(metrics, 'rls_active_series_worker_restarts_total', {})).toBe(1);
    // The restart waits a second: the three writes sent meanwhile (unless the machine was slower) were not read.
    const down = sumMetric(metrics, 'rls_active_series_writes_dropped_total', { reason: 'worker_down' });
    expect(down).toBeGreaterThanOrEqual(1);
    expect(down).toBeLessThanOrEqual(3);
  });
});
