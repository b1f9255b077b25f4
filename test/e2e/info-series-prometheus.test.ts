// End to end into a real Prometheus receiver (Debian's 2.42, --web.enable-remote-write-receiver): an info series
// with 40 labels is forwarded intact under a tenant whose max_label_names_per_series is 30, while an ordinary
// 40-label series of the same request is refused (partial acceptance).
//
// Mimir's behaviour reproduced (grafana/mimir):
// - pkg/distributor/validate.go validateLabels: a series over max_label_names_per_series whose metric name ends
//   in `_info` (strings.HasSuffix) is held to max_label_names_per_info_series instead, and refused only over it,
//   with err-mimir-max-label-names-per-info-series; any other series gets err-mimir-max-label-names-per-series.
// - pkg/distributor/validate_test.go TestValidateLabels, cases "valid info metric within limits" and "info metric
//   too many labels".
// - pkg/util/validation/limits.go: max_label_names_per_info_series defaults to 80.
// - The distributor pushes the valid series of a request and answers 400 with the first invalid one's error
//   (partial acceptance, docs/mimir-compatibility.md).
//
// OTLP is not run here: Debian's Prometheus 2.42 has no OTLP receiver (Prometheus added one in 2.47, behind
// --enable-feature=otlp-write-receiver), and the edge forwards an OTLP body as sent, never translated into remote
// write, so this receiver cannot store it. The OTLP `target_info` rule is covered by the vectors
// `otlp-target-info-within-info-limit` and `otlp-json-target-info-over-info-limit`.

import { request } from 'undici';
import snappy from 'snappy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { stopAllProcesses } from '../helpers/child-process.js';
import { requireDebianBinary } from '../helpers/debian.js';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { labelsKey, scrapeMetrics, startPrometheus, sumMetric } from '../helpers/prometheus.js';
import type { Labels, PrometheusInstance } from '../helpers/prometheus.js';
import { encodeWriteRequest } from '../helpers/write-request.js';

/** max_label_names_per_series 30; max_label_names_per_info_series left at Mimir's default, 80. */
const TENANT = 'otel-resources';
/** The same, but with an info limit below 40: the info series is refused too (the test's control). */
const TIGHT_INFO_TENANT = 'otel-tight-info';
const LABELS = 40;

let receiver: PrometheusInstance | undefined;
let edge: EdgeUnderTest | undefined;

beforeAll(async () => {
  requireDebianBinary('prometheus', 'prometheus');
  receiver = await startPrometheus({ name: 'receiver', config: { global: {} }, remoteWriteReceiver: true });
  const overrides = stringify({
    overrides: {
      [TENANT]: { max_label_names_per_series: 30 },
      [TIGHT_INFO_TENANT]: { max_label_names_per_series: 30, max_label_names_per_info_series: 35 },
    },
  });
  edge = await startEdge(receiver.url, {}, overrides);
}, 60_000);

afterAll(async () => {
  await edge?.stop();
  await stopAllProcesses();
}, 30_000);

/** `count` labels in all, `__name__` included, as OTel resource attributes translate (job, instance, ...). */
function wideLabels(name: string, count: number, run: string): Labels {
  const labels: Labels = { __name__: name, job: 'shop/checkout', instance: 'checkout-7d9f-abcde', run };
  for (let i = 1; Object.keys(labels).length < count; i++) {
    labels[`resource_attribute_${String(i).padStart(2, '0')}`] = `value-${i}`;
  }
  return labels;
}

/** A snappy remote-write 1.0 body: each series with one sample at `atMs`. */
function body(series: Labels[], atMs: number): Buffer {
  return snappy.compressSync(
    encodeWriteRequest({
      timeseries: series.map((labels, i) => ({
        labels: Object.entries(labels).map(([name, value]) => ({ name, value })),
        samples: [{ value: i + 1, timestamp: atMs }],
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

/** The label sets the receiver holds for `match`, around now. */
async function storedSeries(match: string): Promise<Labels[]> {
  const now = Date.now() / 1000;
  return receiver!.series([match], now - 600, now + 60);
}

describe('an info series with 40 labels under max_label_names_per_series: 30, into Prometheus', () => {
  it('forwards target_info intact and refuses the ordinary 40-label series of the same request', async () => {
    const run = 'default-info-limit';
    const info = wideLabels('target_info', LABELS, run);
    const ordinary = wideLabels('checkout_requests_total', LABELS, run);
    const small: Labels = { __name__: 'checkout_up', job: 'shop/checkout', run };
    expect(Object.keys(info)).toHaveLength(LABELS);
    expect(Object.keys(ordinary)).toHaveLength(LABELS);

    const at = Date.now() - 5_000;
    const res = await push(TENANT, body([info, ordinary, small], at));
    expect(res.status, res.text).toBe(400);
    expect(res.text).toContain('err-mimir-max-label-names-per-series');
    expect(res.text).toContain('checkout_requests_total');
    expect(res.text, 'the info series is within its own limit (80)').not.toContain('info-series');

    const infoStored = await storedSeries(`target_info{run="${run}"}`);
    expect(infoStored, 'target_info reached Prometheus once').toHaveLength(1);
    expect(Object.keys(infoStored[0]!), 'all 40 labels arrived').toHaveLength(LABELS);
    expect(labelsKey(infoStored[0]!), 'every label as sent').toBe(labelsKey(info));
    const value = await receiver!.query(`target_info{run="${run}"}`, at / 1000);
    expect(value.resultType === 'vector' ? value.result.map((s) => s.value) : []).toEqual([[at / 1000, '1']]);

    expect(
      await storedSeries(`checkout_requests_total{run="${run}"}`),
      'the ordinary 40-label series was not forwarded',
    ).toEqual([]);
    expect((await storedSeries(`checkout_up{run="${run}"}`)).map(labelsKey)).toEqual([labelsKey(small)]);

    // Only the two forwarded series were charged (one sample each).
    const metrics = await scrapeMetrics(edge!.metricsUrl);
    expect(sumMetric(metrics, 'rls_samples_total', { tenant: TENANT, decision: 'allow' })).toBe(2);
  }, 30_000);

  it('refuses the same info series with err-mimir-max-label-names-per-info-series when that limit is 35', async () => {
    const run = 'tight-info-limit';
    const info = wideLabels('target_info', LABELS, run);
    const small: Labels = { __name__: 'checkout_up', job: 'shop/checkout', run };
    const res = await push(TIGHT_INFO_TENANT, body([info, small], Date.now() - 5_000));
    expect(res.status, res.text).toBe(400);
    expect(res.text).toContain('err-mimir-max-label-names-per-info-series');
    expect(await storedSeries(`target_info{run="${run}"}`), 'target_info was not forwarded').toEqual([]);
    expect((await storedSeries(`checkout_up{run="${run}"}`)).map(labelsKey)).toEqual([labelsKey(small)]);
  }, 30_000);
});
