// Limits only observed (the tenant's `enforcement:` switches, or DRY_RUN) never remove a series: the request goes
// upstream as sent. But what Mimir would refuse under them is recorded as a would-deny
// (rls_would_deny_total{tenant,reason}), as for the static limits. Each case is one of Mimir's per-series rules
// (grafana/mimir pkg/distributor/validate.go validateLabels, validateSample, validateSampleHistogram,
// cleanAndValidateMetadata), switched to observe-only at the edge.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import snappy from 'snappy';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { RW2_CONTENT_TYPE, rw2SnappyBody } from '../helpers/rw2-request.js';
import type { Rw2SeriesSpec } from '../helpers/rw2-request.js';
import {
  encodeWriteRequest,
  remoteWriteHeaders,
  snappyBody,
  writeRequest,
} from '../helpers/write-request.js';

const OVERRIDES = `
overrides:
  future: {}
  past:
    past_grace_period: 1h
  buckets:
    max_native_histogram_buckets: 1
    reduce_native_histogram_over_max_buckets: false
  meta:
    max_metadata_length: 10
  info:
    max_label_names_per_series: 4
  infoall:
    max_label_names_per_series: 4
  drop:
    max_label_value_length: 8
    drop_labels: [pod]
`;

const CONFIG = `
enforcement:
  names:
    name_validation_scheme: false
  future:
    creation_grace_period: false
  past:
    past_grace_period: false
  buckets:
    max_native_histogram_buckets: false
  meta:
    max_metadata_length: false
  metaname:
    enforce_metadata_metric_name: false
  info:
    max_label_names_per_series: false
  infoall:
    enabled: false
  drop:
    max_label_value_length: false
`;

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-observed-'));
  const config = join(dir, 'edge.yaml');
  writeFileSync(config, CONFIG);
  upstream = await startRecordingUpstream();
  edge = await startEdge(upstream.url, { CONFIG_FILE: config }, OVERRIDES);
});
afterAll(async () => {
  await edge.stop();
  await upstream.close();
});

async function push(tenant: string, body: Buffer, contentType = 'application/x-protobuf'): Promise<number> {
  const res = await request(`${edge.proxyUrl}/api/v1/push`, {
    method: 'POST',
    headers: { ...remoteWriteHeaders(tenant), 'content-type': contentType },
    body,
  });
  await res.body.text();
  return res.statusCode;
}

/** rls_would_deny_total for the tenant and reason, 0 when the series is absent. */
async function wouldDeny(tenant: string, reason: string): Promise<number> {
  const text = await (await request(edge.metricsUrl)).body.text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`rls_would_deny_total{tenant="${tenant}",reason="${reason}"}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

/** Pushes as `tenant` and expects it forwarded whole (200, one more upstream request with the very bytes). */
async function forwarded(tenant: string, body: Buffer, contentType?: string): Promise<void> {
  const before = upstream.requests.length;
  expect(await push(tenant, body, contentType)).toBe(200);
  expect(upstream.requests).toHaveLength(before + 1);
  expect(Buffer.compare(upstream.requests[before]!.body, body)).toBe(0);
}

const rw2 = (series: Rw2SeriesSpec[]): Buffer => rw2SnappyBody(series);

describe('rules only observed are recorded as would-deny, and remove nothing', () => {
  it('name_validation_scheme: a metric name the legacy scheme refuses (validateLabels)', async () => {
    await forwarded('names', rw2([{ labels: { __name__: 'température', job: 'a' } }]), RW2_CONTENT_TYPE);
    expect(await wouldDeny('names', 'metric_name_invalid')).toBe(1);
  });

  it('creation_grace_period: a sample too far in the future (validateSample)', async () => {
    await forwarded('future', snappyBody([{ labels: { __name__: 'up', job: 'a' }, timestamps: [1e12] }]));
    expect(await wouldDeny('future', 'sample_too_far_in_future')).toBe(1);
  });

  it('past_grace_period: a sample too far in the past (validateSample)', async () => {
    await forwarded('past', snappyBody([{ labels: { __name__: 'up', job: 'a' } }]));
    expect(await wouldDeny('past', 'sample_too_far_in_past')).toBe(1);
  });

  it('max_native_histogram_buckets: too many buckets without reduction (validateSampleHistogram)', async () => {
    const body = rw2([
      {
        labels: { __name__: 'h', job: 'a' },
        samples: 0,
        histogramList: [{ offset: 0, spans: [[0, 2]] }],
      },
    ]);
    await forwarded('buckets', body, RW2_CONTENT_TYPE);
    expect(await wouldDeny('buckets', 'max_native_histogram_buckets')).toBe(1);
  });

  it('max_metadata_length and enforce_metadata_metric_name: metadata Mimir drops (cleanAndValidateMetadata)', async () => {
    const long = writeRequest([{ labels: { __name__: 'up', job: 'a' } }], 1);
    long.metadata[0]!.metricFamilyName = 'a_metric_name_longer_than_ten';
    await forwarded('meta', snappy.compressSync(encodeWriteRequest(long)));
    expect(await wouldDeny('meta', 'metadata_metric_name_too_long')).toBe(1);

    const nameless = writeRequest([{ labels: { __name__: 'up', job: 'a' } }], 1);
    nameless.metadata[0]!.metricFamilyName = '';
    await forwarded('metaname', snappy.compressSync(encodeWriteRequest(nameless)));
    expect(await wouldDeny('metaname', 'metadata_missing_metric_name')).toBe(1);
  });

  it('max_label_names_per_series: an info series within max_label_names_per_info_series is no would-deny', async () => {
    const info = { __name__: 'build_info', a: '1', b: '2', c: '3', d: '4', e: '5' };
    await forwarded('info', snappyBody([{ labels: info }]));
    expect(await wouldDeny('info', 'max_label_names_per_series')).toBe(0);
    await forwarded('infoall', snappyBody([{ labels: info }]));
    expect(await wouldDeny('infoall', 'max_label_names_per_series')).toBe(0);
    // An ordinary series over the limit still is.
    await forwarded('info', snappyBody([{ labels: { ...info, __name__: 'build' } }]));
    expect(await wouldDeny('info', 'max_label_names_per_series')).toBe(1);
  });

  it('a label Mimir drops (drop_labels) is no would-deny for its length; another one is', async () => {
    await forwarded('drop', snappyBody([{ labels: { __name__: 'up', pod: 'a-very-long-pod-name' } }]));
    expect(await wouldDeny('drop', 'max_label_value_length')).toBe(0);
    await forwarded('drop', snappyBody([{ labels: { __name__: 'up', job: 'a-very-long-job-name' } }]));
    expect(await wouldDeny('drop', 'max_label_value_length')).toBe(1);
  });
});
