// Runs the `ha_vectors` of test/vectors/mimir-decisions.yaml: each one a behaviour of Mimir's HA tracker, played
// step by step through the real proxy (in process) into a recording upstream, with a clock the test moves. A step
// checks what the sender gets (status, err-mimir id) and whether the write reached the upstream.

import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { startEdge } from '../helpers/edge-service.js';
import type { EdgeUnderTest } from '../helpers/edge-service.js';
import { startRecordingUpstream } from '../helpers/recording-upstream.js';
import type { RecordingUpstream } from '../helpers/recording-upstream.js';
import { encodeOtlpJson, encodeOtlpProto, otlpRequest } from '../helpers/otlp-request.js';
import { snappyBody } from '../helpers/write-request.js';
import type { SeriesSpec } from '../helpers/write-request.js';

interface Step {
  at: number;
  tenant?: string;
  cluster?: string;
  replica?: string;
  series?: SeriesSpec[];
  /** This step's format, when it differs from the vector's. */
  format?: HaVector['format'];
  /** OTLP: the resource's attributes (the series' labels other than __name__ become point attributes). */
  resource?: Record<string, string>;
  expect: { status: number; forwarded: boolean; error_id?: string };
}

interface HaVector {
  id: string;
  mimir: string;
  /** How the steps are sent; remote write 1.0 when absent. */
  format?: 'prw1' | 'otlp-proto' | 'otlp-json';
  limits?: Record<string, unknown>;
  steps: Step[];
}

const VECTORS: HaVector[] = (
  parse(readFileSync(new URL('../vectors/mimir-decisions.yaml', import.meta.url), 'utf8')) as {
    ha_vectors: HaVector[];
  }
).ha_vectors;

/** Each vector plays in its own hour of the test clock, so no election outlives its vector. */
const VECTOR_SPAN_MS = 3_600_000;
let clock = 1_800_000_000_000;

let upstream: RecordingUpstream;
let edge: EdgeUnderTest;

beforeAll(async () => {
  upstream = await startRecordingUpstream();
  const overrides: Record<string, Record<string, unknown>> = {};
  for (const v of VECTORS) {
    overrides[v.id] = v.limits ?? {};
    for (const s of v.steps) if (s.tenant) overrides[s.tenant] = v.limits ?? {};
  }
  edge = await startEdge(upstream.url, {}, stringify({ overrides }), () => clock);
});
afterAll(async () => {
  await edge?.stop();
  await upstream?.close();
});

function seriesOf(step: Step, v: HaVector): SeriesSpec[] {
  if (step.series) return step.series;
  const clusterLabel = (v.limits?.ha_cluster_label as string | undefined) ?? 'cluster';
  const replicaLabel = (v.limits?.ha_replica_label as string | undefined) ?? '__replica__';
  return [{ labels: { __name__: 'up', [clusterLabel]: step.cluster!, [replicaLabel]: step.replica! } }];
}

/** Path, headers and body of a step: RW1, or one OTLP gauge point per series, all under one resource. */
function requestOf(step: Step, v: HaVector): { path: string; headers: Record<string, string>; body: Buffer } {
  const tenant = step.tenant ?? v.id;
  const series = seriesOf(step, v);
  const format = step.format ?? v.format;
  if (format === 'otlp-proto' || format === 'otlp-json') {
    const request = otlpRequest([
      {
        attributes: step.resource ?? {},
        metrics: series.map(({ labels }) => {
          const { __name__: name, ...attributes } = labels;
          return { name: name ?? 'up', kind: 'gauge' as const, points: [{ attributes }] };
        }),
      },
    ]);
    const proto = format === 'otlp-proto';
    return {
      path: '/otlp/v1/metrics',
      headers: {
        'content-type': proto ? 'application/x-protobuf' : 'application/json',
        'x-scope-orgid': tenant,
      },
      body: proto ? encodeOtlpProto(request) : encodeOtlpJson(request),
    };
  }
  return {
    path: '/api/v1/push',
    headers: {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'x-scope-orgid': tenant,
    },
    body: snappyBody(series),
  };
}

describe('Mimir HA tracker vectors (test/vectors/mimir-decisions.yaml, ha_vectors)', () => {
  it('has unique ids', () => {
    expect(new Set(VECTORS.map((v) => v.id)).size).toBe(VECTORS.length);
  });

  VECTORS.forEach((v, n) => {
    it(`${v.id}: ${v.mimir}`, async () => {
      const start = 1_800_000_000_000 + (n + 1) * VECTOR_SPAN_MS;
      for (const [i, step] of v.steps.entries()) {
        clock = start + step.at;
        const before = upstream.requests.length;
        const { path, headers, body } = requestOf(step, v);
        const res = await request(`${edge.proxyUrl}${path}`, { method: 'POST', headers, body });
        const text = await res.body.text();
        const where = `step ${i} (t=${step.at} ms, replica ${step.replica ?? '-'}): ${text.trim()}`;
        expect(res.statusCode, `status the sender gets at ${where}`).toBe(step.expect.status);
        if (step.expect.error_id) expect(text, where).toContain(step.expect.error_id);
        expect(upstream.requests.length - before, `requests that reached the upstream at ${where}`).toBe(
          step.expect.forwarded ? 1 : 0,
        );
      }
    });
  });

  it('counts the verdicts in rls_ha_decisions_total', async () => {
    // Runs after the vectors (vitest keeps the order of a file's tests).
    const text = await (await request(edge.metricsUrl)).body.text();
    for (const outcome of ['elected', 'accepted', 'failover', 'deduplicated', 'too_many_clusters']) {
      const line = text.split('\n').find((l) => l.startsWith(`rls_ha_decisions_total{outcome="${outcome}"}`));
      expect(Number(line?.split(' ')[1]), `rls_ha_decisions_total{outcome="${outcome}"}`).toBeGreaterThan(0);
    }
  });
});
